"""Embedding space 3 (optional): an encoder the user supplies as a TorchScript file.

The module must map a float tensor (N, 1, S, S) of images in [0, 1] to (N, D) features; S is
the audit's image size unless `input_size` says otherwise. Outputs are L2-normalized here, so
distances are comparable to the other spaces'. A wrong file or output shape is a SynthgenError.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from privacy.images import AuditImages, resample
from synthgen.errors import SynthgenError


class TorchScriptSpace:
    name = "torchscript"

    def __init__(self, path: Path | str, input_size: int | None = None) -> None:
        import torch

        self.path = Path(path)
        if not self.path.is_file():
            raise SynthgenError(f"--encoder file {self.path} does not exist: pass a TorchScript .pt file")
        try:
            self.module = torch.jit.load(str(self.path), map_location="cpu").eval()
        except (RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SynthgenError(
                f"--encoder {self.path} is not a TorchScript file ({first}); save one with torch.jit.save"
            ) from None
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.input_size = input_size
        self.dim: int | None = None

    def describe(self) -> dict:
        return {"kind": "user TorchScript encoder", "file": self.path.name, "sha256": self.sha256, "dim": self.dim}

    def embed(self, images: AuditImages, on_chunk=None) -> np.ndarray:
        import torch

        size = self.input_size or images.size
        parts = []
        with torch.inference_mode():
            for chunk in images.chunks(256):
                x = torch.from_numpy(resample(chunk, size))[:, None]
                try:
                    y = self.module(x)
                except RuntimeError as err:
                    line = str(err).strip().splitlines()[-1] if str(err).strip() else "error"
                    raise SynthgenError(
                        f"--encoder {self.path} failed on a (N, 1, {size}, {size}) batch: {line}"
                    ) from None
                if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != len(chunk):
                    shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                    raise SynthgenError(
                        f"--encoder {self.path} returned {shape} for {len(chunk)} images; it must return (N, D)"
                    )
                parts.append(torch.nn.functional.normalize(y.float(), dim=1).numpy())
                if on_chunk is not None:
                    on_chunk(len(chunk))
        out = np.concatenate(parts).astype(np.float32)
        self.dim = int(out.shape[1])
        return out
