"""Tests of synthgen.chest_phantom."""
