"""The run config: one YAML file naming every stage of `synthgen run`, validated into dataclasses.

    created: 2026-01-01T00:00:00Z   # optional: every timestamp (default: the run folder's first run, kept in run.json)
    prepare:  {source: phantom, n: 600, size: 64, seed: 0}      # or source: <path> + prepare options,
                                                                # or base: configs/prepare/X.yaml (+ overrides)
    train:    {base: configs/train/demo.yaml, training: {steps: 300}}   # a training config, overridable
    sample:   {n: 400, seed: 0}                                 # or per_class: {normal: 100, ...}
    audit:    {fpr: 0.01, filter: true}
    validate: {seeds: 3, steps: 400, external_test: [site-b=data/site-b]}   # optional external real test sets
    export:   {formats: [dicom], to: null}

Each section is its stage's option dataclass (PrepareOptions, SampleOptions, AuditSettings,
ValidateOptions: the same options as the stage's command) plus what only a run decides; export
holds ExportOptions' settings for several `formats`. Missing keys keep those defaults; unknown keys and wrong types are errors naming
`section.key`. Any section may name a `base:` YAML file whose keys it overrides (synthgen.config).
Relative paths (sources, labels, bases) are relative to the current folder, as in configs/prepare/*.yaml.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from privacy.settings import AuditSettings
from synthgen.config import build_dataclass, merged, read_yaml_mapping, with_base
from synthgen.errors import SynthgenError
from synthgen.export.options import ExportOptions, compressions, export_formats
from synthgen.model.config import Sampler, TrainConfig
from synthgen.model.config_files import config_to_dict
from synthgen.model.config_files import config_from_dict as train_config_from_dict
from synthgen.model.sample_options import SampleOptions
from synthgen.prepare_options import PrepareOptions
from synthgen.source_problems import DROP_CHOICES
from validation.options import ValidateOptions

PHANTOM = "phantom"


@dataclass(frozen=True)
class PrepareConfig(PrepareOptions):
    """The real image set: the built-in phantom, or any source `synthgen prepare` reads (with every
    PrepareOptions key; those beyond size, seed and the split fractions apply to path sources only)."""

    source: str = PHANTOM
    # phantom only
    n: int | None = None  # images (default: synthgen.chest_phantom.DEFAULT_IMAGES)
    bit_depth: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.is_phantom:
            path_options = [f.name for f in dataclasses.fields(PrepareOptions)
                            if f.name not in _PHANTOM_OPTIONS and getattr(self, f.name) != f.default]
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

    def prepare_options(self) -> PrepareOptions:
        """The options of synthgen.prepare.prepare (path sources)."""
        return PrepareOptions(**{f.name: getattr(self, f.name) for f in dataclasses.fields(PrepareOptions)})


_PHANTOM_OPTIONS = ("size", "seed", "val_fraction", "test_fraction")  # the PrepareOptions a phantom takes too


# Keys added after run folders existed, by section: they count in a stage's config hash only when
# set to another value than their default, so upgrading synthgen does not by itself redo a finished run.
_ADDED_LATER = {
    "prepare": ("drop", "keep_source_names", "source_map"),  # issue 15: row problems, source-name hashing
    "sample": ("churn",),  # issue 13: as the CLI
    "audit": ("exact_limit", "selftest_copies", "selftest_floor", "membership_auc_limit"),  # issue 13: as the CLI
}


@dataclass(frozen=True)
class SampleConfig(SampleOptions):
    """synthgen.model.sample_options.SampleOptions; a run gives exactly one of n and per_class."""

    def __post_init__(self) -> None:
        if (self.n is None) == (self.per_class is None):
            raise ValueError("give exactly one of n (images in all) and per_class ({class: count})")
        if self.per_class is not None:
            bad = {k: v for k, v in self.per_class.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
            if bad:
                raise ValueError(f"per_class counts must be integers >= 0, got {bad}")
        samplers = [s.value for s in Sampler]
        if self.sampler is not None and self.sampler not in samplers:
            raise ValueError(f"sampler {self.sampler!r} is not one of {', '.join(samplers)}")


@dataclass(frozen=True)
class AuditConfig(AuditSettings):
    """privacy.settings.AuditSettings, plus what the run decides: filter and the held-out set."""

    filter: bool = True  # export and validate the unflagged images only
    holdout: str | None = None  # real image set never trained on (default: val + test splits of the data)


@dataclass(frozen=True)
class ValidateConfig(ValidateOptions):
    """validation.options.ValidateOptions, plus the run's external real test sets."""

    external_test: tuple[str, ...] = ()  # `[NAME=]SET[:SPLIT]` real test sets of other sites or intakes


