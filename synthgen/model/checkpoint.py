"""Training-state checkpoints, written atomically (temporary file, then rename: a kill -9 leaves the old one).

Everything random in training derives from (seed, step), so the state is just the tensors: model,
EMA, optimizer and learning-rate schedule, plus the step reached and the losses logged so far.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from synthgen.atomic import write_bytes_atomic
from synthgen.errors import SynthgenError
from synthgen.model.run_folder import load_state_dict

CHECKPOINT_KEYS = ("step", "model", "ema", "optimizer", "lr_schedule", "config_sha256")


def save_checkpoint(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, keys: tuple[str, ...] = CHECKPOINT_KEYS) -> dict:
    """A training checkpoint holding `keys` (the diffusion trainer's by default; the GAN's has its own)."""
    state = load_state_dict(path)
    missing = [key for key in keys if not isinstance(state, dict) or key not in state]
    if missing:
        raise SynthgenError(f"{path} lacks {', '.join(missing)}: it is not a synthgen training checkpoint")
    return state


def checkpoint_step(path: Path) -> int:
    """The step a checkpoint of either model kind was written at."""
    return int(load_checkpoint(path, ("step",))["step"])
