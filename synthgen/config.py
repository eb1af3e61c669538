"""YAML option files: a mapping of option names to values, checked against what a command accepts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from synthgen.errors import SynthgenError


def load_options(path: Path, allowed: Iterable[str]) -> dict:
    """Read a YAML mapping; keys may use '-' or '_'; unknown keys are errors naming the valid ones."""
    path = Path(path)
    if not path.is_file():
        raise SynthgenError(f"config {path} does not exist: check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise SynthgenError(f"config {path}{line} is not valid YAML: {getattr(err, 'problem', err)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SynthgenError(f"config {path} must be a mapping of option: value, not {type(data).__name__}")
    allowed = set(allowed)
    options = {str(key).replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise SynthgenError(
            f"config {path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}"
        )
    return options
