"""`synthgen run` killed with SIGKILL at several points, then started again, finishes with exactly
the files of an uninterrupted run: no duplicates, no corrupt or half-written outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen.workflow import run
from synthgen.workflow.state import tree_sha256
from tests.fixtures.paths import REPO
from tests.fixtures.workflow import differing_images, leftovers, read_state, write_run_config


pytestmark = pytest.mark.slow  # four tiny pipelines in subprocesses: about a minute, more on a busy machine

ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _start(config: Path, root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "synthgen", "-q", "run", str(config), "--out", str(root)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stage_status(root: Path, stage: str) -> str | None:
    try:
        return json.loads((root / "run.json").read_text())["stages"].get(stage, {}).get("status")
    except (OSError, ValueError):
        return None


def _kill_when(process: subprocess.Popen, ready, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}: {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()


def test_killed_runs_resume_to_the_files_of_an_uninterrupted_run(tmp_path):
    config = write_run_config(tmp_path / "tiny.yaml")
    reference = tmp_path / "reference"
    run(config, reference, progress=False)
    root = tmp_path / "killed"
    checkpoint = root / ".stage-train.partial" / "model" / "checkpoints" / "last.pt"

    # 1. during training, once a checkpoint exists: the next run must continue from it
    _kill_when(_start(config, root), lambda: checkpoint.is_file(), "the first training checkpoint")
    assert _stage_status(root, "train") == "running" and not (root / "model").exists()
    # 2. while the audit runs (its staging folder is thrown away and the stage starts again)
    _kill_when(_start(config, root), lambda: _stage_status(root, "audit") == "running", "the audit")
    assert (root / ".stage-audit.partial").exists()
    # 3. while the validation runs, after the audit committed both of its outputs
    _kill_when(_start(config, root), lambda: _stage_status(root, "validate") == "running", "the validation")

    result = run(config, root, progress=False)
    assert result.skipped == ["prepare", "train", "sample", "audit"] and result.ran == ["validate", "export"]
    stages = read_state(root)["stages"]
    assert stages["train"]["summary"]["resumed_from_step"] > 0
    assert all(record["status"] == "done" for record in stages.values())
    assert leftovers(root) == []
    # exact resume: the same model, samples, filtered set and exported files as without any kill
    reference_stages = read_state(reference)["stages"]
    assert stages["prepare"]["outputs"]["data"] == reference_stages["prepare"]["outputs"]["data"]
    assert stages["train"]["summary"]["model_sha256"] == reference_stages["train"]["summary"]["model_sha256"]
    assert stages["audit"]["summary"] == reference_stages["audit"]["summary"]
    assert differing_images(reference, root) == []  # synthetic, filtered and exported PNG and DICOM files
    # no duplicates: every image folder holds exactly its manifest's files
    for folder in ("synthetic", "synthetic-filtered", "export/dicom"):
        manifest = (root / folder / "manifest.csv").read_text().strip().splitlines()[1:]
        assert len(list((root / folder / "images").iterdir())) == len(manifest), folder
    assert tree_sha256(root / "export") == stages["export"]["outputs"]["export"]
