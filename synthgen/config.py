"""YAML option files: a mapping of option names to values, checked against what a command accepts.

Any config mapping (a prepare or training YAML, a section of a run config) may say `base: FILE.yaml`:
the keys of FILE (itself allowed a base) with the mapping's own keys on top, nested mappings merged.
Relative base paths are relative to the current folder, like every other path in a config.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import yaml

from synthgen.errors import SynthgenError

T = TypeVar("T")


BASE_KEY = "base"


def load_options(path: Path, allowed: Iterable[str]) -> dict:
    """Read a YAML mapping (and its `base:`); keys may use '-' or '_'; unknown keys are errors naming
    the valid ones."""
    data = with_base(read_yaml_mapping(path), f"config {path}")
    allowed = set(allowed)
    options = {str(key).replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise SynthgenError(
            f"config {path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}"
        )
    return options


def read_yaml_mapping(path: Path) -> dict:
    """A YAML file that must hold a mapping (empty file: {}), with errors naming the file and line."""
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
    return data


def with_base(data: dict, where: str, _seen: tuple[Path, ...] = ()) -> dict:
    """`data` on top of the YAML file its `base:` key names (resolved the same way), without `base`."""
    if BASE_KEY not in data:
        return data
    overrides = dict(data)
    base = overrides.pop(BASE_KEY)
    if not isinstance(base, str):
        raise SynthgenError(f"{where}.{BASE_KEY} must be the path of a YAML file, not {base!r}")
    path = Path(base)
    if path.resolve() in _seen:
        raise SynthgenError(f"{where}.{BASE_KEY} {base} is already a base of this config: remove the loop")
    parent = with_base(read_yaml_mapping(path), f"config {path}", (*_seen, path.resolve()))
    return merged(parent, overrides)


def merged(base: dict, overrides: dict) -> dict:
    """`overrides` on top of `base`, key by key (nested mappings merged, other values replaced)."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def build_dataclass(cls: type[T], data: object, where: str) -> T:
    """Build a (nested) dataclass from a mapping: unknown keys and wrong types are errors naming
    `where.key`; missing keys keep the dataclass defaults; enum fields accept their values."""
    if not isinstance(data, dict):
        raise SynthgenError(f"{where} must be a mapping, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SynthgenError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
    built = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in values.items()}
    try:
        return cls(**built)
    except (ValueError, TypeError) as err:
        raise SynthgenError(f"{where}: {err}") from None


def _coerce(hint: object, value: object, where: str) -> object:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        valid = [member.value for member in hint]
        if value not in valid:
            raise SynthgenError(f"{where} is {value!r}; valid values: {', '.join(map(str, valid))}")
        return hint(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SynthgenError(f"{where} must be a list, not {value!r}")
        return tuple(_coerce(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML reads 1e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool) and not (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        raise SynthgenError(f"{where} must be {hint.__name__}, not {value!r}")
    return value
