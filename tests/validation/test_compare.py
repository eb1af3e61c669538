"""`synthgen compare`: validate results side by side, the better one marked, mismatched real data refused."""

from __future__ import annotations

import json
import shutil

import pytest

from validation.api import validate
from validation.compare import MEASURES, compare, markdown
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.validation import TINY_OPTIONS, toy_set


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two synthetic sets validated against the same real set: another real sample (good) and one
    whose labels are shuffled (useless for training)."""
    root = tmp_path_factory.mktemp("compare")
    real = toy_set(root / "real", n=150, seed=0)
    folders = {}
    for name, seed, shuffled in (("good", 1, False), ("shuffled", 2, True)):
        synthetic = toy_set(root / f"{name}-set", n=100, seed=seed, kind="synthetic", shuffle_labels=shuffled)
        validate(real, real, synthetic, root / name, seeds=1, **TINY_OPTIONS)
        folders[name] = root / name
    return root, folders


def _row(comparison, label):
    return next(row for row in comparison.rows if row.measure.label == label)


def test_the_useful_set_wins_utility_and_real_data_sits_beside(results):
    _, folders = results
    comparison = compare([folders["good"], folders["shuffled"]])
    assert comparison.names == ("good", "shuffled")
    tstr = _row(comparison, "TSTR/TRTR AUC ratio")
    assert tstr.values[0] > 0.9 > tstr.values[1] and tstr.best == (0,)
    fd = _row(comparison, "FD (classifier features)")
    assert fd.real is not None and all(v is not None for v in fd.values)
    assert _row(comparison, "audit: share flagged").values == (None, None)  # validated without an audit
    assert [row.measure for row in comparison.rows] == list(MEASURES)
    table = markdown(comparison)
    assert "| TSTR/TRTR AUC ratio | higher | **" in table and table.count("\n") == len(MEASURES) + 2


def test_cli_prints_the_table_and_writes_markdown_and_json(results, tmp_path, capsys):
    _, folders = results
    code, out, err = run_cli(["compare", str(folders["good"]), str(folders["shuffled"]), "--name", "diffusion",
                              "--name", "gan", "--out", str(tmp_path / "c.json")], capsys)
    assert code == 0, err
    assert "diffusion" in out and "gan" in out and "TSTR/TRTR AUC ratio" in out
    written = json.loads((tmp_path / "c.json").read_text())
    tstr = next(m for m in written["measures"] if m["measure"] == "TSTR/TRTR AUC ratio")
    assert tstr["best"] == ["diffusion"] and set(tstr["values"]) == {"diffusion", "gan"}
    code, _, err = run_cli(["compare", str(folders["good"]), str(folders["shuffled"]), "--out", str(tmp_path / "c.md")],
                           capsys)
    assert code == 0, err
    assert (tmp_path / "c.md").read_text().startswith("| measure | better | good | shuffled | real data |")


def test_results_on_other_real_images_are_refused(results, tmp_path, capsys):
    root, folders = results
    other_real = toy_set(tmp_path / "other-real", n=150, seed=7)
    validate(other_real, other_real, root / "good-set", tmp_path / "elsewhere", seeds=1, **TINY_OPTIONS)
    code, _, err = run_cli(["compare", str(folders["good"]), str(tmp_path / "elsewhere")], capsys)
    assert_clean_error(code, err, "elsewhere", "different real train images", "same real sets")


@pytest.mark.parametrize("case, fragments", [
    ("one result", ("at least two",)),
    ("no metrics", ("has no metrics.json", "synthgen validate")),
    ("bad suffix", ("--out", ".md or .json")),
    ("same names", ("distinct names", "--name")),
    ("missing key", ("realism.synthetic.fd is missing", "re-run")),
])
def test_bad_input_is_one_line_naming_what_to_do(results, tmp_path, capsys, case, fragments):
    _, folders = results
    good, shuffled = str(folders["good"]), str(folders["shuffled"])
    args = {"one result": [good], "no metrics": [good, str(tmp_path)],
            "bad suffix": [good, shuffled, "--out", str(tmp_path / "c.html")],
            "same names": [good, shuffled, "--name", "x", "--name", "x"]}.get(case)
    if case == "missing key":
        broken = tmp_path / "broken"
        shutil.copytree(folders["shuffled"], broken)
        metrics = json.loads((broken / "metrics.json").read_text())
        del metrics["realism"]["synthetic"]["fd"]
        (broken / "metrics.json").write_text(json.dumps(metrics))
        args = [good, str(broken)]
    code, _, err = run_cli(["compare", *args], capsys)
    assert_clean_error(code, err, *fragments)
    assert not (tmp_path / "c.html").exists()
