"""synthgen's tests: `tests/<package>/...` mirrors the packages; fixture builders live in `tests/fixtures/`."""
