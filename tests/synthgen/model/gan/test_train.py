"""Training the GAN (`model.kind: gan`): run folder, determinism, EMA, resume after kill -9, NaN stop, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.imageset.pngio import decode_png
from synthgen.model.ema import averaged_state
from synthgen.model.gan.pipeline import GanPipeline
from synthgen.model.network import count_parameters
from synthgen.model.train import train
from tests.fixtures.paths import REPO
from tests.fixtures.gan import tiny_gan_config
from tests.fixtures.model import state_dicts_equal, torchrun_train, write_config



@pytest.fixture(scope="module")
def trained(tmp_path_factory, data16) -> Path:
    run = tmp_path_factory.mktemp("runs") / "gan"
    train(data16, run, tiny_gan_config(), progress=False)
    return run


def _weights(run: Path) -> dict:
    return torch.load(run / "model" / "weights.pt", weights_only=True)


def test_gan_run_folder_holds_the_ema_generator_config_card_logs_and_grids(trained, data16):
    pipeline = GanPipeline.load(trained / "model")
    source = ImageSet.open(data16)
    assert pipeline.labels.classes == tuple(source.classes) and pipeline.labels.findings == tuple(source.findings)
    assert pipeline.generator.label_embed.in_features == len(source.classes) + len(source.findings)  # multi-label
    assert 1000 < count_parameters(pipeline.generator) < 20000
    checkpoint = torch.load(trained / "checkpoints" / "last.pt", weights_only=True)
    assert state_dicts_equal(_weights(trained), averaged_state(checkpoint["ema"]))
    assert not state_dicts_equal(_weights(trained), checkpoint["generator"])  # the EMA, not the raw G
    card = json.loads((trained / "model" / "model_card.json").read_text())
    assert card["kind"] == "gan" and card["steps"] == 6 and card["image_size"] == 16
    assert card["training_set"]["manifest_sha256"] == source.manifest_sha256
    assert 0.0 <= card["augment_probability"] <= 1.0 and card["discriminator_parameters"] > 1000
    rows = (trained / "log.csv").read_text().splitlines()
    assert rows[0] == "step,loss,lr,images_per_s,elapsed_s" and [r.split(",")[0] for r in rows[1:]] == ["2", "4", "6"]
    assert card["final_loss"] == pytest.approx(float(rows[-1].split(",")[1]), abs=0.5)  # last step vs window mean
    assert list((trained / "tensorboard").glob("events.out.tfevents.*"))
    grid = decode_png(trained / "samples" / "step-0000006.png")
    assert grid.shape == (16 * len(source.classes), 16 * 2) and grid.std() > 0
    assert (trained / "samples" / "step-0000003.png").is_file()
    assert json.loads((trained / "model" / "config.json").read_text())["format"] == "synthgen-gan-model"


def test_same_seed_gives_identical_weights_and_another_seed_differs(tmp_path, data16, trained):
    train(data16, tmp_path / "again", tiny_gan_config(), progress=False)
    train(data16, tmp_path / "other", tiny_gan_config(training={"seed": 1}), progress=False)
    assert state_dicts_equal(_weights(trained), _weights(tmp_path / "again"))
    assert not state_dicts_equal(_weights(trained), _weights(tmp_path / "other"))


def test_ema_after_two_steps_is_the_warmed_up_average_of_the_two_generators(tmp_path, data16):
    """AveragedModel copies G after step 1; step 2 moves it by 1 - min(decay, 2/11) toward G."""
    config = dict(training={"grid_per_class": 0, "checkpoint_every": 1, "log_every": 1})
    train(data16, tmp_path / "one", tiny_gan_config(training={**config["training"], "steps": 1}), progress=False)
    train(data16, tmp_path / "two", tiny_gan_config(training={**config["training"], "steps": 2}), progress=False)
    g1 = torch.load(tmp_path / "one" / "checkpoints" / "last.pt", weights_only=True)["generator"]
    g2 = torch.load(tmp_path / "two" / "checkpoints" / "last.pt", weights_only=True)["generator"]
    ema = _weights(tmp_path / "two")
    for key in g1:
        torch.testing.assert_close(ema[key], g1[key] + (g2[key] - g1[key]) * (9.0 / 11.0), rtol=1e-5, atol=1e-7)


def test_resume_after_kill_9_gives_bit_identical_weights(tmp_path, data16):
    config = tiny_gan_config(training={"steps": 40, "checkpoint_every": 4, "log_every": 4, "grid_per_class": 0,
                                       "d_steps": 2})
    config_path = write_config(tmp_path / "config.yaml", config)
    train(data16, tmp_path / "straight", config, progress=False)
    command = [sys.executable, "-m", "synthgen", "-q", "train", "--data", str(data16), "--out",
               str(tmp_path / "killed"), "--config", str(config_path)]
    checkpoint = tmp_path / "killed" / "checkpoints" / "last.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = torch.load(checkpoint, weights_only=True)["step"]
    assert 4 <= killed_at < 40, "the run finished before it could be killed; raise training.steps"
    assert not (tmp_path / "killed" / "model" / "weights.pt").exists()
    assert subprocess.run([*command, "--resume"], cwd=REPO, env=env).returncode == 0
    assert state_dicts_equal(_weights(tmp_path / "straight"), _weights(tmp_path / "killed"))
    straight = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    resumed = torch.load(checkpoint, weights_only=True)
    assert state_dicts_equal(straight["discriminator"], resumed["discriminator"])
    assert straight["augment_p"] == resumed["augment_p"] and straight["ada_window"] == resumed["ada_window"]
    rows = [line.split(",") for line in (tmp_path / "killed" / "log.csv").read_text().splitlines()[1:]]
    assert [int(row[0]) for row in rows] == list(range(4, 41, 4))


def test_nan_losses_stop_naming_the_step_and_keep_the_last_good_checkpoint(tmp_path, data16, monkeypatch):
    import synthgen.model.gan.train as gan_train

    real_step = gan_train.adversarial_step

    def diverging(models, config, reals, conditions, step, *rest):
        losses = real_step(models, config, reals, conditions, step, *rest)
        if step == 4:  # the fifth step
            losses.discriminator = float("nan")
        return losses

    monkeypatch.setattr(gan_train, "adversarial_step", diverging)
    run = tmp_path / "nan"
    with pytest.raises(SynthgenError, match=r"diverged at step 5: D loss nan.*last\.pt \(step 3\)"):
        train(data16, run, tiny_gan_config(training={"steps": 10, "grid_per_class": 0}), progress=False)
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    assert not (run / "model" / "weights.pt").exists()


def test_minutes_budget_stops_training_with_a_final_model(tmp_path, data16):
    run = tmp_path / "budget"
    result = train(data16, run, tiny_gan_config(training={"steps": None, "minutes": 0.002, "grid_per_class": 0,
                                                          "checkpoint_every": 1000}), progress=False)
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert 1 <= result.steps == card["steps"] < 1000 and card["budget"] == {"steps": None, "minutes": 0.002}
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"] == result.steps


def test_torchrun_two_cpu_processes_train_one_gan(tmp_path, data16):
    config_path = write_config(tmp_path / "config.yaml", tiny_gan_config(training={"grid_per_class": 0}))
    result = torchrun_train(data16, tmp_path / "ddp", config_path)
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads((tmp_path / "ddp" / "model" / "model_card.json").read_text())
    assert card["processes"] == 2 and card["steps"] == 6
    pipeline = GanPipeline.load(tmp_path / "ddp" / "model")
    assert np.isfinite(pipeline(torch.eye(9)[:1], [0]).numpy()).all()
