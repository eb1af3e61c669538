"""`synthgen run`: changing how to sample (train.sampling) re-samples and re-runs what follows, never
re-trains; run folders hashed before that rule are upgraded in place, not re-trained."""

from __future__ import annotations

import json

from synthgen.imageset.reader import ImageSet
from synthgen.workflow import load_run_config, run
from synthgen.workflow.state import config_sha256
from tests.fixtures.workflow import TINY_RUN, copy_run, read_state, write_run_config

AFTER_TRAIN = ["sample", "audit", "validate", "export"]


def _more_sampling_steps(tmp_path):
    return write_run_config(tmp_path / "changed.yaml", train={"sampling": {**TINY_RUN["train"]["sampling"], "steps": 6}})


def test_changing_sampling_steps_resamples_without_retraining(finished, tmp_path):
    root = copy_run(finished[1], tmp_path)
    before = read_state(root)["stages"]
    changed = _more_sampling_steps(tmp_path)
    plan = {step.name: step for step in run(changed, root, dry_run=True, progress=False).plan}
    assert not plan["train"].run and plan["sample"].reason == "its config changed: train.sampling.steps (4 in the run, 6 now)"
    result = run(changed, root, progress=False)
    assert result.skipped == ["prepare", "train"] and result.ran == AFTER_TRAIN
    stages = read_state(root)["stages"]
    assert stages["train"] == before["train"]
    assert (before["sample"]["summary"]["steps"], stages["sample"]["summary"]["steps"]) == (4, 6)
    assert {row["steps"] for row in ImageSet.open(root / "synthetic").rows} == {"6"}
    assert run(changed, root, progress=False).ran == []


def test_a_run_hashed_before_the_rule_is_upgraded_not_retrained(finished, tmp_path):
    """run.json of an earlier synthgen: train's hash covered train.sampling, sample's did not."""
    config, root, _ = finished
    root = copy_run(root, tmp_path)
    _write_earlier_hashes(root, load_run_config(config))
    result = run(config, root, progress=False)
    assert result.ran == []
    upgraded = read_state(root)["stages"]
    assert run(config, root, progress=False).ran == []  # the records now hold today's hashes
    assert upgraded == read_state(root)["stages"]


def test_a_run_hashed_before_the_rule_resamples_when_sampling_changed(finished, tmp_path):
    config, root, _ = finished
    root = copy_run(root, tmp_path)
    _write_earlier_hashes(root, load_run_config(config))
    result = run(_more_sampling_steps(tmp_path), root, progress=False)
    assert result.skipped == ["prepare", "train"] and result.ran == AFTER_TRAIN


def _write_earlier_hashes(root, config):
    """Replace train's and sample's config hashes with what synthgen computed before train.sampling
    moved from train's hash to sample's."""
    state = json.loads((root / "run.json").read_text())
    stages = state["stages"]
    stages["train"]["config_sha256"] = config_sha256({"section": config.section("train"),
                                                      "processes": config.train_processes})
    stages["sample"]["config_sha256"] = config_sha256({"section": config.section("sample"), "created": config.created})
    (root / "run.json").write_text(json.dumps(state))

