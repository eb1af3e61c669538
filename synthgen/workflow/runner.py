"""`run()`: the whole pipeline from one config into one run folder, redoing only what changed.

A stage is up to date when run.json records it done with the same config hash and the same input
hashes, and its outputs still hash to what it recorded; otherwise it runs, and every later stage
whose inputs then differ runs too. A stage writes into `.stage-NAME.partial/` inside the run
folder; only after it returned are its outputs renamed into place, hashed, and the stage marked
done. A run killed at any moment (kill -9 included) therefore leaves finished stages, whole
outputs and at most one staging folder, which the next run removes; training continues from its
last checkpoint in its staging folder when its config and data are unchanged.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.atomic import write_text_atomic
from synthgen.errors import SynthgenError
from synthgen.imageset.summary import creation_time
from synthgen.model.config_files import config_to_dict
from synthgen.workflow.config import RunConfig, load_run_config, source_date_epoch
from synthgen.workflow.stage_config import config_change, earlier_config_sha256, stage_config_sha256
from synthgen.workflow.stages import ALL_OUTPUTS, STAGES, Stage, StageContext
from synthgen.workflow.state import STATE_FILE, RunState, StageRecord, now, source_fingerprint, tree_sha256
from synthgen.versions import library_versions

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
FINGERPRINT_FILE = "fingerprint.json"


@dataclass(frozen=True)
class PlannedStage:
    name: str
    run: bool
    reason: str  # why it runs, or "up to date"


@dataclass
class RunResult:
    root: Path
    plan: list[PlannedStage]
    records: dict[str, StageRecord] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class QuietView:
    """What `run()` reports to; live.LiveView draws it, this one stays silent."""

    def plan(self, root: Path, plan: list[PlannedStage], dry_run: bool) -> None: ...
    def started(self, name: str, index: int, total: int, reason: str) -> None: ...
    def finished(self, stage: Stage, record: StageRecord, skipped: bool) -> None: ...
    def failed(self, name: str, error: BaseException) -> None: ...
    def done(self, root: Path, records: dict[str, StageRecord]) -> None: ...


def run(config_path: Path | str, out: Path | str, *, dry_run: bool = False, overrides: tuple[str, ...] = (),
        progress: bool = True, view: QuietView | None = None) -> RunResult:
    """Run (or with `dry_run` only plan) the pipeline of the run config `config_path` into `out`;
    `overrides` are `section.key=value` changes to the config (see config.load_run_config)."""
    config_path, root, view = Path(config_path), Path(out), view or QuietView()
    config = load_run_config(config_path, overrides)
    _check_run_folder(root)
    if dry_run:
        state = RunState.load(root, config_path)
        plan = plan_run(config, root, state)
        view.plan(root, plan, dry_run=True)
        return RunResult(root, plan, dict(state.stages))
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(root):
        state = RunState.load(root, config_path)
        state.created = state.created or config.created or creation_time()  # SOURCE_DATE_EPOCH, else now
        with _pinned_time(config.created or state.created), _torch_threads(config.threads):
            return _run_stages(config, root, state, progress, view)


def _run_stages(config: RunConfig, root: Path, state: RunState, progress: bool, view: QuietView) -> RunResult:
    """Each stage in order: skipped when up to date, else run into its staging folder and committed."""
    state.resolved_config = config_to_dict(config)
    _remove_leftovers(root, state)
    _remove_unused_outputs(root, config)
    plan = plan_run(config, root, state)
    view.plan(root, plan, dry_run=False)
    result = RunResult(root, plan)
    produced: dict[str, str] = {}
    for index, stage in enumerate(STAGES):
        config_hash, inputs = _stage_inputs(stage, config, produced)
        reason = _why_run(stage, config, root, state, config_hash, inputs)
        if reason is None:
            record = state.stages[stage.name]
            if record.config_sha256 != config_hash:  # up to date under the earlier hash: upgrade the record
                record.config_sha256 = config_hash
                state.save()
            result.skipped.append(stage.name)
            view.finished(stage, record, skipped=True)
        else:
            view.started(stage.name, index, len(STAGES), reason)
            record = _run_stage(stage, config, root, state, config_hash, inputs, progress, view)
            result.ran.append(stage.name)
            view.finished(stage, record, skipped=False)
        produced.update(record.outputs)
    result.records = dict(state.stages)
    view.done(root, result.records)
    return result


def plan_run(config: RunConfig, root: Path, state: RunState) -> list[PlannedStage]:
    """What would run and why, without running anything (outputs of stages that will run are unknown)."""
    plan, produced = [], {}
    for stage in STAGES:
        config_hash, inputs = _stage_inputs(stage, config, produced)
        pending = sorted(name for name, value in inputs.items() if value is None)
        record = state.stages.get(stage.name)
        reason = (f"its input {', '.join(pending)} will be remade" if pending
                  else _why_run(stage, config, root, state, config_hash, inputs))
        plan.append(PlannedStage(stage.name, reason is not None, reason or "up to date"))
        outputs = stage.outputs(config)
        produced.update({name: (record.outputs.get(name) if reason is None else None) for name in outputs})
    return plan


def _stage_inputs(stage: Stage, config: RunConfig, produced: dict) -> tuple[str, dict]:
    inputs = {name: produced.get(name) for name in stage.inputs(config)}
    for key, path in stage.external(config).items():
        inputs[key] = source_fingerprint(path)
    return stage_config_sha256(stage.name, config), inputs


def _why_run(stage: Stage, config: RunConfig, root: Path, state: RunState, config_hash: str,
             inputs: dict) -> str | None:
    """None when the stage is up to date, else the reason it must run."""
    record = state.stages.get(stage.name)
    if record is None:
        return "not run yet"
    if record.status != "done":
        return "its last run was interrupted" if record.status == "running" else f"its last run {record.status}"
    if record.config_sha256 not in (config_hash, earlier_config_sha256(stage.name, config, state.recorded_config)):
        return config_change(stage.name, config, state.recorded_config)
    changed = sorted(name for name in set(inputs) | set(record.inputs) if inputs.get(name) != record.inputs.get(name))
    if changed:
        return f"its input {', '.join(changed)} changed"
    for name in stage.outputs(config):
        path = root / name
        if not path.exists():
            return f"its output {name}/ is missing"
        if tree_sha256(path) != record.outputs.get(name):
            return f"its output {name}/ was modified"
    return None


def _run_stage(stage: Stage, config: RunConfig, root: Path, state: RunState, config_hash: str, inputs: dict,
               progress: bool, view: QuietView) -> StageRecord:
    staging = _staging_folder(root, stage.name)
    fingerprint, *earlier = (json.dumps({"config_sha256": digest, "inputs": inputs}, sort_keys=True) for digest in
                             (config_hash, earlier_config_sha256(stage.name, config, state.recorded_config)) if digest)
    if staging.exists() and not (stage.resumable and _read(staging / FINGERPRINT_FILE) in (fingerprint, *earlier)):
        shutil.rmtree(staging)
    staging.mkdir(exist_ok=True)
    write_text_atomic(staging / FINGERPRINT_FILE, fingerprint)
    record = StageRecord("running", config_hash, inputs, versions=library_versions(), started=now())
    state.stages[stage.name] = record
    state.save()
    began = time.perf_counter()
    try:
        record.summary = stage.run(StageContext(config, root, staging, progress))
    except BaseException as err:  # Ctrl-C too: the record says what happened, then the error goes on
        record.status, record.error = "failed", str(err).splitlines()[0] if str(err) else type(err).__name__
        record.wall_time_s = round(time.perf_counter() - began, 1)
        state.save()
        if not stage.resumable:
            shutil.rmtree(staging, ignore_errors=True)
        view.failed(stage.name, err)
        raise
    outputs = stage.outputs(config)
    _commit(root, staging, outputs)
    record.outputs = {name: tree_sha256(root / name) for name in outputs}
    record.status, record.finished = "done", now()
    record.wall_time_s = round(time.perf_counter() - began, 1)
    state.save()
    shutil.rmtree(staging, ignore_errors=True)
    return record


def _commit(root: Path, staging: Path, outputs: tuple[str, ...]) -> None:
    """Move each finished output from the staging folder into the run folder, replacing the old one."""
    trash = root / f"{staging.name.removesuffix('.partial')}.old"
    for name in outputs:
        made = staging / name
        if not made.exists():
            raise SynthgenError(f"stage finished without writing {name}/ (a bug): nothing was replaced")
        if (root / name).exists():
            trash.mkdir(exist_ok=True)
            os.replace(root / name, trash / name)
        os.replace(made, root / name)
    shutil.rmtree(trash, ignore_errors=True)


def _staging_folder(root: Path, name: str) -> Path:
    return root / f".stage-{name}.partial"


def _remove_leftovers(root: Path, state: RunState) -> None:
    """Staging and trash folders of a killed run; a resumable stage's staging folder is kept until
    the stage runs again (it decides then, by fingerprint, whether to continue from it)."""
    resumable = {stage.name for stage in STAGES if stage.resumable}
    for path in root.glob(".stage-*"):
        name = path.name.removeprefix(".stage-").removesuffix(".partial")
        keep = (path.suffix == ".partial" and name in resumable
                and getattr(state.stages.get(name), "status", None) != "done")
        if not keep:
            log.info("removing %s, left by an interrupted run", path)
            shutil.rmtree(path, ignore_errors=True)


def _remove_unused_outputs(root: Path, config: RunConfig) -> None:
    """Outputs no stage makes under this config (e.g. synthetic-filtered/ once audit.filter is off)."""
    made = {name for stage in STAGES for name in stage.outputs(config)}
    for name in ALL_OUTPUTS:
        if name not in made and (root / name).exists():
            log.info("removing %s: this config does not make it", root / name)
            shutil.rmtree(root / name)


def _check_run_folder(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise SynthgenError(f"--out {root} is a file: choose a folder for the run")
    if root.is_dir() and not (root / STATE_FILE).is_file() and any(p.name != LOCK_FILE for p in root.iterdir()):
        raise SynthgenError(f"--out {root} is a non-empty folder without {STATE_FILE}, not a synthgen run: "
                            "choose a new or empty folder")


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One `synthgen run` per run folder at a time (the lock dies with its process, even on kill -9)."""
    with open(root / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SynthgenError(f"another synthgen run is using {root}: wait for it to finish") from None
        yield


@contextlib.contextmanager
def _pinned_time(created: str) -> Iterator[None]:
    """Every stage's timestamps (image sets, DICOM dates, reports) read `created` through
    SOURCE_DATE_EPOCH, the variable they already honour, so reruns are byte-identical."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(source_date_epoch(created))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Tiny convolutions on a busy machine run many times faster on one thread than on several
    competing ones; `threads` sets torch's CPU threads for the run and restores them after."""
    if threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