_EXPORT = ExportOptions()  # the section's defaults are export's, declared there once


@dataclass(frozen=True)
class ExportConfig:
    """synthgen.export.options.ExportOptions for each of several formats (DICOM ones get `to` and
    `compression`), plus the DICOM conformance check; `filtered_only` follows audit.filter."""

    formats: tuple[str, ...] = (_EXPORT.format,)
    compression: str = _EXPORT.compression
    to: str | None = _EXPORT.to  # PACS: dicomweb+http://HOST:PORT/dicom-web or dimse://AET@HOST:PORT
    retries: int = _EXPORT.retries
    check_dicom: int = 20  # DICOM files checked with dciodvfy (spread over the set); 0: none

    def __post_init__(self) -> None:
        valid = export_formats()
        unknown = [f for f in self.formats if f not in valid]
        if unknown or not self.formats or len(set(self.formats)) != len(self.formats):
            raise ValueError(f"formats {list(self.formats)} must be distinct values of {', '.join(valid)}")
        if self.compression not in compressions():
            raise ValueError(f"compression {self.compression!r} is not one of {', '.join(compressions())}")
        if self.to and "dicom" not in self.formats:
            raise ValueError("to (a PACS) sends DICOM: add dicom to formats")
        if self.check_dicom < 0:
            raise ValueError(f"check_dicom must be >= 0, got {self.check_dicom}")

    def options(self, format: str, filtered_only: bool) -> ExportOptions:
        """The export of one of `formats`."""
        dicom = format == "dicom"
        return ExportOptions(format=format, filtered_only=filtered_only, to=self.to if dicom else None,
                             compression=self.compression if dicom else _EXPORT.compression, retries=self.retries)


@dataclass(frozen=True)
class RunConfig:
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    train: TrainConfig = field(default_factory=TrainConfig)  # or a GanTrainConfig (train.model.kind: gan)
    sample: SampleConfig = field(default_factory=lambda: SampleConfig(n=400))
    audit: AuditConfig = field(default_factory=AuditConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    created: str | None = None  # ISO-8601 UTC time written into every output (default: run.json's `created`)
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
        """One section as plain JSON-able values (what a stage's config hash covers); keys added
        later (_ADDED_LATER) count only when set."""
        section = getattr(self, name)
        later = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default  # as config_to_dict
                 for f in dataclasses.fields(section) if f.name in _ADDED_LATER.get(name, ())}
        return {k: v for k, v in config_to_dict(section).items() if k not in later or v != later[k]}


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
    """Read and validate a run config. The file may say `base: RUN.yaml` (another run config, merged
    section by section) and any section may say `base: FILE.yaml` (`prepare.base`: a configs/prepare
    file, `train.base`: a configs/train file) whose keys it overrides; each override
    `section.key=value` (value in YAML, e.g. `sample.n=200`) replaces one key."""
    path = Path(path)
    where = f"config {path}"
    data = with_base(read_yaml_mapping(path), where)  # a whole run config may build on another
    for override in overrides:
        data = _with_override(data, override)
    data = {name: with_base(value, f"{where}.{name}") if isinstance(value, dict) else value
            for name, value in data.items()}
    if isinstance(data.get("created"), (dt.date, dt.datetime)):  # YAML reads unquoted times as datetimes
        data = {**data, "created": data["created"].isoformat()}
    train = data.get("train", {})
    if not isinstance(train, dict):
        raise SynthgenError(f"{where}.train must be a mapping, not {type(train).__name__}")
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
    return merged(data, value)
