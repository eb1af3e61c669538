"""What of the run config each stage's outputs depend on: the config hash run.json keeps per stage.

Every stage covers its own section and the pinned time (written into image sets and DICOM), with two
exceptions. Training covers its section *without* `train.sampling` (how to sample the model, not how
to train it) and the number of processes; sampling covers `train.sampling` as well, because the
sample stage takes its sampler settings from there. Changing the sampler therefore re-samples and
re-runs what follows, never re-trains.

Run folders written before `train.sampling` moved from train's hash to sample's (2026-11-26) hold
hashes of the earlier definition; `earlier_config_sha256` recomputes that hash from the config the
folder last ran with (run.json's `resolved_config`), so such a folder is recognised as up to date
and upgraded in place instead of retrained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from synthgen.model.config_files import config_difference, config_to_dict
from synthgen.workflow.config import RunConfig, SampleConfig
from synthgen.workflow.state import config_sha256

TRAIN, SAMPLE, SAMPLING = "train", "sample", "sampling"


def stage_config_sha256(stage: str, config: RunConfig) -> str:
    """The hash of what of `config` the outputs of `stage` depend on."""
    return config_sha256(_covered(stage, config))


def _covered(stage: str, config: RunConfig) -> dict:
    covered = _covered_parts(stage, config.section, config.created, config.train_processes)
    return {hash_key: value for (hash_key, _), value in covered.items()}


def _covered_parts(stage: str, section: Callable[[str], dict], created: str | None, processes: int | None) -> dict:
    """The coverage rule, stated once: {(key in the hash, dotted name in messages): value}, with
    `section(name)` giving a config section as plain values."""
    if stage == TRAIN:
        training = {k: v for k, v in section(TRAIN).items() if k != SAMPLING}
        return {("section", TRAIN): training, ("processes", "train_processes"): processes}
    covered = {("section", stage): section(stage), ("created", "created"): created}
    if stage == SAMPLE:
        covered[("train_sampling", f"{TRAIN}.{SAMPLING}")] = section(TRAIN).get(SAMPLING)
    return covered


def sample_options(config: RunConfig) -> SampleConfig:
    """The sample section, the sampler settings it leaves out taken from train.sampling (not from the
    trained model's copy of it, so that changing them re-samples without re-training)."""
    given = {f.name for f in dataclasses.fields(config.sample)}
    defaults = {k: v for k, v in config_to_dict(config.train.sampling).items()
                if k in given and v is not None and getattr(config.sample, k) is None}
    return dataclasses.replace(config.sample, **defaults)


def earlier_config_sha256(stage: str, config: RunConfig, recorded: dict) -> str | None:
    """The hash the earlier definition gave `stage` under `config`, with `train.sampling` as `recorded`
    (the config the run folder last ran with) had it; None when that definition cannot match."""
    recorded_sampling = (recorded.get(TRAIN) or {}).get(SAMPLING)
    if recorded_sampling is None:
        return None
    if stage == TRAIN:  # covered its whole section, sampling included, as the folder ran it
        return config_sha256({"section": {**config.section(TRAIN), SAMPLING: recorded_sampling},
                              "processes": config.train_processes})
    if stage == SAMPLE and recorded_sampling == config.section(TRAIN)[SAMPLING]:  # sampled with what is asked now
        return config_sha256({"section": config.section(SAMPLE), "created": config.created})
    return None


def config_change(stage: str, config: RunConfig, recorded: dict) -> str:
    """Why a stage's config hash changed, naming the first changed key where run.json's
    `resolved_config` shows it (e.g. `train.sampling.steps (10 in the run, 20 now)`)."""
    before = _parts(stage, recorded)
    difference = before and config_difference(before, _parts(stage, config_to_dict(config)))
    return f"its config changed: {difference}" if difference else f"its config section ({stage}) changed"


def _parts(stage: str, whole: dict) -> dict:
    """The covered parts of a resolved config (config_to_dict of a RunConfig), by dotted name."""
    if stage not in whole or TRAIN not in whole:
        return {}
    covered = _covered_parts(stage, lambda name: whole[name], whole.get("created"), whole.get("train_processes"))
    return {name: value for (_, name), value in covered.items()}
