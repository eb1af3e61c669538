"""Sampling a GAN run with the same commands as a diffusion run: per-image seeds, shards, CLI, options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.gan import tiny_gan_config
from tests.fixtures.model import tiny_config
from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256
from synthgen.imageset import ImageSet
from synthgen.model.gan.pipeline import GanPipeline
from synthgen.model.pipeline import to_pixels
from synthgen.model.sample import image_seed, sample
from synthgen.model.train import train
from synthgen.torch_data import GeneratedDataset


@pytest.fixture(scope="module")
def gan16(tmp_path_factory) -> Path:
    data = phantom(tmp_path_factory.mktemp("gan-sample") / "data", n=60, size=16, seed=1).root
    train(data, data.parent / "run", tiny_gan_config(training={"grid_per_class": 0}, sampling={"truncation": 0.9}),
          progress=False)
    return data.parent / "run"


def _pixels_by_index(image_set: ImageSet) -> dict[int, bytes]:
    return {int(row["sample_index"]): (image_set.root / row["path"]).read_bytes() for row in image_set.rows}


def test_gan_samples_record_sampler_gan_one_step_and_the_truncation(gan16, tmp_path):
    out = sample(gan16, tmp_path / "syn", per_class={"normal": 3, "effusion": 2}, seed=5, progress=False)
    assert out.kind == "synthetic" and out.verify() == []
    model_sha = file_sha256(gan16 / "model" / "weights.pt")
    for i, row in enumerate(out.rows):
        assert row["seed"] == str(image_seed(5, i)) and row["model_sha256"] == model_sha
        assert (row["sampler"], row["steps"], row["guidance"], row["churn"], row["truncation"]) == \
            ("gan", "1", "1.0", "0.0", "0.9")  # truncation from the run's sampling config
    provenance = out.info["provenance"]
    assert provenance["generator"] == "gan" and provenance["sampling"]["truncation"] == 0.9
    assert provenance["model_card"]["kind"] == "gan"
    assert all(r["finding_effusion"] == "1" for r in out.rows if r["label"] == "effusion")


def test_each_image_is_a_function_of_seed_and_index_and_shards_equal_the_full_run(gan16, tmp_path):
    full = sample(gan16, tmp_path / "full", n=14, seed=3, batch_size=4, progress=False)
    first = sample(gan16, tmp_path / "a", n=14, seed=3, start=0, count=5, batch_size=3, progress=False)
    rest = sample(gan16, tmp_path / "b", n=14, seed=3, start=5, batch_size=8, progress=False)
    whole = _pixels_by_index(full)
    assert {**_pixels_by_index(first), **_pixels_by_index(rest)} == whole
    assert len(set(whole.values())) == 14  # every image differs
    pipeline = GanPipeline.load(gan16 / "model")
    row = full.rows[9]
    vector = pipeline.labels.encode(np.array([pipeline.labels.class_index(row["label"])]),
                                    np.array([[int(row[f"finding_{f}"]) for f in pipeline.labels.findings]]))
    alone = to_pixels(pipeline(vector, [int(row["seed"])], truncation=0.9), 8)[0]
    assert np.array_equal(alone, _decoded(full, 9))
    other_seed = sample(gan16, tmp_path / "c", n=14, seed=4, progress=False)
    assert _pixels_by_index(other_seed)[0] != whole[0]


def _decoded(image_set: ImageSet, index: int) -> np.ndarray:
    from synthgen.imageset.pngio import decode_png

    return decode_png(image_set.root / image_set.rows[index]["path"])


def test_truncation_option_overrides_the_config_and_narrows_the_variety(gan16, tmp_path):
    wide = sample(gan16, tmp_path / "wide", per_class={"normal": 16}, truncation=1.0, progress=False)
    narrow = sample(gan16, tmp_path / "narrow", per_class={"normal": 16}, truncation=0.1, progress=False)
    assert narrow.rows[0]["truncation"] == "0.1"
    spread = lambda s: float(s.load_pixels(list(range(16))).std(axis=0).mean())  # noqa: E731
    assert spread(narrow) < spread(wide)


def test_generated_dataset_draws_the_same_images_as_sample_from_a_gan(gan16, tmp_path):
    out = sample(gan16, tmp_path / "syn", n=6, seed=2, progress=False, truncation=0.9)
    dataset = GeneratedDataset(gan16, n=6, seed=2)
    for i in (0, 5):
        item = dataset[i]
        assert np.array_equal(np.round(item["image"][0].numpy() * 255).astype(np.uint8), _decoded(out, i))


def test_cli_samples_a_valid_image_set_from_a_gan_run(gan16, tmp_path, capsys):
    code, out, err = run_cli(["sample", "--run", gan16, "--out", tmp_path / "cli", "--n", "10", "--truncation", "0.7"],
                             capsys)
    assert code == 0, err
    image_set = ImageSet.open(tmp_path / "cli")
    assert len(image_set) == 10 and image_set.verify() == [] and image_set.image_size == 16
    assert {row["truncation"] for row in image_set.rows} == {"0.7"}
    assert "10 synthetic images" in out
    code, _, err = run_cli(["verify", tmp_path / "cli"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("option, value", [("--steps", "10"), ("--sampler", "heun"), ("--guidance", "2"),
                                           ("--churn", "0.5")])
def test_diffusion_options_on_a_gan_run_are_a_one_line_error(gan16, tmp_path, capsys, option, value):
    code, _, err = run_cli(["sample", "--run", gan16, "--out", tmp_path / "x", "--n", "4", option, value], capsys)
    assert_clean_error(code, err, option, "diffusion models", "--truncation")
    assert not (tmp_path / "x").exists()


def test_bad_truncation_is_refused_and_a_diffusion_run_refuses_truncation(gan16, tmp_path, capsys):
    code, _, err = run_cli(["sample", "--run", gan16, "--out", tmp_path / "x", "--n", "4", "--truncation", "1.5"], capsys)
    assert_clean_error(code, err, "--truncation", "(0, 1]")
    data = ImageSet.open(gan16.parent / "data").root
    train(data, tmp_path / "diffusion", tiny_config(training={"grid_per_class": 0, "steps": 2}), progress=False)
    with pytest.raises(SynthgenError, match="--truncation applies to GAN models"):
        sample(tmp_path / "diffusion", tmp_path / "y", n=2, truncation=0.5, progress=False)


def test_weights_that_do_not_fit_the_saved_config_are_a_clear_error(gan16, tmp_path):
    import shutil

    run = tmp_path / "broken"
    shutil.copytree(gan16, run)
    config = json.loads((run / "model" / "config.json").read_text())
    config["generator"]["latent_dim"] = 12
    (run / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SynthgenError, match="weights.pt does not fit"):
        sample(run, tmp_path / "z", n=2, progress=False)
    del config["label_prior"]
    (run / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SynthgenError, match=r"config.json: key 'label_prior' is missing"):
        sample(run, tmp_path / "z", n=2, progress=False)
    assert torch.load(run / "model" / "weights.pt", weights_only=True)
