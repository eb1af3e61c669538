"""What an audit writes: audit.json (the summary, defined in privacy/audit_document.py), pairs.csv
(every synthetic image) and a montage of the closest pairs.

audit.json holds only what the inputs and the seed determine, so the same audit gives the same bytes
(its sha256 goes into every exported DICOM file). Wall-clock numbers go to timings.json:
`embeddings_per_second` per space and `seconds` per stage (encoder training, each space's
embedding, search, membership and linkage, the registered alignment).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from privacy import calibrate
from privacy.audit_document import (
    AUDIT_FILE,
    MONTAGE_FILE,
    PAIRS_FILE,
    PAIRS_SCORE_COLUMN,
    AuditCounts,
    AuditDocument,
    AuditInput,
    ClassFlags,
    SelfTest,
    SpaceResult,
)
from privacy.compare import Comparison
from privacy.images import AuditImages
from privacy.defaults import MEMBERSHIP_AUC_LIMIT, SELFTEST_FLOOR
from privacy.planted import Alteration

MONTAGE_PAIRS = 16
MONTAGE_TILE = 96


def summary(comparison: Comparison, train: AuditImages, synthetic: AuditImages, holdout: AuditImages,
            fpr: float, selftest_floor: float = SELFTEST_FLOOR,
            membership_auc_limit: float = MEMBERSHIP_AUC_LIMIT) -> AuditDocument:
    n, n_flagged = len(synthetic), int(comparison.flagged.sum())
    union = calibrate.compare(comparison.score, comparison.holdout_score, n_flagged, fpr)
    spaces = {}
    for space in comparison.spaces:
        n_space = int(space.flagged.sum())
        test = calibrate.compare(space.distance, space.holdout_distance, n_space, fpr)
        spaces[space.name] = SpaceResult(
            flags=bool(space.flags),
            threshold=float(space.threshold),
            scale=float(space.scale),
            flagged=n_space,
            fraction_flagged=n_space / n,
            holdout_fraction_flagged=float(np.mean(space.holdout_distance < space.threshold)),
            synthetic_distance=calibrate.percentiles(space.distance),
            holdout_distance=calibrate.percentiles(space.holdout_distance),
            nearest_ratio=calibrate.percentiles(space.ratio),
            test=test.as_dict(),
            search={"method": space.search_method, "recall_at_1": space.recall_at_1},
            membership_inference=space.membership,
            patient_linkage=space.linkage,
            description=space.description,
        )
    selftest = selftest_summary(comparison, selftest_floor)
    reasons = verdict_reasons(union.binomial_p, selftest, spaces, membership_auc_limit)
    return AuditDocument(
        fpr=fpr,
        verdict="fail" if reasons else "pass",
        verdict_reasons=reasons,
        verdict_rule=(
            f"fail when more synthetic images are flagged than fpr explains (binomial p < {calibrate.SIGNIFICANCE}), "
            f"when the built-in self-test flags fewer than {selftest_floor:g} of its planted copies, or when a "
            f"membership-inference attack's AUC is above {membership_auc_limit:g} with 95 % confidence"
        ),
        counts=AuditCounts(
            train=len(train),
            synthetic=n,
            flagged=n_flagged,
            kept=n - n_flagged,
            holdout=len(holdout),
            holdout_flagged=int(comparison.holdout_flagged.sum()),
        ),
        flagged_fraction=n_flagged / n,
        holdout_flagged_fraction=float(comparison.holdout_flagged.mean()),
        score_threshold=float(comparison.score_threshold),
        calibration=comparison.calibration,
        union_test=union.as_dict(),
        selftest=selftest,
        spaces=spaces,
        inputs={
            role: AuditInput(name=group.name, manifest_sha256=group.manifest_sha256, images=len(group),
                             image_size=group.native_size)
            for role, group in (("train", train), ("synthetic", synthetic), ("holdout", holdout))
        },
        audit_image_size=train.size,
        by_class=flags_by_class(comparison, synthetic, holdout),
    )


def flags_by_class(comparison: Comparison, synthetic: AuditImages, holdout: AuditImages) -> dict[str, ClassFlags] | None:
    """Flagged counts per class label of the synthetic images, beside the held-out images of that class
    (0 of 0 when the held-out side has no labels)."""
    labels, held = synthetic.labels(), holdout.labels()
    if labels is None:
        return None
    flagged, holdout_flagged = np.asarray(comparison.flagged, bool), np.asarray(comparison.holdout_flagged, bool)
    result = {}
    present = set(labels)
    for name in [c for c in synthetic.image_set.classes if c in present]:
        mine = labels == name
        theirs = held == name if held is not None else np.zeros(len(holdout), bool)
        result[name] = ClassFlags(synthetic=int(mine.sum()), flagged=int(flagged[mine].sum()),
                                  holdout=int(theirs.sum()), holdout_flagged=int(holdout_flagged[theirs].sum()))
    return result


def selftest_summary(comparison: Comparison, floor: float) -> SelfTest | None:
    """The built-in self-test: how many planted copies of training images the audit flagged."""
    copies = len(comparison.planted_flagged)
    if not copies:
        return None
    recall = float(comparison.planted_flagged.mean())
    by_space = {space.name: float(np.mean(space.planted_distance < space.threshold)) for space in comparison.spaces}
    # Whether each space's nearest training image is the copy's own source (the registered space's
    # candidates come from the other spaces, so this is also how often they held the source).
    source = comparison.planted_sources
    nearest = {space.name: float(np.mean(space.planted_nearest == source)) for space in comparison.spaces
               if len(source) == len(space.planted_nearest)}
    return SelfTest(
        copies=copies,
        flagged=int(comparison.planted_flagged.sum()),
        recall=recall,
        floor=floor,
        met=recall >= floor,
        recall_by_space=by_space,
        nearest_is_source_by_space=nearest,
        alteration={**asdict(Alteration()), "max_shift": f"{Alteration().max_shift:g} of the side"},
    )


def verdict_reasons(binomial_p: float, selftest: SelfTest | None, spaces: dict[str, SpaceResult],
                    auc_limit: float) -> list[str]:
    """Why the audit fails, one sentence each; empty when it passes."""
    reasons = []
    if binomial_p < calibrate.SIGNIFICANCE:
        reasons.append(f"more synthetic images are flagged than the false-positive rate explains (binomial p = {binomial_p:.2g})")
    if selftest is not None and not selftest.met:
        reasons.append(f"the self-test flagged {selftest.recall:.3f} of {selftest.copies} planted copies of training "
                       f"images, below the floor {selftest.floor:g}: this audit cannot vouch for this data")
    for name, space in spaces.items():
        for attack, value in (space.membership_inference or {}).items():
            if isinstance(value, dict) and value["ci_low"] > auc_limit:
                reasons.append(f"membership inference ({attack}, {name} space) reaches AUC {value['auc']:.3f} "
                               f"(95 % CI {value['ci_low']:.3f}-{value['ci_high']:.3f}), above {auc_limit:g}")
    return reasons


def pairs_csv(comparison: Comparison, train: AuditImages, synthetic: AuditImages) -> bytes:
    """One row per synthetic image: flagged, score, and per space its nearest training image."""
    columns = ["image_id", "flagged", PAIRS_SCORE_COLUMN]
    for space in comparison.spaces:
        columns += [f"{space.name}_{c}" for c in ("train_image_id", "train_patient_id", "distance", "ratio", "flagged")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for i in range(len(synthetic)):
        row = [synthetic.image_ids[i], int(comparison.flagged[i]), f"{comparison.score[i]:.6f}"]
        for space in comparison.spaces:
            j = space.nearest[i]
            row += [train.image_ids[j], train.patient_ids[j], f"{space.distance[i]:.6f}",
                    "" if np.isnan(space.ratio[i]) else f"{space.ratio[i]:.6f}", int(space.flagged[i])]
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def montage_png(comparison: Comparison, train: AuditImages, synthetic: AuditImages, pairs: int = MONTAGE_PAIRS) -> bytes:
    """The closest pairs (lowest score): synthetic image beside its nearest training image."""
    order = np.argsort(comparison.score, kind="stable")[:pairs]
    tile, label = MONTAGE_TILE, 14
    rows = max(1, (len(order) + 1) // 2)
    sheet = Image.new("L", (2 * tile * 2 + 8, (tile + label) * rows), 255)
    draw = ImageDraw.Draw(sheet)
    for slot, i in enumerate(order):
        space = min(comparison.spaces, key=lambda s: s.share[i])  # the space that found it
        j = space.nearest[i]
        x0 = (slot % 2) * (2 * tile + 8)
        y0 = (slot // 2) * (tile + label)
        for k, image in enumerate((synthetic.load([i])[0], train.load([j])[0])):
            grey = Image.fromarray(np.clip(np.round(image * 255), 0, 255).astype(np.uint8))
            sheet.paste(grey.resize((tile, tile), Image.Resampling.NEAREST), (x0 + k * tile, y0 + label))
        mark = "FLAG " if comparison.flagged[i] else ""
        draw.text((x0 + 2, y0 + 1), f"{mark}{synthetic.image_ids[i]}~{train.image_ids[j]} {space.name}", fill=0)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def write_report(folder: Path, document: AuditDocument, comparison: Comparison, train: AuditImages,
                 synthetic: AuditImages) -> bytes:
    """audit.json, pairs.csv and closest_pairs.png into `folder` (a staging folder); returns audit.json's bytes."""
    encoded = document.write(folder / AUDIT_FILE)
    timings = {"embeddings_per_second": comparison.embeddings_per_second, "seconds": comparison.seconds}
    (folder / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    (folder / PAIRS_FILE).write_bytes(pairs_csv(comparison, train, synthetic))
    (folder / MONTAGE_FILE).write_bytes(montage_png(comparison, train, synthetic))
    return encoded
