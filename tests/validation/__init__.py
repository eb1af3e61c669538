"""Tests of the `validation` package (realism, utility, report)."""
