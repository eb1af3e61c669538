"""`synthgen sample`: the synthetic image set, per-image seeds, shards, samplers, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.config import DiffusionConfig, LossWeighting, Parametrization, Prediction
from synthgen.model.diffusion import loss_weights, training_scheduler
from synthgen.model.labels import LabelSpace, label_prior
from synthgen.hashing import file_sha256
from synthgen.model.model_card import ModelCard
from synthgen.model.sample_provenance import SampleProvenance
from synthgen.model.sample import _split_like, image_seed, plan_samples, sample
from synthgen.model.train import train
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.model import tiny_config


@pytest.fixture(scope="module")
def data16(tmp_path_factory) -> Path:
    return phantom(tmp_path_factory.mktemp("sample") / "data", n=60, size=16, seed=1).root


@pytest.fixture(scope="module")
def run16(data16) -> Path:
    """An edm model (the default parametrization)."""
    train(data16, data16.parent / "run", tiny_config(training={"grid_per_class": 0}), progress=False)
    return data16.parent / "run"


@pytest.fixture(scope="module")
def run16_vp(data16) -> Path:
    config = tiny_config(diffusion={"parametrization": "vp"}, training={"grid_per_class": 0},
                         sampling={"sampler": "ddim"})
    train(data16, data16.parent / "run-vp", config, progress=False)
    return data16.parent / "run-vp"


def pixels_by_index(image_set: ImageSet) -> dict[int, bytes]:
    return {int(row["sample_index"]): (image_set.root / row["path"]).read_bytes() for row in image_set.rows}


def test_sampled_set_is_a_synthetic_image_set_with_provenance(run16, tmp_path):
    out = sample(run16, tmp_path / "syn", per_class={"normal": 3, "effusion": 2}, seed=5, progress=False)
    assert out.kind == "synthetic" and out.verify() == []
    assert [row["label"] for row in out.rows] == ["normal"] * 3 + ["effusion"] * 2
    model_sha = file_sha256(run16 / "model" / "weights.pt")
    for i, row in enumerate(out.rows):
        assert row["seed"] == str(image_seed(5, i)) and row["model_sha256"] == model_sha
        assert (row["sampler"], row["steps"], row["guidance"], row["churn"]) == ("dpm++", "4", "1.0", "0.0")
        assert row["patient_id"] == f"SYN-{i:06d}"
    effusion_rows = [row for row in out.rows if row["label"] == "effusion"]
    assert all(row["finding_effusion"] == "1" for row in effusion_rows)  # findings drawn from the class's combos
    provenance = SampleProvenance.of(out)
    assert provenance.model_sha256 == model_sha and provenance.run == str(run16.resolve())
    assert provenance.training_set == ModelCard.read(run16 / "model" / "model_card.json").training_set
    assert provenance.model_card.model_sha256 == model_sha
    assert (provenance.sampling.seed, provenance.sampling.per_class, provenance.sampling.stop) == (
        5, {"normal": 3, "effusion": 2}, 5)
    pixels = out.load_pixels()
    assert pixels.shape == (5, 16, 16) and pixels.std() > 0


def test_shards_and_single_images_reproduce_the_full_run_exactly(run16, tmp_path):
    full = sample(run16, tmp_path / "full", n=7, seed=3, batch_size=4, progress=False)
    first = sample(run16, tmp_path / "a", n=7, seed=3, start=0, count=3, batch_size=2, progress=False)
    rest = sample(run16, tmp_path / "b", n=7, seed=3, start=3, batch_size=8, progress=False)
    alone = sample(run16, tmp_path / "one", n=7, seed=3, start=5, count=1, progress=False)
    expected = pixels_by_index(full)
    assert {**pixels_by_index(first), **pixels_by_index(rest)} == expected
    assert pixels_by_index(alone) == {5: expected[5]}
    other_seed = sample(run16, tmp_path / "other", n=7, seed=4, progress=False)
    assert pixels_by_index(other_seed) != expected


def test_ddpm_sampler_gives_other_images_and_records_its_settings(run16_vp, tmp_path):
    ddim = sample(run16_vp, tmp_path / "ddim", n=2, progress=False)
    ddpm = sample(run16_vp, tmp_path / "ddpm", n=2, sampler="ddpm", guidance=3.0, progress=False)
    assert (ddpm.rows[0]["sampler"], ddpm.rows[0]["steps"], ddpm.rows[0]["guidance"]) == ("ddpm", "4", "3.0")
    assert pixels_by_index(ddim) != pixels_by_index(ddpm)


class LabelEcho(torch.nn.Module):
    """A stand-in network whose output is the sum of its label vector: 0 when labels are dropped."""

    def forward(self, x, timesteps, class_labels=None):
        return torch.ones_like(x) * class_labels.sum(dim=1).view(-1, 1, 1, 1)


@pytest.mark.parametrize(("guidance", "expected"), [(0.0, 0.0), (1.0, 2.0), (1.5, 3.0), (3.0, 6.0)])
def test_classifier_free_guidance_mixes_conditional_and_unconditional_outputs(guidance, expected):
    from synthgen.model.config import NetworkConfig
    from synthgen.model.pipeline import DiffusionPipeline

    config = DiffusionConfig(parametrization=Parametrization.VP)
    pipeline = DiffusionPipeline(LabelEcho(), NetworkConfig(), config, LabelSpace(("a", "b"), ("f",)), 4)
    conditions = pipeline.labels.encode(np.array([1]), np.array([[1]]))  # two labels on: conditional output 2
    output = pipeline._guided_output(torch.zeros(1, 1, 4, 4), 5, conditions, guidance)
    assert torch.allclose(output, torch.full((1, 1, 4, 4), expected))


def test_plan_splits_n_like_the_training_set_and_is_deterministic():
    space = LabelSpace(("a", "b"), ("f",))
    conditions = space.encode(np.array([0, 0, 0, 1]), np.array([[0], [0], [1], [1]]))
    prior = label_prior(conditions, space)
    assert prior == {"class_counts": [3, 1], "findings_by_class": [[[[0], 2], [[1], 1]], [[[1], 1]]]}
    plan = plan_samples(prior, space, 8, None, seed=0)
    assert plan.class_indices.tolist() == [0] * 6 + [1] * 2
    assert plan.findings[6:].tolist() == [[1], [1]]
    again = plan_samples(prior, space, 8, None, seed=0)
    assert np.array_equal(plan.findings, again.findings) and np.array_equal(plan.seeds, again.seeds)
    assert _split_like(10, np.array([1.0, 1.0, 1.0])) == [4, 3, 3]


def test_min_snr_weights_golden_values():
    config = DiffusionConfig(timesteps=10, prediction=Prediction.EPSILON, loss_weighting=LossWeighting.MIN_SNR,
                             min_snr_gamma=5.0)
    scheduler = training_scheduler(config)
    t = torch.tensor([0, 9])
    alphas = scheduler.alphas_cumprod[t]
    snr = alphas / (1 - alphas)
    weights = loss_weights(scheduler, config, t)
    assert weights[0].item() == pytest.approx(5.0 / snr[0].item(), rel=1e-5)  # low noise: capped
    assert weights[1].item() == pytest.approx(1.0, rel=1e-5)  # high noise: snr < gamma
    v_config = DiffusionConfig(timesteps=10, prediction=Prediction.V_PREDICTION)
    v_weights = loss_weights(scheduler, v_config, t)
    assert v_weights[1].item() == pytest.approx(snr[1].item() / (snr[1].item() + 1), rel=1e-5)
    assert math.isfinite(v_weights[0].item())


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--n", "4", "--guidance", "-1"], ("--guidance", "-1")),
        (["--n", "0"], ("--n", "0")),
        (["--per-class", "pneumonia=3"], ("pneumonia", "normal")),
        (["--per-class", "normal"], ("--per-class", "class=count")),
        ([], ("--n N", "--per-class")),
        (["--n", "4", "--steps", "0"], ("--steps",)),
        (["--n", "4", "--start", "3", "--count", "5"], ("--start 3", "4 planned")),
        (["--n", "4", "--sampler", "ddim"], ("'ddim'", "edm", "valid: dpm++, heun")),
        (["--n", "4", "--churn", "-1"], ("--churn", "-1")),
    ],
)
def test_bad_sample_options_are_one_line_errors(run16, tmp_path, capsys, args, fragments):
    code, _, err = run_cli(["sample", "--run", run16, "--out", tmp_path / "syn", *args], capsys)
    assert_clean_error(code, err, *fragments)
    assert not (tmp_path / "syn").exists()


def test_missing_or_corrupted_model_is_a_clear_error(run16, tmp_path, capsys):
    code, _, err = run_cli(["sample", "--run", tmp_path / "nowhere", "--out", tmp_path / "syn", "--n", "2"], capsys)
    assert_clean_error(code, err, "config.json", "synthgen train")
    broken = tmp_path / "broken"
    (broken / "model").mkdir(parents=True)
    (broken / "model" / "config.json").write_text((run16 / "model" / "config.json").read_text())
    (broken / "model" / "weights.pt").write_bytes(b"not a checkpoint")
    code, _, err = run_cli(["sample", "--run", broken, "--out", tmp_path / "syn", "--n", "2"], capsys)
    assert_clean_error(code, err, "weights.pt", "corrupted")


def test_sample_cli_writes_the_set(run16, tmp_path, capsys):
    code, out, err = run_cli(["sample", "--run", run16, "--out", tmp_path / "syn", "--per-class",
                              "normal=2,nodule=1", "--seed", "2"], capsys)
    assert code == 0, err
    image_set = ImageSet.open(tmp_path / "syn")
    assert json.loads((tmp_path / "syn" / "dataset.json").read_text())["counts"]["images"] == 3
    assert sorted(row["label"] for row in image_set.rows) == ["nodule", "normal", "normal"]


def test_sampling_an_unknown_class_via_the_api_raises(run16, tmp_path):
    with pytest.raises(SynthgenError, match="not known to the model"):
        sample(run16, tmp_path / "x", per_class={"fracture": 2}, progress=False)


@pytest.mark.parametrize("sampler", ["ddim", "dpm++", "ddpm"])
def test_every_sampler_recovers_a_single_point_distribution_exactly(sampler):
    """A network that always predicts the clean image x0 = c (via its v or epsilon form) must lead every
    sampler to c: a golden value for the update rules and their shared noise schedule."""
    from synthgen.model.config import NetworkConfig, Sampler
    from synthgen.model.diffusion import training_scheduler
    from synthgen.model.pipeline import DiffusionPipeline

    config = DiffusionConfig(parametrization=Parametrization.VP, timesteps=50)
    alphas = training_scheduler(config).alphas_cumprod
    target = 0.25

    class Oracle(torch.nn.Module):
        def forward(self, x, timesteps, class_labels=None):
            a = alphas[timesteps].view(-1, 1, 1, 1)
            noise = (x - a.sqrt() * target) / (1 - a).sqrt()
            return a.sqrt() * noise - (1 - a).sqrt() * target  # v = sqrt(a) * noise - sqrt(1 - a) * x0

    pipeline = DiffusionPipeline(Oracle(), NetworkConfig(), config, LabelSpace(("a",)), 4)
    images = pipeline(pipeline.labels.encode(np.array([0, 0])), [1, 2], Sampler(sampler), steps=8)
    assert torch.allclose(images, torch.full_like(images, target), atol=1e-3)


def test_heun_asked_of_a_vp_model_is_a_one_line_error_naming_the_valid_samplers(run16_vp, tmp_path, capsys):
    code, _, err = run_cli(["sample", "--run", run16_vp, "--out", tmp_path / "x", "--n", "2", "--sampler", "heun"],
                           capsys)
    assert_clean_error(code, err, "'heun'", "vp", "valid: ddim, dpm++, ddpm")
    assert not (tmp_path / "x").exists()
