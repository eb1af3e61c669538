"""Learning-rate factors per optimizer step (torch LambdaLR): linear warm-up, then the configured decay."""

from __future__ import annotations

import math
from collections.abc import Callable

from synthgen.model.config import LrSchedule, TrainingConfig


def lr_factor(training: TrainingConfig) -> Callable[[int], float]:
    """cosine: to 10 % of the peak at training.steps; rsqrt: 1/sqrt(step / lr_decay_after) once past
    it (EDM2); constant: the peak. Only cosine needs to know where training ends."""
    warmup, schedule = training.warmup_steps, training.lr_schedule

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule is LrSchedule.CONSTANT:
            return 1.0
        if schedule is LrSchedule.RSQRT:
            return 1.0 / math.sqrt(max(step / training.lr_decay_after, 1.0))
        progress = (step - warmup) / max(1, training.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return factor
