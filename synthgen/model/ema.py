"""Exponential moving averages of the weights: the classic one, and EDM2's power-function profiles.

Classic: decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates; a fixed 0.999 would still
hold 0.999**1200 = 30 % of the random initial weights after 1 200 steps.

Power-function EMA (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion
Models", training/phema.py): after t updates each profile is the average of all past weights with
weights proportional to t'^gamma, i.e. beta_t = (1 - 1/t)^(gamma + 1). Its width is given as a
relative standard deviation sigma_rel, which does not depend on the run's length, so the same
profiles suit a 500-step CPU run and a 50 000-step GPU run; which one is best is decided at the end.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


def ema_with_warmup(decay: float):
    """multi_avg_fn for torch's AveragedModel: the classic EMA with its decay warm-up."""
    @torch.no_grad()
    def update(ema_params: list, params: list, num_averaged) -> None:
        n = float(num_averaged)
        torch._foreach_lerp_(ema_params, params, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))
    return update


def averaged_state(ema_state: dict) -> dict:
    """The averaged network's own state dict from an AveragedModel's (its keys without `module.`, no
    `n_averaged`): the weights a checkpoint's classic EMA holds."""
    return {key.removeprefix("module."): value for key, value in ema_state.items() if key.startswith("module.")}


def power_exponent(sigma_rel: float) -> float:
    """gamma of the power function whose averaging profile has relative std `sigma_rel` (EDM2 eq. 3)."""
    tmp = sigma_rel ** -2
    return float(np.roots([1.0, 7.0, 16.0 - tmp, 12.0 - tmp]).real.max())


def profile_name(sigma_rel: float) -> str:
    return f"power-{sigma_rel:g}"


class PowerEMAProfiles:
    """One power-function EMA copy of `network` per sigma_rel, updated after every optimizer step."""

    def __init__(self, network: nn.Module, sigma_rels: tuple[float, ...]) -> None:
        self.sigma_rels = tuple(sigma_rels)
        self.models = [copy.deepcopy(network).eval().requires_grad_(False) for _ in self.sigma_rels]
        self.exponents = [power_exponent(s) for s in self.sigma_rels]

    @torch.no_grad()
    def update(self, network: nn.Module, updates: int) -> None:
        """`updates`: optimizer steps taken so far, this one included."""
        params = list(network.parameters())
        buffers = list(network.buffers())
        for model, gamma in zip(self.models, self.exponents):
            beta = (1.0 - 1.0 / updates) ** (gamma + 1.0)  # the first update copies the network
            torch._foreach_lerp_(list(model.parameters()), params, 1.0 - beta)
            for mine, theirs in zip(model.buffers(), buffers):
                mine.copy_(theirs)

    def named(self) -> dict[str, nn.Module]:
        return {profile_name(s): m for s, m in zip(self.sigma_rels, self.models)}

    def state_dict(self) -> list[dict]:
        return [m.state_dict() for m in self.models]

    def load_state_dict(self, states: list[dict]) -> None:
        if len(states) != len(self.models):
            raise KeyError(f"the checkpoint holds {len(states)} EMA profiles, the config {len(self.models)}")
        for model, state in zip(self.models, states):
            model.load_state_dict(state)
