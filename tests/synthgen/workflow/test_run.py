"""`synthgen run`: plan, skip what is up to date, re-run what changed, byte-identical reruns."""

from __future__ import annotations

import fcntl
import json
import shutil

import pytest

from synthgen.errors import SynthgenError
from synthgen.workflow import load_run_config, run
from synthgen.workflow.state import tree_sha256
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.workflow import (OUTPUT_FOLDERS, TINY_RUN, copy_run, differing_images, image_bytes, leftovers,
                                     read_state, write_run_config)


STAGES = ["prepare", "train", "sample", "audit", "validate", "export"]


def test_first_run_makes_every_output_and_records_hashes(finished):
    _, root, result = finished
    assert result.ran == STAGES and result.skipped == []
    for name in OUTPUT_FOLDERS:
        assert (root / name).is_dir(), name
    assert (root / "validation" / "report.html").is_file()
    assert (root / "export" / "dicom" / "ro-crate-metadata.json").is_file()
    state = read_state(root)
    assert list(state["stages"]) == STAGES
    stages = state["stages"]
    for name, record in stages.items():
        assert record["status"] == "done" and record["wall_time_s"] >= 0 and record["versions"]["torch"], name
        for output, digest in record["outputs"].items():
            assert digest == tree_sha256(root / output), (name, output)
    # every stage's inputs are exactly the outputs its upstream stages recorded
    assert stages["train"]["inputs"] == {"data": stages["prepare"]["outputs"]["data"]}
    assert stages["sample"]["inputs"] == {"model": stages["train"]["outputs"]["model"]}
    assert stages["export"]["inputs"] == {"synthetic-filtered": stages["audit"]["outputs"]["synthetic-filtered"]}
    assert stages["validate"]["inputs"]["audit"] == stages["audit"]["outputs"]["audit"]
    audit = stages["audit"]["summary"]
    assert audit["kept"] == 60 - audit["flagged"] and audit["synthetic"] == 60
    assert stages["export"]["summary"]["files"] == {"dicom": audit["kept"], "png": audit["kept"]}
    assert len(list((root / "export" / "dicom" / "images").glob("*.dcm"))) == audit["kept"]
    assert leftovers(root) == []


def test_outputs_do_not_name_the_staging_folders(finished):
    _, root, _ = finished
    for path in root.rglob("*"):
        if path.suffix in (".json", ".csv", ".yaml", ".html"):
            assert ".stage-" not in path.read_text(errors="replace"), path


def test_rerun_skips_every_stage_and_changes_nothing(finished, tmp_path):
    config, _, _ = finished
    root = copy_run(finished[1], tmp_path)
    before = {name: tree_sha256(root / name) for name in OUTPUT_FOLDERS}
    state_before = read_state(root)["stages"]
    result = run(config, root, progress=False)
    assert result.ran == [] and result.skipped == STAGES
    assert {name: tree_sha256(root / name) for name in OUTPUT_FOLDERS} == before
    assert read_state(root)["stages"] == state_before


def test_dry_run_of_a_new_folder_plans_every_stage_and_writes_nothing(finished, tmp_path):
    config, _, _ = finished
    result = run(config, tmp_path / "new", dry_run=True, progress=False)
    assert [(step.name, step.run) for step in result.plan] == [(name, True) for name in STAGES]
    assert result.plan[0].reason == "not run yet"
    assert result.plan[1].reason == "its input data will be remade"
    assert not (tmp_path / "new").exists()


def test_dry_run_after_a_config_change_names_what_changed(finished, tmp_path):
    _, root, _ = finished
    changed = write_run_config(tmp_path / "changed.yaml", sample={"n": 40})
    before = tree_sha256(root)
    plan = {step.name: step for step in run(changed, root, dry_run=True, progress=False).plan}
    assert [name for name in STAGES if plan[name].run] == ["sample", "audit", "validate", "export"]
    assert plan["prepare"].reason == plan["train"].reason == "up to date"
    assert plan["sample"].reason == "its config changed: sample.n (60 in the run, 40 now)"
    assert plan["audit"].reason == "its input synthetic will be remade"
    assert tree_sha256(root) == before


