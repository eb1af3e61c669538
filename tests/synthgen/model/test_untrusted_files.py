"""Untrusted model files (issue 15): a pickle whose object would run code on load is refused, one line,
and the code never runs, whether it sits in a model's weights.pt or in a training checkpoint."""

from __future__ import annotations

import builtins
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.model.checkpoint import load_checkpoint
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.train import train
from synthgen.torch_data import GeneratedDataset
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.model import tiny_config
from tests.fixtures.paths import REPO



class CodeOnLoad:
    """Unpickling this calls exec(): the classic malicious checkpoint (here it only writes a marker)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",)


def write_payload(path: Path, marker: Path, container: str) -> Path:
    """A crafted file: torch.save's zip format (state dict with the object inside) or a bare pickle."""
    if container == "torch.save":
        torch.save({"conv_in.conv.weight": CodeOnLoad(marker), "step": 1}, path)
    else:
        path.write_bytes(pickle.dumps(CodeOnLoad(marker), protocol=2))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("untrusted")
    data = phantom(root / "data", n=40, size=16, seed=0).root
    train(data, root / "run", tiny_config(training={"grid_per_class": 0}), progress=False)
    return data, root / "run"


def copy_run(trained, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained[1], tmp_path / "run"))


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_crafted_payload_really_runs_code_when_loaded_unsafely(tmp_path, container):
    """The fixture is live: without weights_only it would execute (so the refusals below mean something)."""
    marker = tmp_path / "marker"
    path = write_payload(tmp_path / "weights.pt", marker, container)
    if container == "torch.save":
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_crafted_weights_are_refused_by_every_reader_and_never_run(trained, tmp_path, container):
    run = copy_run(trained, tmp_path)
    marker = tmp_path / "marker"
    write_payload(run / "model" / "weights.pt", marker, container)
    with pytest.raises(SynthgenError, match=r"weights\.pt is corrupted or not a synthgen checkpoint"):
        DiffusionPipeline.load(run / "model")
    with pytest.raises(SynthgenError, match=r"weights\.pt is corrupted or not a synthgen checkpoint"):
        GeneratedDataset(run, n=2)
    assert not marker.exists()


def test_cli_sample_from_crafted_weights_is_a_one_line_error_and_writes_nothing(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    marker = tmp_path / "marker"
    write_payload(run / "model" / "weights.pt", marker, "torch.save")
    code, _, err = run_cli(["sample", "--run", run, "--out", tmp_path / "syn", "--n", "2"], capsys)
    assert_clean_error(code, err, "weights.pt", "not a synthgen checkpoint")
    assert not marker.exists() and not (tmp_path / "syn").exists()


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_crafted_checkpoint_is_refused_on_resume_and_never_runs(trained, tmp_path, container):
    run = copy_run(trained, tmp_path)
    marker = tmp_path / "marker"
    write_payload(run / "checkpoints" / "last.pt", marker, container)
    with pytest.raises(SynthgenError, match=r"last\.pt is corrupted or not a synthgen checkpoint"):
        load_checkpoint(run / "checkpoints" / "last.pt")
    with pytest.raises(SynthgenError, match=r"last\.pt is corrupted or not a synthgen checkpoint"):
        train(trained[0], run, run / "config.yaml", resume=True, progress=False)
    assert not marker.exists()


def test_every_torch_load_in_the_code_is_weights_only():
    calls = []
    for path in sorted(REPO.glob("*/**/*.py")):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for match in re.finditer(r"torch\.load\(([^()]|\([^()]*\))*\)", path.read_text()):
            calls.append((path.relative_to(REPO).as_posix(), match.group(0)))
    assert calls, "no torch.load call found: the pattern is broken"
    unsafe = [(name, call) for name, call in calls if "weights_only=True" not in call]
    assert unsafe == []
