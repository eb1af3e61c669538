"""The run config: one YAML file naming every stage of `synthgen run`, validated into dataclasses.

    created: 2026-01-01T00:00:00Z   # optional: pins every timestamp, so reruns are byte-identical
    prepare:  {source: phantom, n: 600, size: 64, seed: 0}      # or source: <path> + prepare options
    train:    {base: configs/train/demo.yaml, training: {steps: 300}}   # a training config, overridable
    sample:   {n: 400, seed: 0}                                 # or per_class: {normal: 100, ...}
    audit:    {fpr: 0.01, filter: true}
    validate: {seeds: 3, steps: 400, external_test: [site-b=data/site-b]}   # optional external real test sets
    export:   {formats: [dicom], to: null}

Missing keys keep the defaults below; unknown keys and wrong types are errors naming
`section.key`. Relative paths (sources, labels, `train.base`) are relative to the current folder,
as in configs/prepare/*.yaml.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from synthgen.config import build_dataclass, read_yaml_mapping
from synthgen.errors import SynthgenError
from synthgen.model.config import TrainConfig, config_to_dict
from synthgen.model.config import config_from_dict as train_config_from_dict
from synthgen.source_problems import DROP_CHOICES

PHANTOM = "phantom"
EXPORT_FORMATS = ("dicom", "nifti", "png", "datalist")


@dataclass(frozen=True)
class PrepareConfig:
    """The real image set: the built-in phantom, or any source `synthgen prepare` reads."""

    source: str = PHANTOM
    size: int = 64
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    # phantom only
    n: int | None = None  # images (phantom default 600)
    bit_depth: int = 8
    # path sources only (the options of synthgen.ingest.prepare)
    format: str = "auto"
    labels: str | None = None
    path_column: str = "path"
    label_column: str = "label"
    patient_column: str | None = None
    patient_pattern: str | None = None
    findings_column: str | None = None
    findings_separator: str = "|"
    no_finding: str = "No Finding"
    split_column: str | None = None
    uid_column: str | None = None
    classes: tuple[str, ...] | None = None
    findings: tuple[str, ...] | None = None
    resplit: bool = False
    dedupe: bool = False
    drop: tuple[str, ...] = ()  # row problems to leave out (synthgen.source_problems.DROP_CHOICES)
    keep_source_names: bool = False
    source_map: str | None = None  # default: beside the run folder, RUN.PRIVATE-source-names.csv
    name: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.is_phantom:
            path_options = [f.name for f in dataclasses.fields(self)
                            if f.name in _PATH_SOURCE_OPTIONS and getattr(self, f.name) != f.default]
            if path_options:
                raise ValueError(f"{', '.join(path_options)} apply to a path source, not to source: phantom")
        elif self.n is not None:
            raise ValueError("n applies to source: phantom only (a path source holds its own images)")
        unknown = [kind for kind in self.drop if kind not in DROP_CHOICES]
        if unknown:
            raise ValueError(f"drop {', '.join(unknown)} is not one of {', '.join(DROP_CHOICES)}")

    @property
    def is_phantom(self) -> bool:
        return self.source == PHANTOM

    def prepare_options(self) -> dict:
        """Keyword arguments of synthgen.ingest.prepare (path sources)."""
        return {name: getattr(self, name) for name in ("size", "seed", "val_fraction", "test_fraction",
                                                         *_PATH_SOURCE_OPTIONS)}


_PATH_SOURCE_OPTIONS = ("format", "labels", "path_column", "label_column", "patient_column", "patient_pattern",
                        "findings_column", "findings_separator", "no_finding", "split_column", "uid_column",
                        "classes", "findings", "resplit", "dedupe", "drop", "keep_source_names", "source_map",
                        "name", "workers")


# Added with issue 15 (row problems, source-name hashing): their defaults, as config_to_dict writes them.
_LATER_PREPARE_DEFAULTS = {"drop": [], "keep_source_names": False, "source_map": None}


@dataclass(frozen=True)
class SampleConfig:
    n: int | None = None  # images in all, split like the training set ...
    per_class: dict | None = None  # ... or {class: count}
    sampler: str | None = None  # default: the training config's sampling section
    steps: int | None = None
    guidance: float | None = None
    batch_size: int | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if (self.n is None) == (self.per_class is None):
            raise ValueError("give exactly one of n (images in all) and per_class ({class: count})")
        if self.per_class is not None:
            bad = {k: v for k, v in self.per_class.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
            if bad:
                raise ValueError(f"per_class counts must be integers >= 0, got {bad}")


@dataclass(frozen=True)
class AuditConfig:
    fpr: float = 0.01
    filter: bool = True  # export and validate the unflagged images only
    holdout: str | None = None  # real image set never trained on (default: val + test splits of the data)
    encoder_steps: int = 400
    encoder_width: int = 16
    seed: int = 0


@dataclass(frozen=True)
class ValidateConfig:
    seeds: int = 3
    seed: int = 0
    network: str = "resnet-tiny"
    width: int = 8
    steps: int = 400
    batch_size: int = 64
    low_data: tuple[float, ...] = (0.1, 0.25)
    bootstrap: int = 1000
    min_per_class: int = 10
    external_test: tuple[str, ...] = ()  # `[NAME=]SET[:SPLIT]` real test sets of other sites or intakes


@dataclass(frozen=True)
class ExportConfig:
    formats: tuple[str, ...] = ("dicom",)
    compression: str = "none"
    to: str | None = None  # PACS: dicomweb+http://HOST:PORT/dicom-web or dimse://AET@HOST:PORT
    retries: int = 3
    check_dicom: int = 20  # DICOM files checked with dciodvfy (spread over the set); 0: none

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in EXPORT_FORMATS]
        if unknown or not self.formats or len(set(self.formats)) != len(self.formats):
            raise ValueError(f"formats {list(self.formats)} must be distinct values of {', '.join(EXPORT_FORMATS)}")
        if self.to and "dicom" not in self.formats:
            raise ValueError("to (a PACS) sends DICOM: add dicom to formats")
        if self.check_dicom < 0:
            raise ValueError(f"check_dicom must be >= 0, got {self.check_dicom}")


@dataclass(frozen=True)
class RunConfig:
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    train: TrainConfig = field(default_factory=TrainConfig)  # or a GanTrainConfig (train.model.kind: gan)
    sample: SampleConfig = field(default_factory=lambda: SampleConfig(n=400))
    audit: AuditConfig = field(default_factory=AuditConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    created: str | None = None  # ISO-8601 UTC time written into every output instead of "now"
    train_processes: int = 1  # >1: the train stage runs under torchrun with this many processes
    threads: int | None = None  # torch CPU threads (default: torch's choice; 1 is faster on busy cores)

    def __post_init__(self) -> None:
        if self.created is not None:
            source_date_epoch(self.created)
        if self.train_processes < 1:
            raise ValueError(f"train_processes must be >= 1, got {self.train_processes}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 (or left out), got {self.threads}")

    def section(self, name: str) -> dict:
        """One section as plain JSON-able values (what a stage's config hash covers).

        Prepare options added after run folders existed count only when set, so upgrading synthgen
        does not by itself redo a finished run."""
        values = config_to_dict(getattr(self, name))
        if name == "prepare":
            values = {k: v for k, v in values.items()
                      if k not in _LATER_PREPARE_DEFAULTS or v != _LATER_PREPARE_DEFAULTS[k]}
        return values


def source_date_epoch(created: str) -> int:
    """Seconds since 1970 of an ISO-8601 time (`Z` or an offset; a bare date is midnight UTC)."""
    try:
        moment = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"created {created!r} is not an ISO-8601 time such as 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp())


def load_run_config(path: Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read and validate a run config; `train.base` names a training YAML the section overrides;
    each override `section.key=value` (value in YAML, e.g. `sample.n=200`) replaces one key."""
    path = Path(path)
    data = read_yaml_mapping(path)
    where = f"config {path}"
    for override in overrides:
        data = _with_override(data, override)
    train = data.get("train", {})
    if not isinstance(train, dict):
        raise SynthgenError(f"{where}.train must be a mapping, not {type(train).__name__}")
    if "base" in train:
        train = dict(train)
        base = train.pop("base")
        if not isinstance(base, str):
            raise SynthgenError(f"{where}.train.base must be the path of a training YAML, not {base!r}")
        train = _merged(read_yaml_mapping(Path(base)), train)
        data = {**data, "train": train}
    if isinstance(data.get("created"), (dt.date, dt.datetime)):  # YAML reads unquoted times as datetimes
        data = {**data, "created": data["created"].isoformat()}
    # The train section's family (model.kind: diffusion or gan) decides its dataclass.
    trained = train_config_from_dict(train, f"{where}.train")
    return dataclasses.replace(build_dataclass(RunConfig, {k: v for k, v in data.items() if k != "train"}, where),
                               train=trained)


def _with_override(data: dict, override: str) -> dict:
    keys, sep, text = override.partition("=")
    names = [name.strip() for name in keys.split(".")]
    if not sep or not all(names):
        raise SynthgenError(f"--set {override!r}: write section.key=value, e.g. --set sample.n=200")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    for name in reversed(names):
        value = {name: value}
    return _merged(data, value)


def _merged(base: dict, overrides: dict) -> dict:
    """`overrides` on top of `base`, section by section (nested mappings merged, other values replaced)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