def test_export_config_change_reruns_only_the_export(finished, tmp_path):
    root = copy_run(finished[1], tmp_path)
    before = read_state(root)["stages"]
    changed = write_run_config(tmp_path / "changed.yaml", export={"formats": ["dicom"], "check_dicom": 1})
    result = run(changed, root, progress=False)
    assert result.ran == ["export"] and result.skipped == STAGES[:-1]
    stages = read_state(root)["stages"]
    assert {k: stages[k] for k in STAGES[:-1]} == {k: before[k] for k in STAGES[:-1]}
    assert sorted(p.name for p in (root / "export").iterdir()) == ["dicom"]
    assert stages["export"]["summary"]["files"] == {"dicom": before["audit"]["summary"]["kept"]}
    assert stages["export"]["summary"]["dicom_check"]["checked"] in (0, 1)


def test_config_change_reruns_that_stage_and_everything_downstream(finished, tmp_path):
    root = copy_run(finished[1], tmp_path)
    model_before = read_state(root)["stages"]["train"]
    changed = write_run_config(tmp_path / "changed.yaml", sample={"n": 40})
    result = run(changed, root, progress=False)
    assert result.skipped == ["prepare", "train"]
    assert result.ran == ["sample", "audit", "validate", "export"]
    stages = read_state(root)["stages"]
    assert stages["train"] == model_before
    assert stages["sample"]["summary"]["images"] == 40
    assert len(list((root / "synthetic" / "images").glob("*.png"))) == 40
    kept = stages["audit"]["summary"]["kept"]
    assert len(list((root / "export" / "dicom" / "images").glob("*.dcm"))) == kept
    assert stages["export"]["inputs"]["synthetic-filtered"] == tree_sha256(root / "synthetic-filtered")
    assert leftovers(root) == []


def test_external_test_sets_in_the_validate_section_rerun_validate_and_are_reported(finished, tmp_path):
    root = copy_run(finished[1], tmp_path)
    shutil.copytree(root / "data", tmp_path / "site-b")  # its test split: real images training never saw
    validate = {**TINY_RUN["validate"], "external_test": [f"site-b={tmp_path / 'site-b'}:test"]}
    result = run(write_run_config(tmp_path / "external.yaml", validate=validate), root, progress=False)
    assert result.ran == ["validate"]
    assert "two_sample_auc" in read_state(root)["stages"]["validate"]["summary"]
    assert list(read_state(root)["stages"]["validate"]["inputs"]) == ["data", "synthetic-filtered", "audit",
                                                                      "external_test:site-b"]
    metrics = json.loads((root / "validation" / "metrics.json").read_text())
    external = metrics["external_tests"]["site-b"]
    assert external["data"]["split"] == "test"
    assert external["data"]["images"] == metrics["data"]["real_test"]["images"]
    same_pool = metrics["utility"]["regimes"]["TSTR"]["metrics"]["auc_macro"]
    assert external["utility"]["regimes"]["TSTR"]["metrics"]["auc_macro"]["value"] == same_pool["value"]
    missing = write_run_config(tmp_path / "missing.yaml", validate={"external_test": [str(tmp_path / "absent")]})
    with pytest.raises(SynthgenError, match="validate.external_test .*absent does not exist"):
        run(missing, root, progress=False)


def test_modified_output_is_remade_and_only_its_stage_runs(finished, tmp_path):
    config, reference, _ = finished
    root = copy_run(finished[1], tmp_path)
    victim = sorted((root / "export" / "dicom" / "images").glob("*.dcm"))[0]
    victim.write_bytes(b"corrupt")
    plan = {step.name: step for step in run(config, root, dry_run=True, progress=False).plan}
    assert plan["export"].reason == "its output export/ was modified"
    result = run(config, root, progress=False)
    assert result.ran == ["export"]
    assert victim.read_bytes() == (reference / victim.relative_to(root)).read_bytes()


def test_turning_the_filter_off_removes_the_filtered_set(finished, tmp_path):
    root = copy_run(finished[1], tmp_path)
    config = write_run_config(tmp_path / "nofilter.yaml", audit={"filter": False})
    result = run(config, root, progress=False, dry_run=True)
    assert {step.name for step in result.plan if step.run} == {"audit", "validate", "export"}
    assert (root / "synthetic-filtered").exists()  # a dry run removes nothing


@pytest.mark.slow
def test_same_config_and_seed_give_byte_identical_png_and_dicom(finished, tmp_path):
    config, reference, _ = finished
    run(config, tmp_path / "again", progress=False)
    first, second = image_bytes(reference), image_bytes(tmp_path / "again")
    assert len(first) > 200 and first.keys() == second.keys()
    assert [name for name in first if name.endswith(".png") and first[name] != second[name]] == []
    assert differing_images(reference, tmp_path / "again") == []  # DICOM too


