"""Training augmentation: edge fill, whole-pixel shifts, the share of warped images, and the labels a
network can be conditioned on so that it does not learn the warp's blur."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from synthgen.errors import SynthgenError
from synthgen.model.augment import AUGMENT_LABELS, augment
from synthgen.model.config import AugmentationConfig
from synthgen.model.network import build_unet, network_conditions
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.run_folder import load_state_dict
from synthgen.model.train import train
from tests.fixtures.model import tiny_config

GEOMETRY_ONLY = {"shift": 0.2, "scale": 0.2, "rotate": 10.0, "contrast": 0.0, "brightness": 0.0}


def random_images(n: int, side: int = 16) -> torch.Tensor:
    return torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(3)) * 2 - 1

def test_augmentation_geometry_brings_in_no_pixel_darker_or_brighter_than_the_image():
    images = torch.linspace(-0.4, 0.6, 16 * 16).view(1, 1, 16, 16).repeat(32, 1, 1, 1)
    config = AugmentationConfig(shift=0.2, scale=0.2, rotate=10.0, contrast=0.0, brightness=0.0)
    out = augment(images, config, torch.Generator().manual_seed(0)).images
    assert out.min().item() >= -0.4 - 1e-5 and out.max().item() <= 0.6 + 1e-5
    assert not torch.equal(out, images)


def test_augmentation_shifts_move_whole_pixels_so_they_add_no_blur():
    # A sub-pixel shift interpolates every pixel: half the high-frequency energy of a 64² radiograph,
    # which the model then learned as the look of an X-ray (docs/PERFORMANCE.md).
    images = torch.rand(64, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    config = AugmentationConfig(shift=0.1, scale=0.0, rotate=0.0, contrast=0.0, brightness=0.0)
    out = augment(images, config, torch.Generator().manual_seed(0)).images
    moved = 0
    for before, after in zip(images[:, 0], out[:, 0]):
        centre = after[4:-4, 4:-4]  # at most 3 pixels (0.1 × 32) of replicated edge on each side
        offsets = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                   if torch.allclose(centre, before[4 + dy:28 + dy, 4 + dx:28 + dx], atol=1e-5)]
        assert len(offsets) == 1, "every image is the original moved by a whole number of pixels"
        moved += offsets[0] != (0, 0)
    assert moved > 48


def test_default_augmentation_draws_the_same_numbers_as_before_warp_probability_existed():
    # Golden value from the code before warp_probability and the labels: a run resumed across that
    # change, or rerun with the same seed, sees the same training batches.
    out = augment(random_images(8), AugmentationConfig(), torch.Generator().manual_seed(0)).images
    # float32 arithmetic differs in the last bits between CPUs (AVX2 vs AVX-512); other draws move it by whole units
    assert float(out.double().sum()) == pytest.approx(-10.482360498281196, abs=1e-4)


def test_warp_probability_zero_leaves_every_pixel_in_place_and_labels_say_so():
    images = random_images(32)
    config = AugmentationConfig(**GEOMETRY_ONLY, warp_probability=0.0)
    out = augment(images, config, torch.Generator().manual_seed(0))
    assert torch.equal(out.images, images)
    assert out.labels.shape == (32, len(AUGMENT_LABELS)) and not out.labels.any()


def test_warp_probability_half_warps_about_half_and_the_warped_label_marks_exactly_those():
    images = random_images(400)
    out = augment(images, AugmentationConfig(**GEOMETRY_ONLY, warp_probability=0.5), torch.Generator().manual_seed(0))
    warped = out.labels[:, AUGMENT_LABELS.index("warped")] == 1
    changed = (out.images != images).flatten(1).any(1)
    assert 0.4 < warped.float().mean() < 0.6
    assert torch.equal(warped, changed)
    assert not out.labels[~warped].any(), "an image left alone has all-zero labels: what sampling asks for"
    assert out.labels.abs().max() <= 1.0


def test_intensity_only_augmentation_labels_contrast_and_brightness_but_no_geometry():
    config = AugmentationConfig(shift=0.0, scale=0.0, rotate=0.0, contrast=0.1, brightness=0.1)
    labels = augment(random_images(64), config, torch.Generator().manual_seed(0)).labels
    geometry = [AUGMENT_LABELS.index(name) for name in ("warped", "zoom", "rotation", "shift_x", "shift_y")]
    assert not labels[:, geometry].any()
    assert labels[:, AUGMENT_LABELS.index("contrast")].abs().min() > 0


def test_warp_probability_outside_zero_to_one_is_refused_naming_the_key():
    with pytest.raises(SynthgenError, match="warp_probability must be in \\[0, 1\\], got 1.5"):
        tiny_config(augmentation={"warp_probability": 1.5})


def test_network_conditions_append_zero_augmentation_labels_unless_given():
    plain, conditioned = tiny_config().network, tiny_config(network={"augment_conditioning": True}).network
    labels = torch.eye(2)
    assert torch.equal(network_conditions(labels, plain), labels)
    padded = network_conditions(labels, conditioned)
    assert padded.shape == (2, 2 + len(AUGMENT_LABELS)) and not padded[:, 2:].any()
    given = torch.ones(2, len(AUGMENT_LABELS))
    assert torch.equal(network_conditions(labels, conditioned, given)[:, 2:], given)


def test_a_model_conditioned_on_augmentation_learns_from_the_labels_saves_and_samples(data16, tmp_path):
    config = tiny_config(network={"augment_conditioning": True},
                         augmentation={**GEOMETRY_ONLY, "warp_probability": 0.5}, training={"grid_per_class": 0})
    train(data16, tmp_path / "run", config, progress=False)
    model = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert model["network"]["augment_conditioning"] is True
    pipeline = DiffusionPipeline.load(tmp_path / "run" / "model")
    label_dim = pipeline.labels.dim
    assert pipeline.unet.class_embedding.in_features == label_dim + len(AUGMENT_LABELS)
    # The augmentation columns of the condition embedding moved away from their seeded initial values.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.training.seed)
        initial = build_unet(config.network, label_dim).class_embedding.weight
    trained = load_state_dict(tmp_path / "run" / "model" / "weights.pt")["class_embedding.weight"]
    assert trained.shape == initial.shape
    assert not torch.allclose(trained[:, label_dim:], initial[:, label_dim:])
    findings = np.zeros((2, len(pipeline.labels.findings)))
    images = pipeline(pipeline.labels.encode([0, 1], findings), seeds=[0, 1], steps=3)
    assert images.shape == (2, 1, pipeline.image_size, pipeline.image_size) and torch.isfinite(images).all()
