"""`real_share`: the share of a mixed (real + synthetic) training pool's draws that are real images."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from synthgen.errors import SynthgenError
from synthgen.workflow.config import load_run_config
from tests.fixtures.cli import assert_clean_error, run_cli
from validation.classifier import Recipe, draw_weights
from validation.options import ValidateOptions
from validation.regimes import plan_regimes, run_regimes, training_pool


def test_draw_weights_balance_classes_then_sources():
    labels = torch.tensor([0, 0, 0, 1, 1])
    real = np.array([True, False, False, True, False])
    # by image count (the default): each class sums to 1, its images alike
    assert draw_weights(labels, 2).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2])
    assert draw_weights(labels, 2, None, real).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2])
    # half of each class's draws real: the one real normal image weighs as much as both synthetic ones
    assert draw_weights(labels, 2, 0.5, real).tolist() == pytest.approx([0.5, 0.25, 0.25, 0.5, 0.5])
    assert draw_weights(labels, 2, 0.8, real).tolist() == pytest.approx([0.8, 0.1, 0.1, 0.8, 0.2])


def test_a_class_with_one_source_keeps_all_its_draws():
    weights = draw_weights(torch.tensor([0, 0, 1, 1]), 2, 0.8, np.array([True, False, False, False]))
    assert weights.tolist() == pytest.approx([0.8, 0.2, 0.5, 0.5])


def test_drawn_batches_take_the_real_share():
    labels = torch.tensor([0] * 10 + [0] * 90 + [1] * 10 + [1] * 90)
    real = np.array(([True] * 10 + [False] * 90) * 2)
    weights = draw_weights(labels, 2, 0.5, real)
    draws = torch.multinomial(weights, 20000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert real[draws.numpy()].mean() == pytest.approx(0.5, abs=0.02)
    plain = torch.multinomial(draw_weights(labels, 2), 20000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert real[plain.numpy()].mean() == pytest.approx(0.1, abs=0.02)


def _data(rng: np.random.Generator) -> SimpleNamespace:
    def images(labels):
        return (rng.random((len(labels), 12, 12)) * 0.3 + labels[:, None, None] * 0.4).astype(np.float32)

    train, synthetic, test = np.arange(40) % 2, np.arange(60) % 2, np.arange(24) % 2
    return SimpleNamespace(classes=["normal", "pneumonia"], train_images=images(train), train_labels=train,
                           synthetic_images=images(synthetic) + 0.1, synthetic_labels=synthetic,
                           test_images=images(test), test_labels=test)


def test_training_pool_marks_its_real_images():
    data = _data(np.random.default_rng(0))
    regimes = {r.name: r for r in plan_regimes((0.25,))}
    x, y, real = training_pool(data, regimes["R25+S"], seed=0)
    assert len(x) == len(y) == 10 + 60 and real.tolist() == [True] * 10 + [False] * 60
    assert not training_pool(data, regimes["TSTR"], seed=0)[2].any()
    assert training_pool(data, regimes["TRTR"], seed=0)[2].all()


def test_real_share_changes_only_the_mixed_regimes():
    data = _data(np.random.default_rng(1))
    regimes = plan_regimes((0.25,))
    plain, shared = (run_regimes(data, regimes, Recipe(width=4, steps=8, batch_size=16, real_share=share), [0])
                     for share in (None, 0.5))
    for name in ("TRTR", "TSTR", "TRTS", "R25"):
        assert np.array_equal(plain.results[name].probs, shared.results[name].probs), name
    for name in ("R+S", "R25+S"):
        assert not np.array_equal(plain.results[name].probs, shared.results[name].probs), name


def test_options_pass_real_share_to_the_recipe_and_reject_a_bad_one():
    assert ValidateOptions(real_share=0.5).arguments()["recipe"].real_share == 0.5
    assert ValidateOptions().arguments()["recipe"].real_share is None
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(SynthgenError, match="real_share"):
            ValidateOptions(real_share=bad)
        with pytest.raises(SynthgenError, match="real_share"):
            Recipe(real_share=bad)


def test_a_bad_real_share_is_one_line_from_the_cli_and_from_a_run_config(tmp_path, capsys):
    code, _, err = run_cli(["validate", "--real-train", "a", "--real-test", "a", "--synthetic", "b",
                            "--out", tmp_path / "v", "--real-share", "1.5"], capsys)
    assert_clean_error(code, err, "real_share", "--real-share", "1.5", "between 0 and 1")
    config = tmp_path / "run.yaml"
    config.write_text("validate: {real_share: 2}\n")
    with pytest.raises(SynthgenError, match=r"real_share.* is 2\b"):
        load_run_config(config)


def test_the_report_says_how_pooled_images_are_drawn():
    from dataclasses import asdict

    from validation.report import _recipe_text

    assert "50 % of each class's draws are real" in _recipe_text(asdict(Recipe(real_share=0.5)))
    assert "each image of a class is drawn equally often" in _recipe_text(asdict(Recipe()))
    legacy = {k: v for k, v in asdict(Recipe()).items() if k != "real_share"}  # metrics of earlier versions
    assert "drawn equally often" in _recipe_text(legacy)
