"""Tests of the `privacy` package (memorization audit)."""
