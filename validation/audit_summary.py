"""Read a privacy audit folder (`synthgen audit --out DIR`) for the report, defensively.

Keys read from `DIR/audit.json` (all optional; anything else is ignored):

    verdict            a string (shown verbatim) or a mapping with `status`/`label`/`summary`
    fraction_flagged   share of synthetic images flagged in any space (also `flagged_fraction`)
    n_flagged, n_synthetic, fpr  (also `counts.flagged`, `counts.synthetic`)
    spaces             {space: {threshold, fraction_flagged, ...}} or a list of such mappings with `name`
    thresholds         {space: threshold}, used when `spaces` has none
    verdict_reasons    sentences saying why the verdict is what it is
    selftest           {recall, floor, ...}: the audit's own planted-copy check
    spaces.<s>.membership_inference  {attack: {auc, ci_low, ci_high}}: shown as "<attack> AUC" columns

`DIR/pairs.csv`: the closest pairs (rows sorted by `score`, the audit's combined closeness, or
else the first column whose name contains "distance"; ascending); `DIR/*.png`: montages of the closest synthetic-training pairs, embedded as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

from synthgen.errors import SynthgenError
from validation.optional_csv import read_optional_csv

MAX_PAIRS = 10
MAX_MONTAGES = 2
MAX_MONTAGE_BYTES = 8 * 1024 * 1024
GOOD_WORDS = ("pass", "ok", "clean", "safe")
BAD_WORDS = ("fail", "unsafe", "leak", "memoriz")


def read_audit(folder: Path | str) -> dict:
    """A summary dict: verdict text and level, fraction flagged, per-space rows, pairs, montages."""
    folder = Path(folder)
    path = folder / "audit.json"
    if not path.is_file():
        raise SynthgenError(f"--audit {folder}: audit.json is missing; pass the --out folder of `synthgen audit`")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SynthgenError(f"{path} is not valid JSON ({err}); re-run `synthgen audit`") from None
    if not isinstance(document, dict):
        raise SynthgenError(f"{path} must hold a JSON object; re-run `synthgen audit`")
    fraction = _number(document.get("fraction_flagged", document.get("flagged_fraction")))
    counts = document.get("counts") if isinstance(document.get("counts"), dict) else {}
    verdict_text = _verdict_text(document.get("verdict"))
    return {
        "folder": str(folder),
        "verdict": verdict_text,
        "fraction_flagged": fraction,
        "n_flagged": _number(document.get("n_flagged", counts.get("flagged"))),
        "n_synthetic": _number(document.get("n_synthetic", counts.get("synthetic"))),
        "fpr": _number(document.get("fpr")),
        "level": _level(verdict_text, fraction),
        "reasons": [r for r in document.get("verdict_reasons") or [] if isinstance(r, str)],
        "selftest_recall": _number((document.get("selftest") or {}).get("recall")),
        "spaces": _spaces(document),
        "pairs": _closest_pairs(folder / "pairs.csv"),
        "montages": [str(p) for p in sorted(folder.glob("*.png"))[:MAX_MONTAGES]
                     if p.stat().st_size <= MAX_MONTAGE_BYTES],
    }


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _verdict_text(verdict) -> str | None:
    if isinstance(verdict, str):
        return verdict
    if isinstance(verdict, dict):
        for key in ("summary", "status", "label", "verdict"):
            if isinstance(verdict.get(key), str):
                return verdict[key]
    return None


def _level(verdict: str | None, fraction: float | None) -> str:
    words = (verdict or "").lower()
    if any(w in words for w in BAD_WORDS):
        return "low"
    if any(w in words for w in GOOD_WORDS):
        return "good"
    if fraction is None:
        return "not assessed"
    return "good" if fraction <= 0.01 else "moderate" if fraction <= 0.05 else "low"


def _spaces(document: dict) -> list[dict]:
    spaces = document.get("spaces")
    rows: list[dict] = []
    if isinstance(spaces, dict):
        spaces = [{"name": name, **value} for name, value in spaces.items() if isinstance(value, dict)]
    if isinstance(spaces, list):
        for entry in spaces:
            if isinstance(entry, dict):
                rows.append({k: v for k, v in entry.items() if isinstance(v, (str, int, float, bool))}
                            | _attack_columns(entry.get("membership_inference")))
    thresholds = document.get("thresholds")
    if not rows and isinstance(thresholds, dict):
        rows = [{"name": k, "threshold": v} for k, v in thresholds.items() if isinstance(v, (int, float))]
    return rows


def _attack_columns(attacks) -> dict:
    """{"<attack> AUC": "0.50 (0.45–0.55)"} for each membership-inference attack of a space."""
    if not isinstance(attacks, dict):
        return {}
    return {f"{name.replace('_', ' ')} AUC": f"{a['auc']:.2f} ({a['ci_low']:.2f}–{a['ci_high']:.2f})"
            for name, a in attacks.items()
            if isinstance(a, dict) and all(_number(a.get(k)) is not None for k in ("auc", "ci_low", "ci_high"))}


def _closest_pairs(path: Path) -> dict | None:
    rows = read_optional_csv(path, "the audit's pairs")
    if rows is None:
        return None
    columns = list(rows[0])
    distance = "score" if "score" in columns else next((c for c in columns if "distance" in c.lower()), None)
    if distance is not None:
        rows.sort(key=lambda row: _float_or_inf(row.get(distance)))
    return {"columns": columns[:8], "rows": [[row.get(c, "") for c in columns[:8]] for row in rows[:MAX_PAIRS]],
            "sorted_by": distance, "total": len(rows)}


def _float_or_inf(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")
