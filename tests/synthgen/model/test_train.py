"""`synthgen train`: run folder contents, determinism, resume after kill -9, DDP, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.imageset.writer import manifest_bytes
from synthgen.imageset.pngio import decode_png
from synthgen.model.model_card import ModelCard, TrainingSetRecord
from synthgen.model.network import count_parameters
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.train import train
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.model import state_dicts_equal, tiny_config, torchrun_train, write_config
from tests.fixtures.paths import REPO



@pytest.fixture(scope="module")
def trained(tmp_path_factory, data16) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    train(data16, run, tiny_config(), progress=False)
    return run


def test_run_folder_holds_weights_config_card_logs_and_grids(trained, data16):
    weights = torch.load(trained / "model" / "weights.pt", weights_only=True)
    pipeline = DiffusionPipeline.load(trained / "model")
    assert 1000 < count_parameters(pipeline.unet) < 20000
    assert state_dicts_equal(weights, pipeline.unet.state_dict())
    card = ModelCard.read(trained / "model" / "model_card.json")
    source = ImageSet.open(data16)
    assert card.training_set.manifest_sha256 == source.manifest_sha256
    assert card.training_set == TrainingSetRecord.read(trained / "training_set.json")
    assert card.classes == source.classes and card.findings == source.findings
    assert card.steps == 6 and card.image_size == 16 and card.seed == 0 and card.kind == "diffusion"
    assert card.versions["monai"] and card.wall_time_s >= 0
    log_rows = (trained / "log.csv").read_text().splitlines()
    assert log_rows[0] == "step,loss,lr,images_per_s,elapsed_s"
    assert [row.split(",")[0] for row in log_rows[1:]] == ["2", "4", "6"]
    assert card.final_loss == pytest.approx(float(log_rows[-1].split(",")[1]), abs=1e-6)
    assert list((trained / "tensorboard").glob("events.out.tfevents.*"))
    grid = decode_png(trained / "samples" / "step-0000006.png")
    assert grid.shape == (16 * len(source.classes), 16 * 2)  # one row per class, grid_per_class columns
    assert (trained / "samples" / "step-0000003.png").is_file()
    prior = json.loads((trained / "model" / "config.json").read_text())["label_prior"]
    train_rows = source.indices("train")
    assert prior["class_counts"] == np.bincount(source.labels()[train_rows], minlength=5).tolist()


def test_same_seed_gives_identical_weights_and_another_seed_differs(tmp_path, data16, trained):
    train(data16, tmp_path / "again", tiny_config(), progress=False)
    train(data16, tmp_path / "other", tiny_config(training={"seed": 1}), progress=False)
    reference = torch.load(trained / "model" / "weights.pt", weights_only=True)
    again = torch.load(tmp_path / "again" / "model" / "weights.pt", weights_only=True)
    other = torch.load(tmp_path / "other" / "model" / "weights.pt", weights_only=True)
    assert state_dicts_equal(reference, again)
    assert not state_dicts_equal(reference, other)


def test_training_lowers_the_loss(tmp_path, data16):
    run = tmp_path / "longer"
    train(data16, run, tiny_config(training={"steps": 40, "log_every": 10, "checkpoint_every": 40,
                                             "grid_per_class": 0, "lr": 0.005}), progress=False)
    losses = [float(line.split(",")[1]) for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert losses[-1] < losses[0]


def test_resume_after_kill_9_gives_bit_identical_weights(tmp_path, data16):
    """edm with post-hoc EMA profiles: the resumed run's profiles, and so the chosen weights, are identical."""
    config = tiny_config(training={"steps": 40, "checkpoint_every": 4, "log_every": 4, "grid_per_class": 0,
                                   "ema_profiles": [0.05, 0.1], "ema_selection_images": 8})
    config_path = write_config(tmp_path / "config.yaml", config)
    train(data16, tmp_path / "straight", config, progress=False)
    command = [sys.executable, "-m", "synthgen", "-q", "train", "--data", str(data16), "--out",
               str(tmp_path / "killed"), "--config", str(config_path)]
    checkpoint = tmp_path / "killed" / "checkpoints" / "last.pt"
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_state = torch.load(checkpoint, weights_only=True)
    killed_at = killed_state["step"]
    assert 4 <= killed_at < 40, "the run finished before it could be killed; raise training.steps"
    assert not (tmp_path / "killed" / "model" / "weights.pt").exists()
    code = subprocess.run([*command, "--resume"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).returncode
    assert code == 0
    straight = torch.load(tmp_path / "straight" / "model" / "weights.pt", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "model" / "weights.pt", weights_only=True)
    assert state_dicts_equal(straight, resumed)
    rows = [line.split(",") for line in (tmp_path / "killed" / "log.csv").read_text().splitlines()[1:]]
    assert [int(row[0]) for row in rows] == list(range(4, 41, 4))  # no step logged twice across the kill
    # Times count the training before the kill: elapsed never drops, the card's wall time covers it.
    elapsed = [float(row[4]) for row in rows]
    assert elapsed == sorted(elapsed) and killed_state["trained_s"] > 0
    card = json.loads((tmp_path / "killed" / "model" / "model_card.json").read_text())
    assert card["wall_time_s"] >= round(killed_state["trained_s"], 1)


def test_torchrun_two_cpu_processes_train_one_model(tmp_path, data16):
    config_path = write_config(tmp_path / "config.yaml", tiny_config(training={"grid_per_class": 0}))
    result = torchrun_train(data16, tmp_path / "ddp", config_path)
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads((tmp_path / "ddp" / "model" / "model_card.json").read_text())
    assert card["processes"] == 2 and card["steps"] == 6
    DiffusionPipeline.load(tmp_path / "ddp" / "model")


# -- bad input -----------------------------------------------------------------------------------
def test_config_with_unknown_key_or_wrong_type_is_refused(tmp_path, data16, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  stepz: 10\n")
    code, _, err = run_cli(["train", "--data", data16, "--out", tmp_path / "r", "--config", bad], capsys)
    assert_clean_error(code, err, "training", "stepz", "steps")
    bad.write_text("training:\n  steps: ten\n")
    code, _, err = run_cli(["train", "--data", data16, "--out", tmp_path / "r", "--config", bad], capsys)
    assert_clean_error(code, err, "training.steps", "int")
    bad.write_text("diffusion:\n  prediction: x0\n")
    code, _, err = run_cli(["train", "--data", data16, "--out", tmp_path / "r", "--config", bad], capsys)
    assert_clean_error(code, err, "diffusion.prediction", "v_prediction")
    assert not (tmp_path / "r").exists()


def test_class_with_zero_training_images_is_refused(tmp_path):
    source = phantom(tmp_path / "set", n=40, size=16, seed=2)
    # Move every train image of one class to val: the class then has no train images.
    for row in source.rows:
        if row["label"] == "effusion":
            row["split"] = "val"
    (source.root / "manifest.csv").write_bytes(manifest_bytes(source.rows, list(source.rows[0])))
    with pytest.raises(SynthgenError, match="effusion have zero train images"):
        train(source.root, tmp_path / "run", tiny_config(), progress=False)


def test_resume_refuses_another_config_or_data_set_and_names_the_difference(tmp_path, data16, trained):
    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    with pytest.raises(SynthgenError, match=r"training\.lr \(0\.002 in the run, 0\.003 now\)"):
        train(data16, run, tiny_config(training={"lr": 0.003}), resume=True, progress=False)
    other = phantom(tmp_path / "other", n=30, size=16, seed=9).root
    with pytest.raises(SynthgenError, match="manifest sha256"):
        train(other, run, tiny_config(), resume=True, progress=False)


def test_corrupted_checkpoint_gives_a_clear_error(tmp_path, data16, trained, capsys):
    run = tmp_path / "copy"
    shutil.copytree(trained, run)
    checkpoint = run / "checkpoints" / "last.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    config_path = write_config(tmp_path / "c.yaml", tiny_config())
    code, _, err = run_cli(["train", "--data", data16, "--out", run, "--config", config_path, "--resume"], capsys)
    assert_clean_error(code, err, "last.pt", "corrupted")


def test_existing_run_folder_needs_resume_or_overwrite(tmp_path, data16, trained, capsys):
    config_path = write_config(tmp_path / "c.yaml", tiny_config())
    code, _, err = run_cli(["train", "--data", data16, "--out", trained, "--config", config_path], capsys)
    assert_clean_error(code, err, str(trained), "--overwrite")


@pytest.mark.parametrize("path", sorted(p for p in (REPO / "configs" / "train").glob("*.yaml")
                                         if not p.name.startswith("gan-")), ids=lambda p: p.name)
def test_shipped_training_configs_load_and_build(path):
    from synthgen.model.config_files import load_train_config
    from synthgen.model.network import build_unet

    config = load_train_config(path)
    assert (config.training.steps or 0) > 0 or (config.training.minutes or 0) > 0
    build_unet(config.network, 3)


def test_ema_decay_ramps_up_so_short_runs_forget_the_initial_weights():
    from synthgen.model.ema import ema_with_warmup

    update = ema_with_warmup(0.999)
    ema, target = [torch.zeros(3)], [torch.ones(3)]
    update(ema, target, torch.tensor(0))  # decay min(0.999, 1/10): moves 90 % of the way
    assert torch.allclose(ema[0], torch.full((3,), 0.9))
    for n in range(1, 300):
        update(ema, target, torch.tensor(n))
    assert float(ema[0][0]) > 0.999  # a fixed 0.999 decay would still be at 1 - 0.999**300 = 0.26
