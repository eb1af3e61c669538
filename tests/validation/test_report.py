"""End to end: validate tiny sets, check metrics.json values, the verdicts and report.html (Chromium)."""

from __future__ import annotations

import csv
import html as html_text
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from privacy.audit_document import AuditDocument
from validation.api import validate
from validation.audit_summary import LEVELS
from validation.metrics_document import ValidationMetrics
from tests.fixtures.cli import run_cli
from tests.fixtures.validation import (SNAPSHOT_SELECTION, TINY_OPTIONS, measured_audit_folder, run_folder,
                                      sampled_provenance, toy_set)


EXPECTED_REGIMES = ["TRTR", "TSTR", "TRTS", "R+S", "R25", "R25+S"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A second, disjoint real sample posing as the synthetic set: it must look as good as real."""
    root = tmp_path_factory.mktemp("validate-good")
    real = toy_set(root / "real", n=150, seed=0)
    run = run_folder(root / "generator-run")
    synthetic = toy_set(root / "synthetic", n=100, seed=1, kind="synthetic",
                        provenance=sampled_provenance(run, real, SNAPSHOT_SELECTION))
    audit = measured_audit_folder(root / "audit", real, synthetic)
    site_b = toy_set(root / "site-b", n=60, seed=5)
    result = validate(real, real, synthetic, root / "out", audit=audit, seeds=2, low_data=(0.25,),
                      external_tests=[site_b], **TINY_OPTIONS)
    return result


def test_validate_writes_report_and_metrics_only(good_run):
    assert sorted(p.name for p in good_run.out.iterdir()) == ["metrics.json", "report.html"]
    on_disk = ValidationMetrics.read(good_run.out / "metrics.json")
    assert on_disk.utility["tstr_trtr_auc_ratio"] == good_run.metrics["utility"]["tstr_trtr_auc_ratio"]
    assert on_disk.data["real_train"]["images"] == 100 and on_disk.data["real_test"]["images"] == 50
    assert on_disk.seeds == [0, 1] and on_disk.verdicts["utility"]["level"] == "good"
    assert json.loads((good_run.out / "metrics.json").read_text())["schema_version"] == 1


def test_metrics_json_reads_back_to_the_same_document_and_rewrites_the_same_bytes(good_run, tmp_path):
    document = ValidationMetrics.read(good_run.out / "metrics.json")
    assert document.write(tmp_path / "again.json") == (good_run.out / "metrics.json").read_bytes()
    assert ValidationMetrics.read(tmp_path / "again.json") == document


def test_metrics_json_with_a_renamed_or_retyped_key_is_refused_naming_it(good_run, tmp_path):
    from synthgen.errors import SynthgenError

    metrics = json.loads((good_run.out / "metrics.json").read_text())
    metrics["usefulness"] = metrics.pop("utility")
    (tmp_path / "renamed.json").write_text(json.dumps(metrics))
    with pytest.raises(SynthgenError, match=r"renamed.json: unknown key 'usefulness'"):
        ValidationMetrics.read(tmp_path / "renamed.json")
    del metrics["usefulness"]
    (tmp_path / "missing.json").write_text(json.dumps(metrics))
    with pytest.raises(SynthgenError, match=r"missing.json: key 'utility' is missing"):
        ValidationMetrics.read(tmp_path / "missing.json")
    (tmp_path / "typed.json").write_text(json.dumps({**metrics, "utility": {}, "seeds": ["0"]}))
    with pytest.raises(SynthgenError, match=r"typed.json: key 'seeds\[0\]' must be an integer"):
        ValidationMetrics.read(tmp_path / "typed.json")


def test_a_disjoint_real_sample_scores_like_real(good_run):
    utility = good_run.metrics["utility"]
    assert list(utility["regimes"]) == EXPECTED_REGIMES
    trtr = utility["regimes"]["TRTR"]
    assert trtr["metrics"]["auc_macro"]["value"] > 0.9 and len(trtr["per_seed"]["auc_macro"]) == 2
    for name, regime in utility["regimes"].items():
        auc = regime["metrics"]["auc_macro"]
        assert 0 <= auc["low"] <= auc["value"] <= auc["high"] <= 1, name
    assert utility["tstr_trtr_auc_ratio"]["value"] > 0.9
    assert utility["regimes"]["TSTR"]["auc_macro_vs_trtr"]["paired"] is True
    assert utility["regimes"]["TRTS"]["auc_macro_vs_trtr"]["paired"] is False
    assert utility["regimes"]["R25"]["train_images"] == [26, 26]  # 25 % of 50 per class = 12.5 -> 13
    verdicts = good_run.metrics["verdicts"]
    assert verdicts["utility"]["level"] == "good" and verdicts["label_fidelity"]["level"] == "good"
    assert verdicts["realism"]["fd_ratio"] < 3
    audit = AuditDocument.read_folder(good_run.metrics["audit"]["folder"])
    assert verdicts["privacy"]["level"] == LEVELS[audit.verdict]
    assert f"{audit.flagged_fraction * 100:.2f} % of synthetic images flagged" in verdicts["privacy"]["text"]


def test_realism_and_pixel_statistics_have_a_real_reference(good_run):
    realism = good_run.metrics["realism"]
    assert realism["sizes"] == {"reference": 100, "query": 50, "query_per_class": [25, 25]}
    for name in ("synthetic", "real_test"):
        assert set(realism[name]) == {"fd", "kid", "precision", "recall", "density", "coverage"}
        assert 0 <= realism[name]["precision"]["value"] <= 1
    diversity = good_run.metrics["diversity"]
    assert set(diversity) == {"dark", "bright"} and set(diversity["dark"]) == {"real_train", "synthetic"}
    distance = good_run.metrics["intensity"]["distance"]["bright"]
    assert distance["synthetic"]["value"] < 0.05 and distance["real_test"]["value"] < 0.05
    assert good_run.metrics["training_curves"]["xs"][:2] == [10, 20]


def test_a_disjoint_real_sample_passes_the_two_sample_test_and_matches_real_grain(good_run):
    metrics = good_run.metrics
    two_sample = metrics["two_sample"]
    assert two_sample["images_per_half"] == sum(two_sample["per_class"]) >= 20
    for test in ("real_vs_synthetic", "real_vs_real"):
        auc = two_sample[test]["auc"]
        assert 0 <= auc["low"] <= auc["value"] <= auc["high"] <= 1 and abs(auc["value"] - 0.5) < 0.25, test
    shown = two_sample["most_synthetic"]
    assert len(shown) == 10 and all(0 <= row["manifest_row"] < 100 for row in shown)
    probabilities = [row["probability_synthetic"] for row in shown]
    assert probabilities == sorted(probabilities, reverse=True)
    assert metrics["verdicts"]["realism"]["two_sample_level"] in ("good", "moderate")
    ratio = metrics["high_frequency"]["ratio_to_real_train"]
    assert 0.8 < ratio["synthetic"]["value"] < 1.25 and 0.8 < ratio["real_test"]["value"] < 1.25


def test_every_regime_tested_on_real_is_scored_on_each_external_set(good_run):
    external = good_run.metrics["external_tests"]
    assert list(external) == ["site-b"]
    assert external["site-b"]["data"]["images"] == 60 and external["site-b"]["data"]["split"] is None
    utility = external["site-b"]["utility"]
    assert list(utility["regimes"]) == [name for name in EXPECTED_REGIMES if name != "TRTS"]
    same_pool = good_run.metrics["utility"]["regimes"]
    for name, regime in utility["regimes"].items():
        assert regime["test_images"] == 60 and regime["train_images"] == same_pool[name]["train_images"]
        assert len(regime["per_seed"]["auc_macro"]) == 2
    assert utility["regimes"]["TRTR"]["metrics"]["auc_macro"]["value"] > 0.9
    assert utility["tstr_trtr_auc_ratio"]["value"] > 0.9 and utility["trts_trtr_auc_ratio"] is None
    assert "site-b" in good_run.metrics["verdicts"]["utility"]["text"]
    html = good_run.report.read_text()
    assert "<h3>External test sets</h3>" in html and "site-b macro ROC-AUC" in html


def test_the_generators_weight_choice_is_in_metrics_and_the_report(good_run):
    weights = good_run.metrics["generator_weights"]
    assert weights == {"kind": "gan", "steps": 6, "ema": None, "selection": SNAPSHOT_SELECTION}
    assert ValidationMetrics.read(good_run.out / "metrics.json").generator_weights == weights
    html = good_run.report.read_text()
    assert "The model's weights are <strong>step-0000003</strong> of 2 candidates (6 training steps)" in html
    assert "<td class=\"left\">step-0000003 (kept)</td><td>2.500</td><td>0.740</td><td>1</td><td>0.50</td>" in html
    assert ("<td class=\"left\">final</td><td>1.250</td><td>0.520</td><td>9</td><td>4.50</td><td>0.0001</td>"
            "<td class=\"left\">copies</td>") in html
    assert "<th>two-sample AUC</th>" in html and "against the 117 val and test images, 3 seeds." in html


def test_a_choice_by_fd_alone_shows_no_two_sample_column():
    from validation.report import report_environment

    by_fd = {key: value for key, value in SNAPSHOT_SELECTION.items() if key not in ("metric", "two_sample")}
    by_fd["rule"] = "lowest FD among candidates that do not copy"  # as model cards before selection_metric
    by_fd["candidates"] = {name: {k: v for k, v in c.items() if k != "two_sample_auc"}
                           for name, c in SNAPSHOT_SELECTION["candidates"].items()}
    html = report_environment().get_template("selection.html.j2").render(s=by_fd, steps=6)
    assert "two-sample" not in html and "FD against 62 val images.</p>" in html
    assert "<td class=\"left\">step-0000003 (kept)</td><td>2.500</td><td>1</td><td>0.50</td>" in html


def test_report_is_self_contained_with_every_section(good_run):
    html = good_run.report.read_text()
    for section in ("verdict", "data", "samples", "downstream", "realism", "privacy", "training", "method"):
        assert f'<section id="{section}">' in html, section
    # 2 class grids, regime bars, ROC, histograms, training curve, audit montage, most-synthetic montage,
    # Laplacian variance distribution
    assert html.count('src="data:image/png;base64,') == 9
    assert not re.search(r'(src|href)="(https?:)?//', html)
    audit = AuditDocument.read_folder(good_run.metrics["audit"]["folder"])
    closest = min(csv.DictReader((Path(good_run.metrics["audit"]["folder"]) / "pairs.csv").open()),
                  key=lambda row: float(row["score"]))
    assert closest["image_id"] in html and "pixels_distance" in html  # the closest audit pair is listed
    assert f"self-test found {audit.selftest.recall * 100:.1f} % of its copies" in html
    assert all(html_text.escape(reason) in html for reason in audit.verdict_reasons)  # the audit's reasons
    attack = audit.spaces["encoder"].membership_inference["distance_to_closest_record"]
    assert "distance to closest record AUC</th>" in html  # membership attacks, one column each
    assert f"{attack['auc']:.2f} ({attack['ci_low']:.2f}–{attack['ci_high']:.2f})" in html
    for name, flags in audit.by_class.items():  # the audit's flags per class, beside held-out real images'
        share = 100 * flags.flagged / max(flags.synthetic, 1)
        assert (f'<td class="left">{name}</td>\n    <td>{flags.flagged} of {flags.synthetic} ({share:.2f} %)</td>\n'
                f"    <td>{flags.holdout_flagged} of {flags.holdout}</td>") in html


def test_cli_says_clearly_when_labels_are_shuffled(tmp_path, capsys):
    real = toy_set(tmp_path / "real", n=150, seed=0)
    shuffled = toy_set(tmp_path / "shuffled", n=100, seed=2, kind="synthetic", shuffle_labels=True)
    code, out, err = run_cli(["validate", "--real-train", real, "--real-test", real, "--synthetic", shuffled,
                              "--out", tmp_path / "out", "--seeds", "1", "--steps", "30", "--width", "4",
                              "--batch-size", "32", "--low-data", "0.5", "--bootstrap", "100",
                              "--min-per-class", "5"], capsys)
    assert code == 0, err
    assert re.search(r"utility: LOW .*LOW UTILITY", out)
    assert re.search(r"label fidelity: LOW .*LOW LABEL FIDELITY", out)
    assert "privacy: NOT ASSESSED" in out and f"report: {tmp_path / 'out' / 'report.html'}" in out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["utility"]["tstr_trtr_auc_ratio"]["value"] < 0.8


CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.setAttribute('data-check', 'images=' + images.length + ' broken=' + broken +
    ' tables=' + document.querySelectorAll('table').length + ' errors=' + window.__errors.length);
});
</script>"""


def test_report_renders_in_headless_chromium(good_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is absent: install the Debian package `chromium` to render the report")
    page = tmp_path / "report.html"
    page.write_text(good_run.report.read_text().replace("<head>", "<head>" + CHECK_SCRIPT, 1))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--virtual-time-budget=5000", "--window-size=1200,3000"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    check = re.search(r'data-check="([^"]*)"', dom.stdout)
    assert check is not None, "the page's load handler did not run"
    assert check.group(1) == "images=9 broken=0 tables=13 errors=0"  # 13: the GAN snapshot choice and the audit's flags by class among them
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (3000, 1200) and pixels.std() > 10  # not a blank page
