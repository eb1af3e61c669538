"""Optional CSV inputs of the report (an audit's pairs.csv, a run's training log): read if they are
there and readable, otherwise the report leaves that part out with a warning."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def read_optional_csv(path: Path, what: str) -> list[dict[str, str]] | None:
    """The rows of `path`, or None when it is missing, unreadable or empty."""
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        log.warning("cannot read %s %s (%s); the report leaves it out", what, path, err)
        return None
    return rows or None
