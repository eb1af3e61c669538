"""Library versions recorded in provenance (model cards, run.json)."""

from __future__ import annotations

import platform

from synthgen import __version__


def library_versions() -> dict:
    """synthgen, torch, monai and Python versions; torch and monai are imported on first use."""
    import monai
    import torch

    return {"synthgen": __version__, "torch": torch.__version__, "monai": monai.__version__,
            "python": platform.python_version()}
