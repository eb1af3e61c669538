"""A finished tiny run shared by the run tests (each copies it before changing anything)."""

from __future__ import annotations

import pytest

from synthgen.workflow import run
from tests.fixtures.workflow import write_run_config


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """One complete tiny run: (its config, its folder, its RunResult)."""
    base = tmp_path_factory.mktemp("run")
    config = write_run_config(base / "tiny.yaml")
    result = run(config, base / "run", progress=False)
    return config, base / "run", result
