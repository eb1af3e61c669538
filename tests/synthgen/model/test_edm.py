"""EDM parametrization, Heun sampler, post-hoc EMA profiles, training budgets, and loading a model
saved before EDM existed."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.model.config import DiffusionConfig, NetworkConfig, Sampler
from synthgen.model.config_files import config_from_dict
from synthgen.model.edm import EDMDenoiser, edm_loss, sigma_steps
from synthgen.model.ema import PowerEMAProfiles, power_exponent
from synthgen.model.labels import LabelSpace
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.run_folder import load_state_dict
from synthgen.model.sample import sample
from synthgen.model.train import train
from tests.fixtures.model import tiny_config
from tests.fixtures.paths import TEST_DATA


LEGACY = TEST_DATA / "legacy_v1_model"


class Oracle(torch.nn.Module):
    """F such that D(x; sigma) = c_skip x + c_out F is the ideal denoiser of N(mean, std²) data,
    recovering sigma and x from the preconditioned inputs (a golden value for c_in, c_noise, c_skip, c_out)."""

    def __init__(self, sigma_data: float, mean: float, std: float) -> None:
        super().__init__()
        self.sigma_data, self.mean, self.std = sigma_data, mean, std

    def forward(self, scaled, c_noise, class_labels=None):
        sigma = torch.exp(4.0 * c_noise).view(-1, 1, 1, 1)
        sd2 = self.sigma_data ** 2
        x = scaled * (sd2 + sigma ** 2).sqrt()  # undo c_in
        ideal = self.mean + self.std ** 2 / (self.std ** 2 + sigma ** 2) * (x - self.mean)
        c_skip, c_out = sd2 / (sigma ** 2 + sd2), sigma * self.sigma_data / (sigma ** 2 + sd2).sqrt()
        return (ideal - c_skip * x) / c_out


def test_preconditioning_golden_values_at_sigma_equal_sigma_data():
    c_skip, c_out, c_in, c_noise = EDMDenoiser(torch.nn.Identity(), 0.5).coefficients(torch.tensor([0.5]))
    assert c_skip.item() == pytest.approx(0.5)
    assert c_out.item() == pytest.approx(0.5 / math.sqrt(2))
    assert c_in.item() == pytest.approx(1 / (0.5 * math.sqrt(2)))
    assert c_noise.item() == pytest.approx(math.log(0.5) / 4)


def test_sigma_grid_runs_from_sigma_max_to_sigma_min_on_the_rho_grid_then_zero():
    grid = sigma_steps(DiffusionConfig(sigma_min=0.002, sigma_max=80.0, rho=7.0), 5)
    assert grid[0].item() == pytest.approx(80.0) and grid[4].item() == pytest.approx(0.002) and grid[5] == 0
    middle = (80.0 ** (1 / 7) + 0.5 * (0.002 ** (1 / 7) - 80.0 ** (1 / 7))) ** 7
    assert grid[2].item() == pytest.approx(middle)


@pytest.mark.parametrize(("sampler", "steps", "churn"), [("heun", 32, 0.0), ("heun", 64, 10.0), ("dpm++", 40, 0.0)])
def test_edm_samplers_with_the_ideal_denoiser_sample_the_gaussian_data_distribution(sampler, steps, churn):
    config = DiffusionConfig(sigma_data=0.5)
    pipeline = DiffusionPipeline(Oracle(0.5, mean=0.2, std=0.3), NetworkConfig(), config, LabelSpace(("a",)), 8)
    images = pipeline(pipeline.labels.encode(np.zeros(64, dtype=int)), list(range(64)), Sampler(sampler), steps,
                      churn=churn)
    assert images.mean().item() == pytest.approx(0.2, abs=0.01)
    assert images.std().item() == pytest.approx(0.3, abs=0.015)


def test_edm_loss_of_the_ideal_denoiser_is_the_irreducible_posterior_variance():
    """For N(0, s²) data the ideal denoiser's weighted error is lambda * s² sigma² / (s² + sigma²), not 0:
    check the loss against that closed form at one fixed noise level (p_std -> 0)."""
    s, sigma = 0.4, 0.7
    config = DiffusionConfig(sigma_data=0.5, p_mean=math.log(sigma), p_std=1e-9)
    denoiser = EDMDenoiser(Oracle(0.5, mean=0.0, std=s), 0.5)
    images = torch.randn((256, 1, 8, 8), generator=torch.Generator().manual_seed(0)) * s
    loss = edm_loss(denoiser, config, images, torch.zeros(256, 1), torch.Generator().manual_seed(1)).item()
    weight = (sigma ** 2 + 0.25) / (sigma * 0.5) ** 2
    assert loss == pytest.approx(weight * s ** 2 * sigma ** 2 / (s ** 2 + sigma ** 2), rel=0.05)


def test_power_ema_exponents_match_edm2_and_weigh_step_t_by_t_to_the_gamma():
    assert power_exponent(0.05) == pytest.approx(16.97, abs=0.01)
    assert power_exponent(0.10) == pytest.approx(6.94, abs=0.01)
    network = torch.nn.Linear(1, 1, bias=False)
    profiles = PowerEMAProfiles(network, (0.1,))
    for t in range(1, 201):
        with torch.no_grad():
            network.weight.fill_(float(t))
        profiles.update(network, t)
    gamma = power_exponent(0.1)
    t = np.arange(1, 201, dtype=np.float64)
    weights = t ** (gamma + 1) - (t - 1) ** (gamma + 1)  # the discrete form of weights ~ (gamma + 1) t^gamma
    assert profiles.models[0].weight.item() == pytest.approx((weights * t).sum() / weights.sum(), rel=1e-5)


def test_config_needs_steps_or_minutes_and_a_budget_free_schedule_for_minutes_alone():
    with pytest.raises(SynthgenError, match="give steps, minutes or both"):
        config_from_dict({"training": {"steps": None}})
    with pytest.raises(SynthgenError, match="cosine needs steps"):
        config_from_dict({"training": {"steps": None, "minutes": 5}})
    assert config_from_dict({"training": {"steps": None, "minutes": 5, "lr_schedule": "rsqrt"}}).training.minutes == 5
    with pytest.raises(SynthgenError, match="sampling.sampler 'ddim'.*valid: dpm\\+\\+, heun"):
        config_from_dict({"sampling": {"sampler": "ddim"}})
    with pytest.raises(SynthgenError, match="diffusion.parametrization is 've'; valid values: edm, vp"):
        config_from_dict({"diffusion": {"parametrization": "ve"}})


@pytest.fixture(scope="module")
def data16(tmp_path_factory) -> Path:
    return phantom(tmp_path_factory.mktemp("edm") / "data", n=60, size=16, seed=2).root


def test_minutes_budget_stops_training_and_writes_the_final_model(data16, tmp_path):
    config = tiny_config(training={"steps": None, "minutes": 0.0001, "lr_schedule": "constant", "grid_per_class": 0})
    result = train(data16, tmp_path / "run", config, progress=False)
    card = json.loads((tmp_path / "run" / "model" / "model_card.json").read_text())
    assert result.steps >= 1 and card["steps"] == result.steps
    assert card["budget"] == {"steps": None, "minutes": 0.0001}
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


def test_edm_model_records_measured_sigma_data_and_the_chosen_ema_profile(data16, tmp_path):
    config = tiny_config(training={"ema_profiles": [0.05, 0.1], "ema_selection_images": 8, "grid_per_class": 0})
    train(data16, tmp_path / "run", config, progress=False)
    model = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert model["format_version"] == 2 and model["diffusion"]["parametrization"] == "edm"
    assert 0.1 < model["diffusion"]["sigma_data"] < 1.0
    ema = json.loads((tmp_path / "run" / "model" / "model_card.json").read_text())["ema"]
    assert ema["kind"] == "power" and set(ema["fd"]) == {"power-0.05", "power-0.1"}
    assert ema["chosen"] == min(ema["fd"], key=ema["fd"].get) and ema["scored_against"] == "train"
    chosen = ema["profiles"].index(float(ema["chosen"].split("-")[1]))
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    weights = load_state_dict(tmp_path / "run" / "model" / "weights.pt")
    assert all(torch.equal(weights[k], state["ema_profiles"][chosen][k]) for k in weights)


def test_a_model_saved_before_edm_still_loads_and_samples_the_same_pixels(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(LEGACY, run / "model")
    (run / "config.yaml").write_text((LEGACY / "run_config.yaml").read_text())
    expected = json.loads((LEGACY / "expected_samples.json").read_text())
    out = sample(run, tmp_path / "syn", n=expected["n"], seed=expected["seed"], progress=False)
    assert [row["sampler"] for row in out.rows] == [expected["sampler"]] * expected["n"]
    pixels = [np.asarray(Image.open(out.root / row["path"])).tolist() for row in out.rows]
    assert pixels == expected["pixels"]
