"""Membership inference and patient linkage of trained models' samples, beside the real-vs-real reference.

    nice -n 10 OMP_NUM_THREADS=1 .venv/bin/python bench/audit_membership.py DATA NAME=SYNTHETIC_SET [...] \
        [--encoder-steps 400] [--json out.json]

DATA is the image set a model was trained on (its `train` split). Each audit calibrates on DATA's
`val` split. The reference row audits DATA's `test` split (real images of other patients, never
trained on) as if it were synthetic: what an attacker gets from a "generator" that only knows the
distribution. Prints per space the AUC (95 % CI) of both attacks, the linked shares and the audit's
flags and self-test recall.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def audit_groups(data: Path, synthetic: Path | None, steps: int) -> dict:
    from privacy.audit import AuditOptions, run_audit
    from privacy.encoder import EncoderConfig
    from privacy.images import AuditImages
    from privacy.report import summary
    from synthgen.imageset import ImageSet

    real = ImageSet.open(data)
    train = AuditImages.from_image_set(real, real.indices("train"))
    holdout = AuditImages.from_image_set(real, real.indices("val"))
    if synthetic is None:
        queries = AuditImages.from_image_set(real, real.indices("test"))
    else:
        generated = ImageSet.open(synthetic)
        queries = AuditImages.from_image_set(generated, generated.indices())
    options = AuditOptions(encoder=EncoderConfig(steps=steps))
    comparison, _ = run_audit(train, queries, holdout, options)
    return summary(comparison, train, queries, holdout, options.fpr)


def rows(name: str, document) -> list[str]:
    out = []
    for space, values in document.spaces.items():
        attacks, linkage = values.membership_inference, values.patient_linkage
        if not attacks:
            continue
        cells = [f"{a['auc']:.3f} ({a['ci_low']:.3f}–{a['ci_high']:.3f})"
                 for a in (attacks["distance_to_closest_record"], attacks["density_ratio"])]
        out.append(f"| {name} | {space} | {cells[0]} | {cells[1]} | {linkage['linked_fraction']:.3f} "
                   f"({linkage['holdout_linked_fraction']:.3f}) | {document.flagged_fraction:.3f} "
                   f"| {document.selftest.recall:.3f} | {document.verdict} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("synthetic", nargs="*", help="NAME=SYNTHETIC_IMAGE_SET")
    parser.add_argument("--encoder-steps", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("| synthetic side | space | DCR attack AUC (95 % CI) | density-ratio attack AUC (95 % CI) "
          "| linked (held-out) | flagged | self-test recall | verdict |")
    print("|---|---|---|---|---:|---:|---:|---|")
    documents = {}
    for spec in ["real test split (reference)="] + args.synthetic:
        name, _, folder = spec.partition("=")
        documents[name] = audit_groups(args.data, Path(folder) if folder else None, args.encoder_steps)
        print("\n".join(rows(name, documents[name])), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(documents, indent=2) + "\n")


if __name__ == "__main__":
    main()
