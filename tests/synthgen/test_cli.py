"""The CLI: help with worked examples, YAML configs, info and verify."""

import json

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from tests.fixtures.cli import assert_clean_error, run_cli


@pytest.mark.parametrize("command", [[], ["prepare"], ["phantom"], ["info"], ["verify"]])
def test_help_shows_a_worked_example(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "synthgen " in result.output.split("Example")[1]


def test_prepare_reads_options_from_a_yaml_config(class_folders, tmp_path, capsys):
    config = tmp_path / "prepare.yaml"
    config.write_text(f"source: {class_folders}\nsize: 16\nclasses: [normal, pneumonia]\nval-fraction: 0\n"
                      "test_fraction: 0\nsalt: k\n")
    code, _, err = run_cli(["prepare", "--config", config, "--out", tmp_path / "set", "--size", "8"], capsys)
    assert code == 0, err
    info = json.loads((tmp_path / "set/dataset.json").read_text())
    assert info["image_size"] == [8, 8], "the command line wins over the config"
    assert info["classes"] == ["normal", "pneumonia"] and info["counts"]["by_split"] == {"train": 12}


def test_prepare_config_with_an_unknown_key_is_a_clean_error(tmp_path, capsys):
    config = tmp_path / "prepare.yaml"
    config.write_text("sizee: 16\n")
    code, _, err = run_cli(["prepare", "--config", config], capsys)
    assert_clean_error(code, err, "prepare.yaml", "unknown key(s) sizee", "valid keys")


def test_prepare_config_with_bad_yaml_names_the_line(tmp_path, capsys):
    config = tmp_path / "prepare.yaml"
    config.write_text("size: 16\nclasses: [a, b\n")
    code, _, err = run_cli(["prepare", "--config", config], capsys)
    assert_clean_error(code, err, "prepare.yaml", "not valid YAML")


def test_prepare_without_source_is_a_clean_error(tmp_path, capsys):
    code, _, err = run_cli(["prepare", "--out", tmp_path / "x"], capsys)
    assert_clean_error(code, err, "SOURCE and --out")


def test_info_and_verify_report_on_a_set(class_folders, tmp_path, capsys):
    run_cli(["prepare", class_folders, "--out", tmp_path / "set", "--size", "8", "--salt", "k"], capsys)
    code, out, _ = run_cli(["info", tmp_path / "set"], capsys)
    assert code == 0 and "patients" in out and "pneumonia" in out
    code, out, _ = run_cli(["info", "--json", tmp_path / "set"], capsys)
    assert code == 0 and json.loads(out)["counts"]["images"] == 12
    code, out, _ = run_cli(["verify", tmp_path / "set"], capsys)
    assert code == 0 and "all images match" in out
    (tmp_path / "set/images/000003.png").write_bytes(b"broken")
    code, _, err = run_cli(["verify", tmp_path / "set"], capsys)
    assert code == 2 and "000003" in err and "1 problem(s)" in err


def test_version_flag(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and "synthgen" in out


@pytest.mark.parametrize(("given", "expected"), [
    ({}, "PASSIVE"),
    ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"),
    ({"GOMP_SPINCOUNT": "10000"}, None),  # the user's spin count alone decides
])
def test_main_makes_idle_openmp_threads_sleep_unless_the_user_chose_a_wait_setting(monkeypatch, given, expected):
    import os

    from synthgen.cli import main

    for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):  # set first so that teardown restores what main() sets
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    for key, value in given.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.argv", ["synthgen", "--help"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert os.environ.get("OMP_WAIT_POLICY") == expected
