"""The generator's training curve and how its final weights were chosen, found through the
synthetic set's provenance.

A set written by `synthgen sample` (or filtered from one) names its training run folder in its
provenance (synthgen/model/sample_provenance.py); the curve is that run's `log.csv` (the columns of
synthgen/model/train_log.py). A set that was not sampled, or whose run folder or log is gone (moved
to another machine), has no curve: the report leaves the section out.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.run_folder import RunFolder
from synthgen.model.sample_provenance import SampleProvenance
from synthgen.model.train_log import LOG_COLUMNS
from validation.optional_csv import read_optional_csv

log = logging.getLogger(__name__)

STEP_COLUMN, LOSS_COLUMN = "step", "loss"
MAX_POINTS = 2000


def read_training_curves(image_set: ImageSet) -> dict | None:
    """{"run": path, "log": path, "x": "step", "xs": [...], "series": {"loss": [...]}} or None."""
    provenance = SampleProvenance.of(image_set)
    if provenance is None:
        return None
    run = RunFolder(Path(provenance.run))
    rows = read_optional_csv(run.log, "the training log")
    if rows is None:
        log.info("the generator's training log %s is not there; the report has no training curve", run.log)
        return None
    missing = [c for c in LOG_COLUMNS if c not in rows[0]]
    if missing:
        raise SynthgenError(f"{run.log} lacks column {missing[0]!r} (expected {', '.join(LOG_COLUMNS)}); "
                            "is it a synthgen training log?")
    stride = max(1, math.ceil(len(rows) / MAX_POINTS))
    kept = [row for row in rows[::stride] if _finite(row[STEP_COLUMN]) is not None]
    if not kept:
        return None
    return {"run": str(run.root), "log": str(run.log), "x": STEP_COLUMN,
            "xs": [_finite(row[STEP_COLUMN]) for row in kept],
            "series": {LOSS_COLUMN: [_finite(row[LOSS_COLUMN]) for row in kept]}}


def read_weight_choice(image_set: ImageSet) -> dict | None:
    """How the sampled model's final weights were chosen, from its model card: {"kind", "steps", "ema",
    "selection"} (`selection`: a GAN's snapshot choice, synthgen/model/gan/select.py; `ema`: the EMA kept,
    or the post-hoc profile chosen); None for a set that was not sampled or whose card is unknown."""
    provenance = SampleProvenance.of(image_set)
    card = provenance.model_card if provenance is not None else None
    if card is None:
        return None
    return {"kind": card.kind, "steps": card.steps, "ema": card.ema, "selection": card.selection}


def _finite(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