def test_cli_dry_run_prints_the_plan(finished, capsys):
    config, root, _ = finished
    code, out, err = run_cli(["run", str(config), "--out", str(root), "--dry-run"], capsys)
    assert code == 0, err
    assert "plan (dry run)" in out and out.count("up to date") == len(STAGES)


def test_cli_rerun_prints_stage_lines_and_headline(finished, tmp_path, capsys):
    config, _, _ = finished
    root = copy_run(finished[1], tmp_path)
    code, out, err = run_cli(["run", str(config), "--out", str(root)], capsys)
    assert code == 0, err
    # -q (added by run_cli): no per-stage lines, only the headline numbers
    for label in ("TSTR/TRTR AUC ratio", "flagged by the audit", "files exported", "DICOM validation", "report"):
        assert label in out, label
    assert "2 of 2 checked files pass dciodvfy" in out or "dciodvfy is absent" in out


# --- bad inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sections, fragment", [
    ({"sample": {"n": 40, "per_class": {"normal": 3}}}, "exactly one of n"),
    ({"prepare": {"colour": True}}, "prepare: unknown key(s) colour"),
    ({"prepare": {"labels": "x.csv"}}, "labels apply to a path source"),
    ({"export": {"formats": ["dicom", "jpeg"]}}, "formats"),
    ({"export": {"formats": ["png"], "to": "dimse://A@h:104"}}, "add dicom to formats"),
    ({"train": {"training": {"steps": 0}}}, "steps must be > 0"),
    ({"created": "yesterday"}, "created 'yesterday' is not an ISO-8601 time"),
    ({"validate": {"seeds": "three"}}, "validate.seeds must be int"),
])
def test_bad_config_is_a_clean_error_naming_the_field(tmp_path, capsys, sections, fragment):
    config = write_run_config(tmp_path / "bad.yaml", **sections)
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, fragment)
    assert not (tmp_path / "out").exists()


def test_unknown_top_level_key_and_missing_base_are_clean_errors(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("sampel: {n: 3}\n")
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "unknown key(s) sampel")
    config.write_text("train: {base: nowhere/train.yaml}\n")
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "nowhere/train.yaml does not exist")


def test_missing_source_and_missing_config_are_clean_errors(tmp_path, capsys):
    config = write_run_config(tmp_path / "src.yaml", prepare={"source": str(tmp_path / "absent"), "n": None})
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "absent does not exist")
    code, _, err = run_cli(["run", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "none.yaml does not exist")


def test_out_holding_other_files_is_refused(tmp_path, capsys):
    config = write_run_config(tmp_path / "tiny.yaml")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "busy")], capsys)
    assert_clean_error(code, err, "without run.json, not a synthgen run")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


def test_corrupt_run_json_is_a_clean_error(tmp_path, capsys):
    config = write_run_config(tmp_path / "tiny.yaml")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.json").write_text("{not json")
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "run.json is not a synthgen run state")


def test_second_run_on_the_same_folder_is_refused_while_one_is_running(tmp_path):
    config = write_run_config(tmp_path / "tiny.yaml")
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(SynthgenError, match="another synthgen run is using"):
            run(config, tmp_path / "out", progress=False)


def test_train_base_is_merged_under_the_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("training: {steps: 50, lr: 0.005}\nsampling: {steps: 7}\n")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"train": {"base": str(base), "training": {"steps": 9}}}))
    loaded = load_run_config(config)
    assert (loaded.train.training.steps, loaded.train.training.lr, loaded.train.sampling.steps) == (9, 0.005, 7)


def test_set_overrides_change_one_key_and_are_planned(finished, capsys):
    config, root, _ = finished
    loaded = load_run_config(config, ["sample.n=40", "audit.filter=false", "export.formats=[png]"])
    assert (loaded.sample.n, loaded.audit.filter, loaded.export.formats) == (40, False, ("png",))
    plan = {step.name: step for step in run(config, root, dry_run=True, overrides=("sample.seed=5",)).plan}
    assert plan["sample"].reason == "its config changed: sample.seed (0 in the run, 5 now)" and not plan["train"].run
    code, _, err = run_cli(["run", str(config), "--out", str(root), "--set", "sample.count=3"], capsys)
    assert_clean_error(code, err, "sample: unknown key(s) count")
    code, _, err = run_cli(["run", str(config), "--out", str(root), "--set", "sample"], capsys)
    assert_clean_error(code, err, "--set 'sample': write section.key=value")
