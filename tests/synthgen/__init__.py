"""Tests of the `synthgen` package (sub-packages in sub-folders of the same names)."""
