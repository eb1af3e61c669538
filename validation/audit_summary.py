"""The report's view of a privacy audit folder (`synthgen audit --out DIR`).

`DIR/audit.json` is read with its owner's definition (privacy/audit_document.py): a file that does
not match it stops validation with a one-line error naming the key. `DIR/pairs.csv` gives the
closest pairs (sorted by the audit's combined `score`, ascending) and `DIR/closest_pairs.png` the
montage; both are optional (left out of the report when missing or unreadable).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from privacy.audit_document import AUDIT_FILE, MONTAGE_FILE, PAIRS_FILE, PAIRS_SCORE_COLUMN, AuditDocument, SpaceResult
from synthgen.errors import SynthgenError
from validation.optional_csv import read_optional_csv

MAX_PAIRS = 10
MAX_PAIR_COLUMNS = 8
MAX_MONTAGE_BYTES = 8 * 1024 * 1024
LEVELS = {"pass": "good", "fail": "low"}  # the report's privacy level for each audit verdict
SPACE_COLUMNS = ("flags", "threshold", "scale", "flagged", "fraction_flagged", "holdout_fraction_flagged")


def read_audit(folder: Path | str) -> dict:
    """A summary dict: verdict and level, fraction flagged, per-space rows, pairs, montages."""
    folder = Path(folder)
    if not (folder / AUDIT_FILE).is_file():
        raise SynthgenError(f"--audit {folder}: {AUDIT_FILE} is missing; pass the --out folder of `synthgen audit`")
    document = AuditDocument.read_folder(folder)
    montage = folder / MONTAGE_FILE
    return {
        "folder": str(folder),
        "verdict": document.verdict,
        "fraction_flagged": document.flagged_fraction,
        "n_flagged": document.counts.flagged,
        "n_synthetic": document.counts.synthetic,
        "fpr": document.fpr,
        "level": LEVELS[document.verdict],
        "reasons": list(document.verdict_reasons),
        "selftest_recall": document.selftest.recall if document.selftest is not None else None,
        "spaces": [space_row(name, space) for name, space in document.spaces.items()],
        "by_class": [{"class": name, **asdict(flags)} for name, flags in (document.by_class or {}).items()],
        "pairs": _closest_pairs(folder / PAIRS_FILE),
        "montages": [str(montage)] if montage.is_file() and montage.stat().st_size <= MAX_MONTAGE_BYTES else [],
    }


def space_row(name: str, space: SpaceResult) -> dict:
    """One row of the report's table of spaces: its numbers and an "<attack> AUC" column per attack."""
    row = {"name": name, **{key: getattr(space, key) for key in SPACE_COLUMNS}}
    attacks = space.membership_inference or {}
    row.update({f"{attack.replace('_', ' ')} AUC": f"{a['auc']:.2f} ({a['ci_low']:.2f}–{a['ci_high']:.2f})"
                for attack, a in attacks.items() if isinstance(a, dict)})
    return row


def _closest_pairs(path: Path) -> dict | None:
    rows = read_optional_csv(path, "the audit's pairs")
    if rows is None:
        return None
    columns = list(rows[0])
    if PAIRS_SCORE_COLUMN not in columns:
        raise SynthgenError(f"{path} has no {PAIRS_SCORE_COLUMN!r} column; re-run `synthgen audit` to write it again")
    rows.sort(key=lambda row: _float_or_inf(row[PAIRS_SCORE_COLUMN]))
    shown = columns[:MAX_PAIR_COLUMNS]
    return {"columns": shown, "rows": [[row.get(c, "") for c in shown] for row in rows[:MAX_PAIRS]],
            "sorted_by": PAIRS_SCORE_COLUMN, "total": len(rows)}


def _float_or_inf(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("inf")
