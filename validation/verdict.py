"""The verdicts at the top of the report: realism, utility, label fidelity, privacy.

Each is a level (good / moderate / low / inconclusive / not assessed) plus one sentence with the
number it rests on. The thresholds are conventions, written here once and copied into
metrics.json so a reader can apply their own.
"""

from __future__ import annotations

THRESHOLDS = {
    # TSTR/TRTR and TRTS/TRTR macro ROC-AUC ratios
    "auc_ratio_good": 0.95,
    "auc_ratio_moderate": 0.85,
    # FD(synthetic, real train) / upper 95 % bound of FD(real test, real train): <= 1 = as close as real
    "fd_ratio_good": 1.5,
    "fd_ratio_moderate": 3.0,
    # below this TRTR AUC the real task itself is too hard for the ratios to mean much
    "trtr_auc_min": 0.6,
}


def _ratio_level(ratio: float) -> str:
    if ratio >= THRESHOLDS["auc_ratio_good"]:
        return "good"
    return "moderate" if ratio >= THRESHOLDS["auc_ratio_moderate"] else "low"


def _ci(estimate: dict, digits: int = 2) -> str:
    if estimate.get("low") is None:
        return f"{estimate['value']:.{digits}f}"
    return f"{estimate['value']:.{digits}f} (95 % CI {estimate['low']:.{digits}f}–{estimate['high']:.{digits}f})"


def utility_verdict(utility: dict) -> dict:
    trtr = utility["regimes"]["TRTR"]["metrics"]["auc_macro"]
    tstr = utility["regimes"]["TSTR"]["metrics"]["auc_macro"]
    ratio = utility["tstr_trtr_auc_ratio"]
    if trtr["value"] < THRESHOLDS["trtr_auc_min"]:
        return {"level": "inconclusive",
                "text": f"the classifier trained on real images reaches only AUC {_ci(trtr)}: "
                        "the real task is too hard to judge the synthetic set by"}
    level = _ratio_level(ratio["value"])
    meaning = {"good": "as useful for training as real images",
               "moderate": "useful, but a model trained on it loses accuracy",
               "low": "LOW UTILITY: a model trained on it does much worse than one trained on real images"}[level]
    return {"level": level,
            "text": f"TSTR/TRTR AUC ratio {_ci(ratio)} (TSTR AUC {tstr['value']:.3f}, TRTR {trtr['value']:.3f}): "
                    f"{meaning}"}


def label_fidelity_verdict(utility: dict) -> dict:
    ratio = utility["trts_trtr_auc_ratio"]
    trts = utility["regimes"]["TRTS"]["metrics"]["auc_macro"]
    if utility["regimes"]["TRTR"]["metrics"]["auc_macro"]["value"] < THRESHOLDS["trtr_auc_min"]:
        return {"level": "inconclusive", "text": "the real-trained classifier is too weak to check synthetic labels"}
    level = _ratio_level(ratio["value"])
    meaning = {"good": "a classifier trained on real images recognises the synthetic labels",
               "moderate": "synthetic labels are recognised less reliably than real ones",
               "low": "LOW LABEL FIDELITY: the synthetic images do not show the classes they are labelled with"}[level]
    return {"level": level,
            "text": f"TRTS/TRTR AUC ratio {_ci(ratio)} (TRTS AUC {trts['value']:.3f}): {meaning}"}


def realism_verdict(realism: dict) -> dict:
    """FD of the synthetic set over the upper end of the real-vs-real FD interval: two real samples
    differ by chance, and a synthetic set within that range is as close as real data can show."""
    synthetic, reference = realism["synthetic"]["fd"], realism["real_test"]["fd"]
    ratio = synthetic["value"] / max(reference["high"] or reference["value"], 1e-12)
    level = ("good" if ratio <= THRESHOLDS["fd_ratio_good"]
             else "moderate" if ratio <= THRESHOLDS["fd_ratio_moderate"] else "low")
    meaning = {"good": "about as close to the real training images as other real images are",
               "moderate": "noticeably further from real images than another real sample",
               "low": "LOW REALISM: far from the real images in the encoder's feature space"}[level]
    precision, coverage = realism["synthetic"]["precision"], realism["synthetic"]["coverage"]
    return {"level": level, "fd_ratio": round(ratio, 4),
            "text": f"FD {synthetic['value']:.3g} vs real-vs-real {reference['value']:.3g} (upper 95 % bound "
                    f"{reference['high'] or reference['value']:.3g}; ratio {ratio:.2f}); "
                    f"precision {precision['value']:.2f}, coverage {coverage['value']:.2f}: {meaning}"}


def privacy_verdict(audit: dict | None) -> dict:
    if audit is None:
        return {"level": "not assessed",
                "text": "no privacy audit given: run `synthgen audit` and pass its folder with --audit"}
    parts = []
    if audit.get("verdict"):
        parts.append(f"audit verdict: {audit['verdict']}")
    if audit.get("fraction_flagged") is not None:
        parts.append(f"{audit['fraction_flagged'] * 100:.2f} % of synthetic images flagged as near-copies")
    return {"level": audit["level"], "text": "; ".join(parts) or "the audit gives no verdict or flagged fraction"}


def verdicts(utility: dict, realism: dict, audit: dict | None) -> dict:
    return {
        "realism": realism_verdict(realism),
        "utility": utility_verdict(utility),
        "label_fidelity": label_fidelity_verdict(utility),
        "privacy": privacy_verdict(audit),
    }
