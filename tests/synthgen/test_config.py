"""`base:` in configs: any section or option file names a YAML file it overrides; shipped configs copy nothing."""

import json

import pytest
import yaml

from synthgen.config import with_base
from synthgen.errors import SynthgenError
from synthgen.workflow.config import load_run_config
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.paths import REPO



def test_prepare_base_is_merged_under_the_section_overrides(tmp_path):
    base = tmp_path / "prepare.yaml"
    base.write_text("source: data/xrays\nlabels: data/xrays/labels.csv\nsize: 64\nseed: 3\n")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"prepare": {"base": str(base), "size": 32}}))
    prepare = load_run_config(config).prepare
    assert (prepare.source, prepare.labels, prepare.size, prepare.seed) == ("data/xrays", "data/xrays/labels.csv", 32, 3)


def test_a_run_config_may_build_on_another_run_config_section_by_section(tmp_path):
    base = tmp_path / "base-run.yaml"
    base.write_text(json.dumps({"prepare": {"source": "phantom", "n": 120, "size": 32}, "sample": {"n": 50, "seed": 4},
                                "train": {"training": {"steps": 9}}}))
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"base": str(base), "sample": {"n": 70}, "train": {"training": {"batch_size": 8}}}))
    run = load_run_config(config)
    assert (run.prepare.source, run.prepare.n, run.prepare.size) == ("phantom", 120, 32)
    assert (run.sample.n, run.sample.seed) == (70, 4)
    assert (run.train.training.steps, run.train.training.batch_size) == (9, 8)


def test_gan_run_configs_are_the_diffusion_run_configs_with_another_train_section(monkeypatch):
    monkeypatch.chdir(REPO)
    for name in ("pneumoniamnist32", "kermany64"):
        diffusion, gan = load_run_config(REPO / f"configs/run/{name}.yaml"), load_run_config(REPO / f"configs/run/gan-{name}.yaml")
        for section in ("prepare", "sample", "audit", "validate", "export"):
            assert getattr(gan, section) == getattr(diffusion, section), (name, section)
        assert type(gan.train).__name__ == "GanTrainConfig"


def test_a_base_may_name_a_base_of_its_own(tmp_path):
    (tmp_path / "a.yaml").write_text("size: 16\nseed: 1\nval_fraction: 0.2\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\nseed: 2\n")
    assert with_base({"base": str(tmp_path / "b.yaml"), "val_fraction": 0.3}, "config x") == {
        "size": 16, "seed": 2, "val_fraction": 0.3}


def test_a_base_loop_and_a_non_path_base_are_clean_errors(tmp_path):
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(SynthgenError, match="already a base of this config"):
        with_base({"base": str(tmp_path / "a.yaml")}, "config x")
    with pytest.raises(SynthgenError, match=r"config x.base must be the path of a YAML file, not 3"):
        with_base({"base": 3}, "config x")


def test_prepare_option_file_accepts_base(class_folders, tmp_path, capsys):
    (tmp_path / "common.yaml").write_text(f"source: {class_folders}\nsize: 16\nval_fraction: 0\ntest_fraction: 0\n")
    config = tmp_path / "prepare.yaml"
    config.write_text(f"base: {tmp_path / 'common.yaml'}\nsize: 8\nsalt: k\n")
    code, _, err = run_cli(["prepare", "--config", config, "--out", tmp_path / "set"], capsys)
    assert code == 0, err
    info = json.loads((tmp_path / "set/dataset.json").read_text())
    assert info["image_size"] == [8, 8] and info["counts"]["by_split"] == {"train": 12}


def test_missing_prepare_base_is_a_clean_error_naming_the_file(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("prepare: {base: nowhere/prepare.yaml}\n")
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "nowhere/prepare.yaml does not exist")


@pytest.mark.parametrize("name", ["kermany64", "pneumoniamnist32"])
def test_real_data_run_configs_take_prepare_from_configs_prepare(name, monkeypatch):
    monkeypatch.chdir(REPO)
    raw = yaml.safe_load((REPO / f"configs/run/{name}.yaml").read_text())
    assert raw["prepare"] == {"base": f"configs/prepare/{name}.yaml"}
    prepare_file = yaml.safe_load((REPO / f"configs/prepare/{name}.yaml").read_text())
    resolved = load_run_config(REPO / f"configs/run/{name}.yaml").section("prepare")
    assert {key: resolved[key] for key in prepare_file} == prepare_file


def test_no_run_config_section_copies_a_prepare_or_train_file():
    """A run-config section holding every key of a configs/prepare or configs/train file is a copy: use base:."""
    for run_config in sorted((REPO / "configs/run").glob("*.yaml")):
        data = yaml.safe_load(run_config.read_text())
        for section in ("prepare", "train"):
            values = data.get(section) or {}
            for shared in sorted((REPO / "configs" / section).glob("*.yaml")):
                keys = yaml.safe_load(shared.read_text())
                copied = all(k in values and values[k] == v for k, v in keys.items())
                assert not copied, f"{run_config.name} {section}: repeats {shared.name}; say base: instead"
