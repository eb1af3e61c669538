"""audit.json documents for tests, built with privacy's own definition (no tests here).

`audit_document` gives an audit whose numbers the test chooses (verdict, flagged count); tests that
need the measured files of a real audit (pairs.csv, the montage) run `privacy.audit.audit` instead.
"""

from __future__ import annotations

from privacy.audit_document import AuditCounts, AuditDocument, AuditInput, SelfTest, SpaceResult
from synthgen.imageset import ImageSet

ATTACKS = {"distance_to_closest_record": {"auc": 0.503, "ci_low": 0.453, "ci_high": 0.556},
           "density_ratio": {"auc": 0.516, "ci_low": 0.468, "ci_high": 0.566}, "members": 120}


def space_result(threshold: float, flagged: int, synthetic: int, *, flags: bool = True,
                 membership: dict | None = None) -> SpaceResult:
    spread = {"p1": threshold / 2, "p50": threshold * 2, "p99": threshold * 4}
    return SpaceResult(flags=flags, threshold=threshold, scale=1.0, flagged=flagged, fraction_flagged=flagged / synthetic,
                       holdout_fraction_flagged=0.01, synthetic_distance=spread, holdout_distance=spread,
                       nearest_ratio={"p1": 0.5, "p50": 0.9, "p99": 1.0},
                       test={"mannwhitney_u_p_less": 0.5, "binomial_p_greater": 0.5},
                       search={"method": "exact", "recall_at_1": 1.0}, membership_inference=membership,
                       patient_linkage=None, description={"space": "test"})


def audit_document(train: ImageSet, synthetic: ImageSet, *, verdict: str = "pass", flagged: int = 0,
                   selftest_recall: float = 0.9967) -> AuditDocument:
    """What `synthgen audit` of `synthetic` against `train` writes, with the chosen verdict and flagged count."""
    n = len(synthetic)
    reasons = [] if verdict == "pass" else ["more synthetic images are flagged than the false-positive rate explains "
                                            "(binomial p = 0.001)"]
    return AuditDocument(
        fpr=0.01, verdict=verdict, verdict_reasons=reasons, verdict_rule="fail when more images are flagged than fpr explains",
        counts=AuditCounts(train=len(train), synthetic=n, flagged=flagged, kept=n - flagged, holdout=50, holdout_flagged=0),
        flagged_fraction=flagged / n, holdout_flagged_fraction=0.0, score_threshold=0.01,
        calibration={"method": "patient bootstrap lower bound of the fpr quantile", "threshold": 0.01},
        union_test={"mannwhitney_u_p_less": 0.5, "binomial_p_greater": 0.5},
        selftest=SelfTest(copies=300, flagged=round(300 * selftest_recall), recall=selftest_recall, floor=0.99,
                          met=selftest_recall >= 0.99, recall_by_space={"pixels": 0.5, "encoder": selftest_recall},
                          nearest_is_source_by_space={"pixels": 1.0, "encoder": 1.0}, alteration={"max_shift": "0.02"}),
        spaces={"pixels": space_result(0.125, 0, n, flags=False),
                "encoder": space_result(0.31, flagged, n, membership=ATTACKS)},
        inputs={role: AuditInput(name=s.name, manifest_sha256=s.manifest_sha256, images=len(s), image_size=s.image_size)
                for role, s in (("train", train), ("synthetic", synthetic), ("holdout", train))},
        audit_image_size=min(train.image_size, synthetic.image_size),
    )
