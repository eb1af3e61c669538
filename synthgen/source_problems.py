"""Row problems of a source, collected over the whole source instead of failing at the first.

Adapters (and `prepare`, for problems only decoding reveals) add one `RowProblem` per bad row and
leave the row out. `prepare` then either stops with every kind of problem in one message, or, for
the kinds the user chose to drop (`--drop`), records how many rows were dropped and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from synthgen.errors import SynthgenError

# Every kind of row problem, declared once: the `--drop` choices and the report come from here.
PROBLEM_KINDS: dict[str, str] = {
    "missing-file": "the row's image file does not exist (or its path/UID column is empty)",
    "empty-label": "the label column is empty",
    "unknown-class": "the label is not one of --classes",
    "duplicate-row": "the same image path or UID is listed again (the first row is kept)",
    "duplicate-image": "the same pixels as an earlier image (the first copy is kept)",
    "unreadable-image": "the file cannot be read as one grey radiograph",
}
DROP_CHOICES = tuple(PROBLEM_KINDS)
_SHOWN = 3  # rows named per kind in the error message


@dataclass(frozen=True)
class RowProblem:
    kind: str
    where: str  # e.g. 'labels.csv line 7' or a path relative to the source
    message: str  # one line naming the file or field


def check_drop(drop: Iterable[str]) -> frozenset[str]:
    """The chosen kinds, each checked against DROP_CHOICES."""
    chosen = frozenset(drop)
    unknown = sorted(chosen - set(DROP_CHOICES))
    if unknown:
        raise SynthgenError(f"--drop {', '.join(unknown)} is not one of {', '.join(DROP_CHOICES)}")
    return chosen


@dataclass
class ProblemLog:
    items: list[RowProblem] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter)  # kept with `items`: checked once per image

    def add(self, kind: str, where: str, message: str) -> None:
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        self.items.append(RowProblem(kind, where, message))
        self._counts[kind] += 1

    def counts(self) -> dict[str, int]:
        """Rows per kind, in the order of PROBLEM_KINDS."""
        return {kind: self._counts[kind] for kind in PROBLEM_KINDS if self._counts[kind]}

    def blocking(self, drop: frozenset[str]) -> list[str]:
        """The kinds present that the user did not choose to drop."""
        return [kind for kind in self.counts() if kind not in drop]

    def raise_if_blocking(self, drop: frozenset[str], source: str) -> None:
        """One line naming every kind not dropped: its count, first rows, and the option to drop it."""
        kinds = self.blocking(drop)
        if not kinds:
            return
        options = f"--drop {','.join(kinds)}"
        if len(self.items) == 1:
            raise SynthgenError(f"{self.items[0].message} (or pass {options} to leave such rows out)")
        counts = self.counts()
        parts = []
        for kind in kinds:
            rows = [p for p in self.items if p.kind == kind]
            more = [p.where for p in rows[1:_SHOWN]] + (["…"] if len(rows) > _SHOWN else [])
            also = f" (also {', '.join(more)})" if more else ""
            parts.append(f"{kind}: {counts[kind]} row{'s' if counts[kind] > 1 else ''}, first {rows[0].message}{also}")
        raise SynthgenError(
            f"{source}: {sum(counts[k] for k in kinds)} rows have problems, nothing written — "
            + "; ".join(parts) + f". Fix them, or pass {options} to leave those rows out"
        )

    def dropped(self, drop: frozenset[str]) -> dict[str, int]:
        """Rows left out per kind (what dataset.json and the summary show)."""
        return {kind: n for kind, n in self.counts().items() if kind in drop}
