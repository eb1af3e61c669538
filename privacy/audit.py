"""`synthgen audit`: check every synthetic image against every training image, in several spaces.

    from privacy import audit
    summary = audit("runs/nih64", "runs/samples", "runs/audit", fpr=0.01, filter=True)

Training images are the `train` split of `train`; held-out real images are the whole `holdout`
set or, without one, the `val` and `test` splits of `train` (never trained on). Spaces: normalized
pixels, a contrastive encoder trained here on the training images (patients as positives),
optionally a user TorchScript encoder, and registered pixels (each image aligned with the nearest
candidates of the other spaces). Writes into `out` (staged, renamed at the end):

    audit.json           thresholds, flagged fractions, distance percentiles, tests, verdict
    pairs.csv            every synthetic image: nearest training image per space, distances, flag
    closest_pairs.png    the closest synthetic/training pairs side by side
    encoder/             the trained encoder (weights.pt + config.json)
    filtered/            with filter=True: the unflagged images as an image set (see privacy/filter.py)
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from privacy import calibrate
from privacy.audit_document import AuditDocument
from privacy.compare import Comparison, compare_images
from privacy.defaults import FPR, MEMBERSHIP_AUC_LIMIT, SELFTEST_COPIES, SELFTEST_FLOOR
from privacy.embed_pixels import DEFAULT_SIDE, PixelSpace
from privacy.encoder import EncoderConfig, EncoderSpace, train_encoder
from privacy.images import AuditImages
from privacy.planted import selftest_copies
from privacy.registered import RegisteredConfig, RegisteredSpace
from privacy.report import summary, write_report
from privacy.search import SearchOptions
from synthgen.atomic import check_output_folder, staged_folder
from synthgen.errors import SynthgenError
from synthgen.imageset import MANIFEST_FILE, ImageSet
from synthgen.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditOptions:
    """Everything the audit engine takes; users set the parts in privacy.settings.AuditSettings."""

    fpr: float = FPR
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    torchscript: Path | None = None  # a user encoder (TorchScript file)
    search: SearchOptions = field(default_factory=SearchOptions)
    pixel_side: int = DEFAULT_SIDE
    registered: RegisteredConfig | None = field(default_factory=RegisteredConfig)  # None: no alignment check
    selftest_copies: int = SELFTEST_COPIES  # planted copies of training images scored in every audit (0: none)
    selftest_floor: float = SELFTEST_FLOOR  # the verdict fails when the self-test flags fewer of them
    membership_auc_limit: float = MEMBERSHIP_AUC_LIMIT  # the verdict fails when an attack's AUC is surely above

    def __post_init__(self) -> None:
        if not isinstance(self.selftest_copies, int) or isinstance(self.selftest_copies, bool) or self.selftest_copies < 0:
            raise ValueError(f"selftest_copies must be a non-negative integer, got {self.selftest_copies!r}")
        if not 0.0 <= self.selftest_floor <= 1.0:
            raise ValueError(f"selftest_floor must be in [0, 1], got {self.selftest_floor!r}")
        if not 0.5 <= self.membership_auc_limit <= 1.0:
            raise ValueError(f"membership_auc_limit must be in [0.5, 1], got {self.membership_auc_limit!r}")


def audit(
    train: Path | str,
    synthetic: Path | str,
    out: Path | str,
    holdout: Path | str | None = None,
    fpr: float | None = None,
    filter: bool = False,
    overwrite: bool = False,
    options: AuditOptions | None = None,
    progress: bool = False,
) -> AuditDocument:
    """Audit the image set `synthetic` against the training split of `train`; returns audit.json's document.
    `fpr` (default: that of `options`) calibrates the thresholds; with `filter`, the unflagged images
    are written as an image set at `filtered_set(out)`."""
    options = options or AuditOptions()
    fpr = calibrate.check_fpr(options.fpr if fpr is None else fpr)
    options = replace(options, fpr=fpr)
    out = Path(out)
    check_output_folder(out, overwrite)
    train_set, synthetic_set = ImageSet.open(train), _open_nonempty(Path(synthetic), "--synthetic")
    train_images = AuditImages.from_image_set(train_set, train_set.indices("train"))
    if holdout is not None:
        holdout_set = _open_nonempty(Path(holdout), "--holdout")
        holdout_images = AuditImages.from_image_set(holdout_set, holdout_set.indices())
        holdout_name = f"--holdout {holdout}"
    else:
        held = np.concatenate([train_set.indices("val"), train_set.indices("test")])
        holdout_images = AuditImages.from_image_set(train_set, held)
        holdout_name = f"the val and test splits of {train}"
    synthetic_images = AuditImages.from_image_set(synthetic_set, synthetic_set.indices())

    with staged_folder(out, overwrite) as stage:
        comparison, space_files = run_audit(train_images, synthetic_images, holdout_images, options, stage,
                                            holdout_name=holdout_name, progress=progress)
        document = summary(comparison, train_images, synthetic_images, holdout_images, fpr, options.selftest_floor,
                           options.membership_auc_limit)
        encoded = write_report(stage, document, comparison, train_images, synthetic_images)
        if filter:
            from privacy.filter import write_filtered

            write_filtered(synthetic_set, comparison.flagged, filtered_set(stage),
                           audit_findings(document, encoded, space_files))
    log.info("audit: %d of %d synthetic images flagged (verdict %s) -> %s",
             document.counts.flagged, len(synthetic_images), document.verdict, out)
    return document


def filtered_set(out: Path | str) -> Path:
    """Where `audit(..., out, filter=True)` writes the unflagged images (an image set) inside `out`."""
    from privacy.filter import FILTERED_DIR

    return Path(out) / FILTERED_DIR


def run_audit(
    train: AuditImages,
    synthetic: AuditImages,
    holdout: AuditImages,
    options: AuditOptions,
    folder: Path | None = None,
    *,
    holdout_name: str = "the holdout",
    progress: bool = False,
) -> tuple[Comparison, dict[str, str]]:
    """Check inputs, train the encoder, compare. Saves the encoder into `folder/encoder` if given;
    returns the comparison and {file role: sha256} of what it saved."""
    fpr = calibrate.check_fpr(options.fpr)
    if not len(synthetic):
        raise SynthgenError(f"synthetic set {synthetic.name} has no images: nothing to audit")
    calibrate.check_sizes(len(train), len(holdout), fpr, holdout_name)
    check_no_overlap(train, holdout, holdout_name)
    common_size(train, synthetic, holdout)

    spaces: list = [PixelSpace(options.pixel_side)]
    start = time.perf_counter()
    with progress_bar(options.encoder.steps, "audit: training encoder", unit="steps", enabled=progress) as step:
        model = train_encoder(train, options.encoder, on_step=step)
    training_seconds = time.perf_counter() - start
    encoder = EncoderSpace(model, options.encoder)
    spaces.append(encoder)
    saved: dict[str, str] = {}
    if folder is not None:
        weights = encoder.save(folder / "encoder")
        saved["encoder_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    if options.torchscript is not None:
        from privacy.torchscript_encoder import TorchScriptSpace

        spaces.append(TorchScriptSpace(options.torchscript))
    registered = RegisteredSpace(options.registered) if options.registered is not None else None
    planted, sources = selftest_copies(train, options.selftest_copies, options.encoder.seed)
    queries = len(synthetic) + len(holdout) + (len(planted) if planted is not None else 0)
    total = len(spaces) * (len(train) + queries) + (queries if registered is not None else 0)
    with progress_bar(total, "audit: embedding and aligning", unit="images", enabled=progress) as advance:
        comparison = compare_images(train, synthetic, holdout, spaces, fpr, options.search, advance,
                                    registered=registered, seed=options.encoder.seed, planted=planted)
    comparison.planted_sources = sources
    comparison.seconds = {"encoder_training": training_seconds, **comparison.seconds}
    return comparison, saved


def check_no_overlap(train: AuditImages, holdout: AuditImages, holdout_name: str) -> None:
    """Held-out images must be new to training: no shared image (sha256) and no shared patient."""
    shared = set(train.sha256) & set(holdout.sha256)
    if shared:
        raise SynthgenError(
            f"{holdout_name} shares {len(shared)} image(s) with the training split (same sha256); "
            "held-out images must never have been trained on: pass a disjoint --holdout or prepare with --dedupe"
        )
    patients = set(train.patient_ids) & set(holdout.patient_ids)
    if patients:
        example = sorted(patients)[0]
        raise SynthgenError(
            f"{holdout_name} shares {len(patients)} patient(s) with the training split (e.g. {example}); "
            "held-out images must come from other patients: use patient-level splits (synthgen prepare)"
        )


def common_size(*groups: AuditImages) -> int:
    """Resample every group to the smallest image size among them (with a warning if they differ)."""
    sizes = {group.native_size for group in groups}
    size = min(sizes)
    if len(sizes) > 1:
        log.warning("image sizes differ (%s): resampling all images to %d² for the audit",
                    ", ".join(f"{g.name} {g.native_size}²" for g in groups), size)
    for group in groups:
        group.size = size
    return size


def audit_findings(document: AuditDocument, encoded: bytes, saved: dict[str, str]) -> dict:
    """What the filtered set's provenance keeps of the audit: the fields of privacy.filter.AuditRecord
    that the audit knows (the filter adds what it removed)."""
    return {
        "fpr": document.fpr,
        "verdict": document.verdict,
        "thresholds": {name: space.threshold for name, space in document.spaces.items()},
        "score_threshold": document.score_threshold,
        "counts": document.counts,
        "selftest_recall": document.selftest.recall if document.selftest is not None else None,
        "inputs": document.inputs,
        "audit_json_sha256": hashlib.sha256(encoded).hexdigest(),
        "encoder_sha256": saved["encoder_sha256"],
    }


def _open_nonempty(path: Path, option: str) -> ImageSet:
    manifest = path / MANIFEST_FILE
    if manifest.is_file() and len(manifest.read_text(encoding="utf-8").strip().splitlines()) <= 1:
        raise SynthgenError(f"{option} set {path} has no images ({manifest} has no rows): nothing to audit")
    return ImageSet.open(path)
