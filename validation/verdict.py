"""The verdicts at the top of the report: realism, diversity, utility, label fidelity, privacy.

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
    # held-out ROC-AUC of the real-vs-synthetic two-sample CNN (real vs real is about 0.5): good at
    # or below this value or the upper 95 % bound of real vs real, whichever is higher ...
    "two_sample_auc_good": 0.6,
    # ... and LOW REALISM above this value (issue 12's target for a realistic set)
    "two_sample_auc_low": 0.75,
    # mean within-class MS-SSIM of synthetic pairs over that of real training pairs, worst class: good at
    # or below this (diffusion models sit at 0.85-0.92, as varied as real or more) ...
    "diversity_ratio_good": 1.05,
    # ... and LOW DIVERSITY (mode collapse) above this (a GAN with near-identical images per class: 1.23)
    "diversity_ratio_low": 1.2,
}
LEVELS = ("good", "moderate", "low")
# The report's verdict cards, in order: metrics.json key and title.
VERDICTS = (("realism", "Realism"), ("diversity", "Diversity (within class)"), ("utility", "Utility (TSTR/TRTR)"),
            ("label_fidelity", "Label fidelity (TRTS)"), ("privacy", "Privacy"))


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


def two_sample_level(two_sample: dict | None) -> str | None:
    """good / moderate / low from the two-sample AUC against the real-vs-real reference; None when
    the test was skipped."""
    if not two_sample or not two_sample.get("real_vs_synthetic"):
        return None
    auc, reference = two_sample["real_vs_synthetic"]["auc"], two_sample["real_vs_real"]["auc"]
    if auc["value"] > THRESHOLDS["two_sample_auc_low"]:
        return "low"
    good_up_to = max(THRESHOLDS["two_sample_auc_good"], reference["high"] or reference["value"])
    return "good" if auc["value"] <= good_up_to else "moderate"


def realism_verdict(realism: dict, two_sample: dict | None = None, high_frequency: dict | None = None) -> dict:
    """The worse of two judgements. FD of the synthetic set over the upper end of the real-vs-real
    FD interval (two real samples differ by chance, and a synthetic set within that range is as
    close as real data can show), and the two-sample CNN's AUC (see two_sample_level)."""
    synthetic, reference = realism["synthetic"]["fd"], realism["real_test"]["fd"]
    ratio = synthetic["value"] / max(reference["high"] or reference["value"], 1e-12)
    fd_level = ("good" if ratio <= THRESHOLDS["fd_ratio_good"]
                else "moderate" if ratio <= THRESHOLDS["fd_ratio_moderate"] else "low")
    cnn_level = two_sample_level(two_sample)
    level = max(fd_level, cnn_level or fd_level, key=LEVELS.index)
    meaning = {"good": "about as close to the real training images as other real images are",
               "moderate": "noticeably further from real images than another real sample",
               "low": "LOW REALISM: far from the real images"
                      + (" in the encoder's feature space" if fd_level == "low" else "")
                      + (" and easy for a small CNN to tell apart" if cnn_level == "low" else "")}[level]
    precision, coverage = realism["synthetic"]["precision"], realism["synthetic"]["coverage"]
    cnn_text = ""
    if cnn_level is not None:
        cnn_text = (f"; a CNN tells synthetic from real with AUC {_ci(two_sample['real_vs_synthetic']['auc'])} "
                    f"(real vs real {two_sample['real_vs_real']['auc']['value']:.2f})")
    if high_frequency:  # shown, not judged: grain and blur already move the two-sample AUC
        grain = high_frequency["ratio_to_real_train"]
        cnn_text += (f"; high-frequency energy {grain['synthetic']['value']:.2f}× real "
                     f"(real test {grain['real_test']['value']:.2f}×)")
    return {"level": level, "fd_ratio": round(ratio, 4), "fd_level": fd_level, "two_sample_level": cnn_level,
            "text": f"FD {synthetic['value']:.3g} vs real-vs-real {reference['value']:.3g} (upper 95 % bound "
                    f"{reference['high'] or reference['value']:.3g}; ratio {ratio:.2f}); "
                    f"precision {precision['value']:.2f}, coverage {coverage['value']:.2f}{cnn_text}: {meaning}"}


def diversity_verdict(diversity: dict) -> dict:
    """Mode collapse: the class whose synthetic images are most alike (mean pair MS-SSIM) relative to
    real training images of that class."""
    ratios = {name: sets["synthetic"]["value"] / max(sets["real_train"]["value"], 1e-12)
              for name, sets in diversity.items() if "synthetic" in sets and "real_train" in sets}
    if not ratios:
        return {"level": "inconclusive", "text": "no class has two synthetic and two real images to compare"}
    worst = max(ratios, key=ratios.get)
    ratio = ratios[worst]
    level = ("good" if ratio <= THRESHOLDS["diversity_ratio_good"]
             else "moderate" if ratio <= THRESHOLDS["diversity_ratio_low"] else "low")
    meaning = {"good": "as varied within each class as the real images",
               "moderate": "less varied within a class than the real images",
               "low": "LOW DIVERSITY: images of a class are far more alike than real ones (mode collapse)"}[level]
    sets = diversity[worst]
    return {"level": level, "worst_class": worst, "ratio": round(ratio, 4),
            "text": f"within-class MS-SSIM {sets['synthetic']['value']:.2f} vs real {sets['real_train']['value']:.2f} "
                    f"in class {worst} (ratio {ratio:.2f}, the highest of {len(ratios)} classes): {meaning}"}


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


def external_utility_text(external: dict) -> str:
    """'; on external sets: site-b TSTR/TRTR 0.91 (95 % CI …)' for each external test set."""
    parts = [f"{name} {_ci(test['utility']['tstr_trtr_auc_ratio'])}" for name, test in external.items()
             if test["utility"].get("tstr_trtr_auc_ratio")]
    return f"; TSTR/TRTR on external test sets: {', '.join(parts)}" if parts else ""


def verdicts(utility: dict, realism: dict, audit: dict | None, two_sample: dict | None = None,
             external: dict | None = None, high_frequency: dict | None = None, diversity: dict | None = None) -> dict:
    utility_card = utility_verdict(utility)
    if external and utility_card["level"] != "inconclusive":
        utility_card = {**utility_card, "text": utility_card["text"] + external_utility_text(external)}
    return {
        "realism": realism_verdict(realism, two_sample, high_frequency),
        "diversity": diversity_verdict(diversity or {}),
        "utility": utility_card,
        "label_fidelity": label_fidelity_verdict(utility),
        "privacy": privacy_verdict(audit),
    }
