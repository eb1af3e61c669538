"""Tests of synthgen.torch_data."""
