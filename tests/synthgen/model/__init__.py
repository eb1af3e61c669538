"""Tests of synthgen.model."""
