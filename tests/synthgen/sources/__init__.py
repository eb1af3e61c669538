"""Tests of synthgen.sources."""
