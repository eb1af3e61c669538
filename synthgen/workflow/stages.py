"""The six stages of `synthgen run`, each a thin call of its package's Python API.

A stage reads the finished outputs of earlier stages from the run folder (`ctx.input(name)`) and
writes its own outputs into a private staging folder (`ctx.stage / name`); the runner renames them
into the run folder once the stage has returned. A stage returns its headline numbers (a small
JSON-able dict, kept in run.json); `describe()` turns them into the one-line summary.

    data/                 prepare   the real image set (phantom or a prepared source)
    model/                train     the training run folder (checkpoints, model/, log.csv, samples/)
    synthetic/            sample    the raw synthetic image set
    audit/                audit     audit.json, pairs.csv, closest_pairs.png, encoder/
    synthetic-filtered/   audit     the unflagged synthetic images (audit.filter: true)
    validation/           validate  report.html, metrics.json
    export/<format>/      export    DICOM (+ manifest.csv, ro-crate-metadata.json), NIfTI, PNG, datalist
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import SynthgenError
from synthgen.workflow.config import RunConfig
from synthgen.export.dicom_check import check_dicom, dicom_check_text

log = logging.getLogger(__name__)

DATA, MODEL, SYNTHETIC, AUDIT, FILTERED, VALIDATION, EXPORT = (
    "data", "model", "synthetic", "audit", "synthetic-filtered", "validation", "export")


@dataclass(frozen=True)
class StageContext:
    config: RunConfig
    root: Path  # the run folder
    stage: Path  # this stage's staging folder: write outputs here under their run-folder names
    progress: bool

    def input(self, name: str) -> Path:
        return self.root / name


@dataclass(frozen=True)
class Stage:
    name: str
    outputs: Callable[[RunConfig], tuple[str, ...]]  # run-folder names this stage makes
    inputs: Callable[[RunConfig], tuple[str, ...]]  # run-folder names of earlier stages' outputs
    external: Callable[[RunConfig], dict[str, Path]]  # files or folders outside the run folder
    run: Callable[[StageContext], dict]
    describe: Callable[[dict], str]
    resumable: bool = False  # keep the staging folder after a kill: the stage continues from it


def synthetic_for_use(config: RunConfig) -> str:
    """The synthetic set that is validated and exported: the filtered one when the audit filters."""
    return FILTERED if config.audit.filter else SYNTHETIC


# --- prepare ------------------------------------------------------------------------------------

def _prepare(ctx: StageContext) -> dict:
    c = ctx.config.prepare
    out = ctx.stage / DATA
    if c.is_phantom:
        from synthgen.chest_phantom import DEFAULT_IMAGES, phantom
        from synthgen.progress import progress_bar

        n = c.n or DEFAULT_IMAGES
        with progress_bar(n, "phantom", unit="images", enabled=ctx.progress) as advance:
            image_set = phantom(out, n=n, size=c.size, seed=c.seed, val_fraction=c.val_fraction,
                                test_fraction=c.test_fraction, bit_depth=c.bit_depth, on_image=advance)
    else:
        from synthgen.prepare import prepare
        from synthgen.pseudonym import kept_salt
        from synthgen.sources.names import default_map_path

        source_map = c.source_map or str(default_map_path(ctx.root))  # beside the run folder, not in the staging one
        image_set = prepare(c.source, out, c.prepare_options(), salt=kept_salt(ctx.root), source_map=source_map,
                            progress=ctx.progress)
    counts = image_set.info["counts"]
    return {"images": counts["images"], "patients": counts["patients"], "classes": image_set.classes,
            "image_size": image_set.image_size, "by_split": counts["by_split"]}


def _describe_prepare(s: dict) -> str:
    splits = " / ".join(f"{v} {k}" for k, v in s["by_split"].items())
    return f"{s['images']} images of {s['patients']} patients, {len(s['classes'])} classes, {s['image_size']}² ({splits})"


# --- train --------------------------------------------------------------------------------------

def _train(ctx: StageContext) -> dict:
    from synthgen.model.run_folder import RunFolder

    run = RunFolder(ctx.stage / MODEL)
    resume = run.checkpoint.is_file()  # a killed run of this same stage (the runner checked its fingerprint)
    resumed_from = _checkpoint_step(run.checkpoint) if resume else 0
    processes = ctx.config.train_processes
    if processes > 1:
        _train_with_torchrun(ctx, run.root, resume, processes)
        result_steps, final_loss, sha = _read_card(run)
    else:
        from synthgen.model.train import train

        result = train(ctx.input(DATA), run.root, ctx.config.train, resume=resume, overwrite=not resume,
                       progress=ctx.progress)
        result_steps, final_loss, sha = result.steps, result.final_loss, result.model_sha256
        if resume and final_loss != final_loss:  # NaN: the checkpoint was already the last step
            _, final_loss, _ = _read_card(run)
    return {"steps": result_steps, "final_loss": final_loss, "model_sha256": sha, "resumed_from_step": resumed_from,
            "processes": processes}


def _checkpoint_step(path: Path) -> int:
    from synthgen.model.checkpoint import checkpoint_step

    return checkpoint_step(path)


def _read_card(run) -> tuple[int, float, str]:
    from synthgen.model.model_card import ModelCard

    card = ModelCard.read(run.model_card)
    return card.steps, card.final_loss, card.model_sha256


def _train_with_torchrun(ctx: StageContext, out: Path, resume: bool, processes: int) -> None:
    """`torchrun --nproc_per_node N -m synthgen train ...` with the resolved training config."""
    import sys

    import yaml

    from synthgen.errors import SynthgenError
    from synthgen.model.config_files import config_to_dict

    config_file = ctx.stage / "train-config.yaml"
    config_file.write_text(yaml.safe_dump(config_to_dict(ctx.config.train), sort_keys=False))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "synthgen", *([] if ctx.progress else ["-q"]), "train", "--data", str(ctx.input(DATA)),
               "--out", str(out), "--config", str(config_file), "--resume" if resume else "--overwrite"]
    log.info("training with %d processes: %s", processes, " ".join(command))
    if subprocess.run(command, check=False).returncode != 0:
        raise SynthgenError(f"torchrun training with {processes} processes failed (see its output above); "
                            "re-run to resume from the last checkpoint, or set train_processes: 1")


def _describe_train(s: dict) -> str:
    resumed = f", resumed at step {s['resumed_from_step']}" if s.get("resumed_from_step") else ""
    procs = f", {s['processes']} processes" if s.get("processes", 1) > 1 else ""
    return f"{s['steps']} steps, final loss {s['final_loss']:.4f}{resumed}{procs}, model {s['model_sha256'][:12]}…"


# --- sample -------------------------------------------------------------------------------------

def _sample(ctx: StageContext) -> dict:
    from synthgen.model.sample import sample
    from synthgen.model.sample_provenance import SampleProvenance
    from synthgen.workflow.stage_config import sample_options

    image_set = sample(ctx.input(MODEL), ctx.stage / SYNTHETIC, sample_options(ctx.config), progress=ctx.progress)
    settings = SampleProvenance.of(image_set).sampling
    return {"images": len(image_set), "by_class": image_set.info["counts"]["by_class"],
            "sampler": settings.sampler, "steps": settings.steps, "guidance": settings.guidance,
            "churn": settings.churn, "truncation": settings.truncation}


def _describe_sample(s: dict) -> str:
    classes = ", ".join(f"{k} {v}" for k, v in s["by_class"].items())
    if s.get("truncation") is not None:  # a GAN: one pass per image, no steps or guidance
        return f"{s['images']} images ({classes}); gan, truncation {s['truncation']}"
    churn = f", churn {s['churn']}" if s.get("churn") else ""
    return f"{s['images']} images ({classes}); {s['sampler']}, {s['steps']} steps, guidance {s['guidance']}{churn}"


# --- audit --------------------------------------------------------------------------------------

def _audit(ctx: StageContext) -> dict:
    from privacy.audit import audit, filtered_set

    c = ctx.config.audit
    try:
        options = c.options()
    except ValueError as err:
        raise SynthgenError(f"run config audit: {err}") from None
    out = ctx.stage / AUDIT
    document = audit(ctx.input(DATA), ctx.input(SYNTHETIC), out, holdout=c.holdout, filter=c.filter,
                     options=options, progress=ctx.progress)
    if c.filter:  # the filtered set is an image set of its own beside the others in the run folder
        os.replace(filtered_set(out), ctx.stage / FILTERED)
    counts = document.counts
    return {"flagged": counts.flagged, "synthetic": counts.synthetic, "kept": counts.synthetic - counts.flagged,
            "flagged_fraction": document.flagged_fraction,
            "holdout_flagged_fraction": document.holdout_flagged_fraction, "verdict": document.verdict,
            "filtered": c.filter}


def _describe_audit(s: dict) -> str:
    kept = f"; {s['kept']} kept in {FILTERED}/" if s["filtered"] else ""
    return (f"{s['flagged']} of {s['synthetic']} flagged ({s['flagged_fraction']:.1%}; held-out real "
            f"{s['holdout_flagged_fraction']:.1%}), verdict {s['verdict']}{kept}")


# --- validate -----------------------------------------------------------------------------------

def _validate(ctx: StageContext) -> dict:
    from validation.api import validate

    c = ctx.config.validate
    result = validate(ctx.input(DATA), ctx.input(DATA), ctx.input(synthetic_for_use(ctx.config)), ctx.stage / VALIDATION,
                      audit=ctx.input(AUDIT), external_tests=c.external_test, progress=ctx.progress, **c.arguments())
    ratio = result.metrics["utility"].get("tstr_trtr_auc_ratio") or {}
    two_sample = result.metrics["two_sample"]
    return {"tstr_trtr_auc_ratio": ratio.get("value"), "ci_low": ratio.get("low"), "ci_high": ratio.get("high"),
            "two_sample_auc": (two_sample["real_vs_synthetic"] or {}).get("auc", {}).get("value"),
            "two_sample_auc_real_vs_real": (two_sample["real_vs_real"] or {}).get("auc", {}).get("value"),
            "verdicts": {k: v["level"] for k, v in result.metrics["verdicts"].items()},
            "report": str(ctx.root / VALIDATION / result.report.name)}


def _external_validate(config: RunConfig) -> dict[str, Path]:
    """The external test sets, fingerprinted so that a changed set reruns validate."""
    from validation.data import external_test_spec, split_argument

    sets = {}
    for value in config.validate.external_test:
        name, where = external_test_spec(value)
        path = split_argument(where)[0]
        if not path.exists():
            raise SynthgenError(f"validate.external_test {value}: {path} does not exist; prepare the set with "
                                "`synthgen prepare` or remove it from the run config")
        sets[f"external_test:{name}"] = path
    return sets


def _describe_validate(s: dict) -> str:
    verdicts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["verdicts"].items())
    return f"TSTR/TRTR AUC ratio {_ratio_text(s)}; {verdicts}"


def _ratio_text(s: dict) -> str:
    if s.get("tstr_trtr_auc_ratio") is None:
        return "n/a"
    interval = f" [{s['ci_low']:.2f}–{s['ci_high']:.2f}]" if s.get("ci_low") is not None else ""
    return f"{s['tstr_trtr_auc_ratio']:.2f}{interval}"


# --- export -------------------------------------------------------------------------------------

def _export(ctx: StageContext) -> dict:
    from synthgen.export.api import export

    c = ctx.config.export
    source = ctx.input(synthetic_for_use(ctx.config))
    files, sent = {}, None
    for fmt in c.formats:
        result = export(source, ctx.stage / EXPORT / fmt, c.options(fmt, filtered_only=ctx.config.audit.filter),
                        progress=ctx.progress)
        files[fmt] = result.files
        if result.push is not None:
            sent = {"destination": str(result.push.destination), "instances": len(result.push.sent)}
    check = check_dicom(ctx.stage / EXPORT / "dicom", c.check_dicom) if "dicom" in c.formats else None
    return {"files": files, "dicom_check": check, "pacs": sent}


def _describe_export(s: dict) -> str:
    files = ", ".join(f"{n} {fmt}" for fmt, n in s["files"].items())
    pacs = f"; sent {s['pacs']['instances']} to {s['pacs']['destination']}" if s.get("pacs") else ""
    return f"{files} files; {dicom_check_text(s.get('dicom_check'))}{pacs}"


# --- the pipeline -------------------------------------------------------------------------------

def _external_prepare(config: RunConfig) -> dict[str, Path]:
    c = config.prepare
    if c.is_phantom:
        return {}
    return {"source": Path(c.source), **({"labels": Path(c.labels)} if c.labels else {})}


STAGES: tuple[Stage, ...] = (
    Stage("prepare", lambda c: (DATA,), lambda c: (), _external_prepare, _prepare, _describe_prepare),
    Stage("train", lambda c: (MODEL,), lambda c: (DATA,), lambda c: {}, _train, _describe_train, resumable=True),
    Stage("sample", lambda c: (SYNTHETIC,), lambda c: (MODEL,), lambda c: {}, _sample, _describe_sample),
    Stage("audit", lambda c: (AUDIT, FILTERED) if c.audit.filter else (AUDIT,), lambda c: (DATA, SYNTHETIC),
          lambda c: {"holdout": Path(c.audit.holdout)} if c.audit.holdout else {}, _audit, _describe_audit),
    Stage("validate", lambda c: (VALIDATION,), lambda c: (DATA, synthetic_for_use(c), AUDIT), _external_validate,
          _validate, _describe_validate),
    Stage("export", lambda c: (EXPORT,), lambda c: (synthetic_for_use(c),), lambda c: {}, _export, _describe_export),
)
ALL_OUTPUTS = (DATA, MODEL, SYNTHETIC, AUDIT, FILTERED, VALIDATION, EXPORT)
