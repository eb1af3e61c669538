"""Several `synthgen validate` results side by side: which generator serves this data set better.

Each row is one headline number of metrics.json, the direction that counts as better, and, where
validate measured it, the same number for real data (real test vs real train, real vs real halves,
10 % of real alone), so a reader sees both which result wins and how far each is from real. Results
validated against different real images are refused: their numbers do not compare.

    table = compare([Path("runs/pm32/validation"), Path("runs/gan-pm32/validation")])
    print(markdown(table))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from synthgen.errors import SynthgenError
from validation.metrics_document import METRICS_FILE, ValidationMetrics


class Better(str, Enum):
    LOWER = "lower"
    HIGHER = "higher"
    NEARER_ONE = "nearer 1"


@dataclass(frozen=True)
class Measure:
    """A number of metrics.json: `path` leads to a float or a {value, low, high} estimate. `optional`
    measures are missing (shown as —) when validate did not measure them for that result: no audit
    given, no 10 % regime asked for, a result written before the measure existed."""

    label: str
    path: tuple[str, ...]
    better: Better
    real: tuple[str, ...] | None = None  # the same measure for real data
    optional: bool = False


MEASURES = (
    Measure("FD (classifier features)", ("realism", "synthetic", "fd"), Better.LOWER, ("realism", "real_test", "fd")),
    Measure("coverage", ("realism", "synthetic", "coverage"), Better.HIGHER, ("realism", "real_test", "coverage")),
    Measure("precision", ("realism", "synthetic", "precision"), Better.HIGHER, ("realism", "real_test", "precision")),
    Measure("real-vs-synthetic CNN AUC", ("two_sample", "real_vs_synthetic", "auc"), Better.LOWER,
            ("two_sample", "real_vs_real", "auc"), optional=True),
    Measure("TSTR/TRTR AUC ratio", ("utility", "tstr_trtr_auc_ratio"), Better.HIGHER, optional=True),
    Measure("10 % real + synthetic AUC", ("utility", "regimes", "R10+S", "metrics", "auc_macro"), Better.HIGHER,
            ("utility", "regimes", "R10", "metrics", "auc_macro"), optional=True),
    Measure("high-frequency energy / real", ("high_frequency", "ratio_to_real_train", "synthetic"), Better.NEARER_ONE,
            ("high_frequency", "ratio_to_real_train", "real_test")),
    Measure("within-class MS-SSIM / real (worst class)", ("verdicts", "diversity", "ratio"), Better.NEARER_ONE,
            optional=True),
    Measure("audit: share flagged", ("audit", "fraction_flagged"), Better.LOWER, optional=True),
)


@dataclass(frozen=True)
class Row:
    measure: Measure
    values: tuple[float | None, ...]  # one per result
    real: float | None  # the first result's real reference (all share the real images)
    best: tuple[int, ...]  # indices of the best result(s); empty when fewer than two have a value


@dataclass(frozen=True)
class Comparison:
    names: tuple[str, ...]
    paths: tuple[Path, ...]
    rows: tuple[Row, ...]


def metrics_path(folder: Path) -> Path:
    """metrics.json in a `synthgen validate` output folder or a run folder (RUN/validation), or the file itself."""
    folder = Path(folder)
    for candidate in (folder, folder / METRICS_FILE, folder / "validation" / METRICS_FILE):
        if candidate.is_file():
            return candidate
    raise SynthgenError(f"{folder} has no {METRICS_FILE}: give a `synthgen validate` output folder or a "
                        "`synthgen run` folder")


def default_name(path: Path) -> str:
    """runs/gan/validation/metrics.json -> 'gan'; reports/diffusion/metrics.json -> 'diffusion'."""
    folder = path.parent
    return folder.parent.name if folder.name == "validation" else folder.name


def compare(folders: list[Path], names: list[str] | None = None) -> Comparison:
    """The headline measures of each result, the best marked; `names` default to the folder names."""
    if len(folders) < 2:
        raise SynthgenError("compare needs at least two validation results")
    paths = [metrics_path(folder) for folder in folders]
    names = list(names) if names else [default_name(path) for path in paths]
    if len(names) != len(paths):
        raise SynthgenError(f"--name given {len(names)} times for {len(paths)} results: name every result or none")
    if len(set(names)) != len(names):
        raise SynthgenError(f"results need distinct names, got {', '.join(names)}: add --name for each")
    documents = [ValidationMetrics.read(path) for path in paths]
    _check_same_real_images(paths, documents)
    columns = [headline(doc, path) for doc, path in zip(documents, paths)]
    rows = []
    for index, measure in enumerate(MEASURES):
        values = tuple(column[index][0] for column in columns)
        rows.append(Row(measure, values, columns[0][index][1], _best(values, measure.better)))
    return Comparison(tuple(names), tuple(paths), tuple(rows))


def headline(doc: ValidationMetrics, path: Path) -> list[tuple[float | None, float | None]]:
    """(value, real data's value) of every measure in MEASURES, in order, for one result."""
    return [(_number(doc, path, m.path, m.optional), _number(doc, path, m.real, True) if m.real else None)
            for m in MEASURES]


def _check_same_real_images(paths: list[Path], documents: list[ValidationMetrics]) -> None:
    def real_images(doc: ValidationMetrics, path: Path, side: str) -> tuple:
        entry = doc.data.get(side)
        if not isinstance(entry, dict) or "manifest_sha256" not in entry:
            raise SynthgenError(f"{path}: data.{side}.manifest_sha256 is missing; re-run `synthgen validate`")
        return entry["manifest_sha256"], entry.get("split")

    for side in ("real_train", "real_test"):
        first = real_images(documents[0], paths[0], side)
        for doc, path in zip(documents[1:], paths[1:]):
            if real_images(doc, path, side) != first:
                raise SynthgenError(
                    f"{paths[0]} and {path} were validated against different {side.replace('_', ' ')} images: "
                    "validate every synthetic set against the same real sets to compare them")


def _number(doc: ValidationMetrics, path: Path, keys: tuple[str, ...], optional: bool) -> float | None:
    """The float at `keys` (an estimate's `value`); None where an optional measure was not measured."""
    node: object = getattr(doc, keys[0])
    for depth, key in enumerate(keys[1:], start=1):
        if node is None or (isinstance(node, dict) and key not in node and optional):
            return None
        if not isinstance(node, dict) or key not in node:
            raise SynthgenError(f"{path}: {'.'.join(keys[:depth + 1])} is missing; re-run `synthgen validate`")
        node = node[key]
    if isinstance(node, dict):
        node = node.get("value")
    if node is None:
        return None
    if not isinstance(node, (int, float)) or isinstance(node, bool):
        raise SynthgenError(f"{path}: {'.'.join(keys)} is {node!r}, not a number")
    return None if math.isnan(node) else float(node)


def _best(values: tuple[float | None, ...], better: Better) -> tuple[int, ...]:
    present = {i: v for i, v in enumerate(values) if v is not None}
    if len(present) < 2:
        return ()
    key = {Better.LOWER: lambda v: v, Better.HIGHER: lambda v: -v, Better.NEARER_ONE: lambda v: abs(v - 1.0)}[better]
    top = min(key(v) for v in present.values())
    return tuple(i for i, v in present.items() if key(v) == top)


def cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def markdown(comparison: Comparison) -> str:
    """A Markdown table: a row per measure, a column per result (best in bold), then real data."""
    header = ["measure", "better", *comparison.names, "real data"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in comparison.rows:
        values = [f"**{cell(v)}**" if i in row.best else cell(v) for i, v in enumerate(row.values)]
        lines.append("| " + " | ".join([row.measure.label, row.measure.better.value, *values, cell(row.real)]) + " |")
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    return json.dumps({
        "results": [{"name": n, "metrics": str(p)} for n, p in zip(comparison.names, comparison.paths)],
        "measures": [{"measure": r.measure.label, "better": r.measure.better.value,
                      "values": dict(zip(comparison.names, r.values)), "real": r.real,
                      "best": [comparison.names[i] for i in r.best]} for r in comparison.rows],
    }, indent=2) + "\n"
