"""Tests of synthgen.workflow (`synthgen run`)."""
