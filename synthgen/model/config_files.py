"""Training configs of either family (diffusion or GAN) from YAML files or dicts, and back.

`model.kind` picks the family (diffusion when absent); a key of the other family is a one-line
error naming it. `config_to_dict` gives the plain values written into run folders.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from synthgen.config import build_dataclass, read_yaml_mapping, with_base
from synthgen.errors import SynthgenError
from synthgen.model.config import ModelKind, Parametrization, TrainConfig

if TYPE_CHECKING:
    from synthgen.model.gan.config import GanTrainConfig


def load_train_config(path: Path | None) -> "TrainConfig | GanTrainConfig":
    """The config in `path` (YAML, which may name a `base:` file it overrides), or the defaults when None."""
    if path is None:
        return TrainConfig()
    return config_from_dict(with_base(read_yaml_mapping(path), f"config {path}"), f"config {path}")


def load_run_config(path: Path) -> "TrainConfig | GanTrainConfig":
    """A run folder's resolved config.yaml; runs from before EDM were all vp and did not say so."""
    data = read_yaml_mapping(path)
    if model_kind(data, f"config {path}") is ModelKind.DIFFUSION and isinstance(data.get("diffusion"), dict):
        data["diffusion"] = {"parametrization": Parametrization.VP.value, **data["diffusion"]}
    return config_from_dict(data, f"config {path}")


def config_from_dict(data: dict, where: str = "config") -> "TrainConfig | GanTrainConfig":
    """The config of the family `model.kind` names (diffusion when absent); keys of the other
    family are one-line errors naming the key, the kind and the valid keys."""
    from synthgen.model.gan.config import GanTrainConfig

    if not isinstance(data, dict):
        raise SynthgenError(f"{where} must be a mapping, not {type(data).__name__}")
    kind = model_kind(data, where)
    own, other = (GanTrainConfig, TrainConfig) if kind is ModelKind.GAN else (TrainConfig, GanTrainConfig)
    _refuse_keys_of_other_kind(data, own, other, kind, where)
    if kind is ModelKind.DIFFUSION:  # a diffusion config has no model section beyond `kind`
        data = {key: value for key, value in data.items() if key != "model"}
    return build_dataclass(own, data, where)


def model_kind(data: dict, where: str = "config") -> ModelKind:
    """`model.kind` of a config mapping (diffusion when there is no model section)."""
    section = data.get("model", {})
    if not isinstance(section, dict):
        raise SynthgenError(f"{where}.model must be a mapping such as {{kind: gan}}, not {section!r}")
    unknown = sorted(set(section) - {"kind"})
    if unknown:
        raise SynthgenError(f"{where}.model: unknown key(s) {', '.join(map(str, unknown))}; valid keys: kind")
    kind = section.get("kind", ModelKind.DIFFUSION.value)
    if kind not in {k.value for k in ModelKind}:
        raise SynthgenError(f"{where}.model.kind is {kind!r}; valid values: {', '.join(k.value for k in ModelKind)}")
    return ModelKind(kind)


def _refuse_keys_of_other_kind(data: dict, own: type, other: type, kind: ModelKind, where: str) -> None:
    """A key the other family knows but this one does not (e.g. `diffusion` in a GAN config)."""
    own_fields = {f.name: f for f in dataclasses.fields(own)}
    other_fields = {f.name: f for f in dataclasses.fields(other)}
    other_kind = next(k for k in ModelKind if k is not kind)
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name == "model":
            continue
        if name not in own_fields and name in other_fields:
            raise SynthgenError(
                f"{where}: {name} is a model.kind {other_kind.value} key, not valid with model.kind {kind.value}; "
                f"valid keys: {', '.join(sorted(own_fields))}"
            )
        if name in own_fields and name in other_fields and isinstance(value, dict):
            mine, theirs = own_fields[name].default_factory, other_fields[name].default_factory
            _refuse_keys_of_other_kind(value, mine, theirs, kind, f"{where}.{name}")


def config_to_dict(config: object) -> dict:
    """Plain JSON/YAML-able values (enums as their strings, tuples as lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def config_difference(old: dict, new: dict, prefix: str = "") -> str | None:
    """The first key (dotted) whose value differs between two config dicts, or None."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = config_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key} ({a!r} in the run, {b!r} now)"
    return None


def with_overrides(config: TrainConfig, **sections: dict) -> TrainConfig:
    """A copy with some keys replaced, e.g. with_overrides(c, training={"steps": 10})."""
    data = config_to_dict(config)
    for section, values in sections.items():
        if section not in data:
            raise SynthgenError(f"unknown config section {section!r}")
        data[section].update(values)
    return config_from_dict(data)
