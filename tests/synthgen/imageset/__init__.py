"""Tests of synthgen.imageset."""
