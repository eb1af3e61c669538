"""Fixtures shared by the diffusion and GAN training tests."""

from pathlib import Path

import pytest

from synthgen.chest_phantom import phantom


@pytest.fixture(scope="module")
def data16(tmp_path_factory) -> Path:
    """60 phantom images of 16² (seed 1), one set per test module."""
    return phantom(tmp_path_factory.mktemp("data") / "set", n=60, size=16, seed=1).root
