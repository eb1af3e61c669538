"""`synthgen audit --selftest`: proof that the audit finds copies, on a set you name or the phantom.

From one real image set (patient-level splits):
  - training side: its `train` split, minus one withheld image of up to `max_probes` patients
    that have several ("re-identification probes");
  - held-out side (calibration): its `val` split;
  - synthetic side: planted copies of `planted` training images (privacy/planted.py), the `test`
    split (independent real images: an out-of-sample false-positive rate) and the probes.
Then the audit runs as usual and `selftest.json` reports: share of planted copies flagged, share of
independent and held-out images flagged, and how often a probe's nearest training image belongs to
its own patient in each space (re-identification rate) and how often probes are flagged.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from privacy import calibrate
from privacy.audit import AuditOptions, run_audit
from privacy.audit_document import AuditDocument
from privacy.compare import reidentified
from privacy.images import AuditImages
from privacy.planted import planted_copies
from privacy.report import summary, write_report
from synthgen.atomic import check_output_folder, staged_folder
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet

log = logging.getLogger(__name__)

PHANTOM_IMAGES = 1200
TARGET_PLANTED = 0.99


def selftest(
    out: Path | str,
    train: Path | str | None = None,
    planted: int = 500,
    max_probes: int = 200,
    seed: int = 0,
    overwrite: bool = False,
    options: AuditOptions | None = None,
    progress: bool = False,
) -> dict:
    """Run the planted-copy and re-identification experiment; returns selftest.json."""
    options = options or AuditOptions()
    calibrate.check_fpr(options.fpr)
    out = Path(out)
    check_output_folder(out, overwrite)
    with tempfile.TemporaryDirectory(prefix="synthgen-selftest-") as scratch:
        if train is None:
            from synthgen.chest_phantom import phantom

            train = Path(scratch) / "phantom"
            phantom(train, n=PHANTOM_IMAGES, size=64, seed=seed, val_fraction=0.2, test_fraction=0.2)
        image_set = ImageSet.open(train)
        groups = experiment_groups(image_set, planted, max_probes, seed)
        with staged_folder(out, overwrite) as stage:
            comparison, _ = run_audit(groups["train"], groups["synthetic"], groups["holdout"], options, stage,
                                      holdout_name=f"the val split of {train}", progress=progress)
            document = summary(comparison, groups["train"], groups["synthetic"], groups["holdout"], options.fpr,
                               options.selftest_floor, options.membership_auc_limit)
            write_report(stage, document, comparison, groups["train"], groups["synthetic"])
            result = results(comparison, groups, document, options.fpr, image_set)
            (stage / "selftest.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def experiment_groups(image_set: ImageSet, planted: int, max_probes: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, 7])
    train_rows = image_set.indices("train")
    patients = image_set.patient_ids()
    by_patient: dict[str, list[int]] = {}
    for i in train_rows:
        by_patient.setdefault(patients[i], []).append(int(i))
    several = sorted(p for p, rows in by_patient.items() if len(rows) > 1)
    probe_patients = rng.permutation(several)[:max_probes]
    probes = np.sort([rng.choice(by_patient[p]) for p in probe_patients]).astype(np.int64)
    training_rows = np.setdiff1d(train_rows, probes)
    test_rows = image_set.indices("test")
    if not len(test_rows):
        raise SynthgenError(f"{image_set.root} has no test split: the self-test needs one for independent images")
    train = AuditImages.from_image_set(image_set, training_rows)
    n_planted = min(planted, len(train))
    if n_planted < 1:
        raise SynthgenError(f"--planted must be at least 1, got {planted}")
    sources = np.sort(rng.choice(len(train), size=n_planted, replace=False))
    copies = planted_copies(train.load(sources), seed=seed)
    independent = image_set.load_pixels(test_rows)
    probe_pixels = image_set.load_pixels(probes) if len(probes) else np.zeros((0,) + copies.shape[1:], np.float32)
    if copies.shape[1:] != independent.shape[1:]:
        raise SynthgenError("planted copies and images differ in size")  # cannot happen within one set
    pixels = np.concatenate([copies, independent, probe_pixels])
    roles = np.array(["planted"] * n_planted + ["independent"] * len(test_rows) + ["probe"] * len(probes))
    ids = [f"planted-{train.image_ids[s]}" for s in sources] + [image_set.rows[i]["image_id"] for i in test_rows]
    ids += [image_set.rows[i]["image_id"] for i in probes]
    owners = list(train.patient_ids[sources]) + [patients[i] for i in test_rows] + [patients[i] for i in probes]
    synthetic = AuditImages.from_arrays("selftest-synthetic", pixels, ids, owners)
    holdout = AuditImages.from_image_set(image_set, image_set.indices("val"))
    return {"train": train, "synthetic": synthetic, "holdout": holdout, "roles": roles, "sources": sources}


def results(comparison, groups: dict, document: AuditDocument, fpr: float, image_set: ImageSet) -> dict:
    roles, synthetic, train = groups["roles"], groups["synthetic"], groups["train"]
    planted, independent, probes = roles == "planted", roles == "independent", roles == "probe"
    spaces = {}
    for space in comparison.spaces:
        linked = reidentified(space, synthetic, train)
        spaces[space.name] = {
            "planted_flagged": _share(space.flagged[planted]),
            "planted_nearest_is_source": _share(space.nearest[planted] == groups["sources"]),
            "independent_flagged": _share(space.flagged[independent]),
            "probe_reidentified": _share(linked[probes]),
            "probe_flagged": _share(space.flagged[probes]),
        }
    planted_rate = _share(comparison.flagged[planted])
    independent_rate = _share(comparison.flagged[independent])
    return {
        "image_set": str(image_set.root),
        "fpr": fpr,
        "counts": {"train": len(train), "holdout": document.counts.holdout, "planted": int(planted.sum()),
                   "independent": int(independent.sum()), "probes": int(probes.sum())},
        "planted_flagged": planted_rate,
        "holdout_flagged": document.holdout_flagged_fraction,
        "independent_flagged": independent_rate,
        # Images of one patient are flagged together or not at all, so also count patients.
        "independent_patients_flagged": _patient_share(comparison.flagged[independent], synthetic.patient_ids[independent]),
        "independent_patients": int(len(set(synthetic.patient_ids[independent]))),
        "probe_flagged": _share(comparison.flagged[probes]),
        "target": {"planted_flagged_at_least": TARGET_PLANTED, "real_flagged_at_most": fpr,
                   "met": bool(planted_rate >= TARGET_PLANTED and document.holdout_flagged_fraction <= fpr)},
        "spaces": spaces,
    }


def _patient_share(flagged: np.ndarray, patients: np.ndarray) -> float | None:
    """Share of patients with at least one flagged image."""
    if not len(flagged):
        return None
    owners = np.asarray(patients, dtype=str)
    return float(np.mean([flagged[owners == p].any() for p in np.unique(owners)]))


def _share(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None
