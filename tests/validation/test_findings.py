"""Multi-label scoring (issue 15): per-finding TSTR/TRTR, label fidelity and prevalence in metrics and report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthgen.imageset import ImageSetWriter
from validation import validate
from validation.classifier import Recipe
from validation.data import load_validation_data
from validation.findings import score_findings
from validation.verdict import THRESHOLDS
from tests.fixtures.validation import TINY_OPTIONS


FINDINGS = ["disc", "bar"]
RECIPE = Recipe(width=4, steps=60, batch_size=32, learning_rate=0.01)


def finding_image(rng: np.random.Generator, disc: bool, bar: bool, size: int = 16) -> np.ndarray:
    """Noise, plus a bright disc and/or a bright horizontal bar: each finding is visible on its own."""
    yy, xx = np.mgrid[:size, :size]
    image = 0.25 + rng.normal(0, 0.04, (size, size))
    if disc:
        cy, cx = rng.uniform(4, 7, 2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < 6] = 0.8
    if bar:
        row = int(rng.integers(10, 13))
        image[row : row + 2, 2 : size - 2] = 0.8
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def finding_set(out: Path, *, seed: int, n: int = 160, kind: str = "real", draw_bars: bool = True,
                splits: tuple[str, ...] = ("train", "train", "test")) -> Path:
    """Findings drawn independently (about half positive each); class abnormal when any is present.
    `draw_bars=False` labels bars but never draws them: a generator that ignores one finding."""
    rng = np.random.default_rng(seed)
    with ImageSetWriter(out, name=out.name, kind=kind, classes=["abnormal", "normal"], findings=FINDINGS,
                        image_size=16) as writer:
        for i in range(n):
            disc, bar = bool(rng.integers(2)), bool(rng.integers(2))
            writer.add(finding_image(rng, disc, bar and draw_bars), label="abnormal" if disc or bar else "normal",
                       patient_id=f"S{seed}-{i:05d}", split=splits[i % len(splits)], source=f"toy:{seed}/{i}",
                       findings=[name for name, on in zip(FINDINGS, (disc, bar)) if on])
        writer.finish({"generator": "toy findings", "seed": seed})
    return out


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("findings")
    return {
        "real": finding_set(root / "real", seed=0, n=240),
        "faithful": finding_set(root / "faithful", seed=1, kind="synthetic", splits=("train",)),
        "no_bars": finding_set(root / "no_bars", seed=2, kind="synthetic", splits=("train",), draw_bars=False),
    }


def test_every_finding_is_scored_and_a_finding_the_generator_ignores_shows(sets):
    faithful_data = load_validation_data(sets["real"], sets["real"], sets["faithful"], min_per_class=5)
    faithful = score_findings(faithful_data, RECIPE, [0, 1], bootstrap=200, seed=0)
    assert faithful["findings"] == FINDINGS
    for name in FINDINGS:
        row = faithful["per_finding"][name]
        assert row["trtr_auc"]["value"] > 0.9 and row["tstr_auc"]["value"] > 0.9, (name, row)
        assert row["tstr_trtr_ratio"]["value"] > 0.9 and row["label_fidelity_auc"]["value"] > 0.9
        assert row["trtr_auc"]["low"] <= row["trtr_auc"]["value"] <= row["trtr_auc"]["high"]
        assert row["trtr_auc"]["seed_std"] is not None
        assert 0.35 < row["prevalence"]["synthetic"] < 0.65 and row["positives"]["real_test"] >= 5

    no_bars_data = load_validation_data(sets["real"], sets["real"], sets["no_bars"], min_per_class=5)
    no_bars = score_findings(no_bars_data, RECIPE, [0, 1], bootstrap=200, seed=0)
    disc, bar = no_bars["per_finding"]["disc"], no_bars["per_finding"]["bar"]
    assert disc["tstr_trtr_ratio"]["value"] > 0.9 and disc["label_fidelity_auc"]["value"] > 0.9
    assert bar["label_fidelity_auc"]["value"] < 0.65 and bar["tstr_trtr_ratio"]["value"] < 0.75
    # the conditioned prevalence is right even though the images lack the finding: only the AUCs reveal it
    assert abs(bar["prevalence"]["synthetic"] - bar["prevalence"]["real_train"]) < 0.15
    assert no_bars["macro"]["tstr_trtr_ratio"]["value"] < faithful["macro"]["tstr_trtr_ratio"]["value"]


def test_sets_without_findings_get_no_findings_section(tmp_path):
    from tests.fixtures.validation import toy_set

    real, synthetic = toy_set(tmp_path / "real", seed=0), toy_set(tmp_path / "syn", seed=1, kind="synthetic")
    data = load_validation_data(real, real, synthetic, min_per_class=5)
    assert score_findings(data, RECIPE, [0], bootstrap=100, seed=0) is None


def test_validate_writes_per_finding_rows_into_metrics_and_report(sets, tmp_path):
    result = validate(sets["real"], sets["real"], sets["faithful"], tmp_path / "out", seeds=1, **TINY_OPTIONS)
    findings = result.metrics["findings"]
    assert list(findings["per_finding"]) == FINDINGS and findings["macro"]["trtr_auc"]["findings"] == 2
    html = result.report.read_text()
    assert '<section id="findings">' in html
    assert html.count('<td class="left">disc</td>') == 1 and html.count('<td class="left">bar</td>') == 1


def test_no_ratio_where_the_real_task_is_too_hard(sets, monkeypatch):
    monkeypatch.setitem(THRESHOLDS, "trtr_auc_min", 1.01)  # every finding's real task counts as too hard
    data = load_validation_data(sets["real"], sets["real"], sets["faithful"], min_per_class=5)
    scored = score_findings(data, Recipe(width=4, steps=10, batch_size=32), [0], bootstrap=100, seed=0)
    assert all(row["tstr_trtr_ratio"] is None and row["trtr_auc"] for row in scored["per_finding"].values())
    assert scored["macro"]["tstr_trtr_ratio"] == {"value": None, "findings": 0}
