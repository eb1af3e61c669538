"""Feature encoders for the realism metrics (no pretrained weights can be downloaded here).

- Default: the downstream classifier trained on the real training set (TRTR, first seed); the
  features are the input of its output layer (the penultimate layer).
- Optional: a TorchScript file of the user's own encoder (e.g. a radiology foundation model).
  Contract: it takes a float32 tensor (N, 1, H, W) with values in [0, 1] and returns (N, D) (or
  anything that flattens to N rows). Resizing or channel replication belongs inside the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthgen.errors import SynthgenError
from validation.classifier import last_linear


@dataclass
class Encoder:
    """Maps float32 (N, H, W) images in [0, 1] to float64 (N, D) features."""

    name: str
    description: str
    module: nn.Module
    penultimate: bool  # features = input of the module's last linear layer

    @torch.no_grad()
    def embed(
        self, images: np.ndarray, batch_size: int = 512, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.module.eval()
        captured: list[torch.Tensor] = []
        hook = (
            last_linear(self.module).register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
            if self.penultimate
            else None
        )
        out = []
        try:
            for start in range(0, len(images), batch_size):
                chunk = np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32)
                result = self._run(torch.from_numpy(chunk).unsqueeze(1))
                features = captured.pop() if self.penultimate else result
                out.append(features.reshape(len(chunk), -1).double().numpy())
                if on_batch is not None:
                    on_batch(len(chunk))
        finally:
            if hook is not None:
                hook.remove()
        features = np.concatenate(out)
        if not np.all(np.isfinite(features)):
            raise SynthgenError(f"encoder {self.name} returned NaN or infinite features; check the encoder")
        return features

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        if self.penultimate:
            return self.module(batch)
        try:
            result = self.module(batch)
        except Exception as err:  # a user's TorchScript file can fail in any way
            raise SynthgenError(
                f"encoder {self.name} failed on a batch of shape {tuple(batch.shape)} (N, 1, H, W floats in "
                f"[0, 1]): {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"
            ) from None
        if not isinstance(result, torch.Tensor) or result.ndim < 1 or result.shape[0] != batch.shape[0]:
            raise SynthgenError(
                f"encoder {self.name} must return a tensor with one row per image (N, D); "
                f"got {type(result).__name__} {tuple(getattr(result, 'shape', ()))}"
            )
        return result


def classifier_encoder(model: nn.Module, description: str) -> Encoder:
    last_linear(model)  # fails early if the network has no linear output layer
    return Encoder("downstream-classifier", description, model, penultimate=True)


def load_torchscript_encoder(path: Path | str) -> Encoder:
    """Load a user's TorchScript encoder on the CPU; anything else is a clear SynthgenError."""
    path = Path(path)
    if not path.is_file():
        raise SynthgenError(f"encoder file {path} does not exist; pass a TorchScript file (torch.jit.save)")
    try:
        with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; the files still load
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception:  # torch raises RuntimeError, ValueError or zipfile errors for non-TorchScript files
        raise SynthgenError(
            f"encoder file {path} is not a TorchScript module; save your encoder with "
            "torch.jit.save(torch.jit.script(model), path) (a state dict or pickle is not enough)"
        ) from None
    return Encoder(path.name, f"user TorchScript encoder {path}", module, penultimate=False)
