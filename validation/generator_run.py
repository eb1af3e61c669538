"""Find the generator's training log through the synthetic set's provenance, defensively.

`synthgen sample` records the run folder in dataset.json `provenance.run` (an absolute path);
`run_dir`, `model_run` and `training_run` are accepted too, as is a relative path (to the
synthetic set's folder, then to the working directory). The log is the first of `log.csv`,
`train_log.csv`, `training_log.csv` found in the run folder, with a `step` (or `epoch`) column
and one or more numeric `*loss*` columns. No run or no log: the report leaves the section out.
"""

from __future__ import annotations

import math
from pathlib import Path

from validation.optional_csv import read_optional_csv

RUN_KEYS = ("run", "run_dir", "model_run", "training_run")
LOG_NAMES = ("log.csv", "train_log.csv", "training_log.csv")
MAX_POINTS = 2000


def find_run_folder(provenance: object, set_root: Path) -> Path | None:
    if not isinstance(provenance, dict):
        return None
    for key in RUN_KEYS:
        value = provenance.get(key)
        if isinstance(value, dict):
            value = value.get("path") or value.get("root")
        if not isinstance(value, str) or not value:
            continue
        for candidate in (Path(value), set_root / value, Path.cwd() / value):
            if candidate.is_dir():
                return candidate
    return None


def read_training_curves(provenance: object, set_root: Path) -> dict | None:
    """{"run": path, "log": path, "x": name, "xs": [...], "series": {column: [...]}} or None."""
    run = find_run_folder(provenance, set_root)
    if run is None:
        return None
    path = next((run / name for name in LOG_NAMES if (run / name).is_file()), None)
    rows = read_optional_csv(path, "the training log") if path is not None else None
    if rows is None:
        return None
    columns = list(rows[0])
    x = next((c for c in ("step", "epoch") if c in columns), None)
    losses = [c for c in columns if "loss" in c.lower()]
    if x is None or not losses:
        return None
    stride = max(1, math.ceil(len(rows) / MAX_POINTS))
    kept = [row for row in rows[::stride] if _finite(row.get(x))]
    series = {c: [_finite(row.get(c)) for row in kept] for c in losses}
    series = {c: values for c, values in series.items() if any(v is not None for v in values)}
    if not kept or not series:
        return None
    return {"run": str(run), "log": str(path), "x": x, "xs": [_finite(row[x]) for row in kept], "series": series}


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
