"""Choosing the GAN's final weights among snapshots: the rule, the copying check, the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from privacy.audit import AuditOptions
from privacy.encoder import EncoderConfig
from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.model.config_files import config_from_dict
from synthgen.model.data import load_training_data
from synthgen.model.ema import averaged_state
from synthgen.model.gan import select
from synthgen.model.gan.config import SelectionMetric
from synthgen.model.gan.select import COPYING_SIGNIFICANCE, Candidate, choose_snapshot, pick
from synthgen.model.train import train
from tests.fixtures.gan import TINY_GAN, tiny_gan_config
from tests.fixtures.model import state_dicts_equal


def _candidate(name: str, fd: float, p: float, flagged: int = 0) -> Candidate:
    return Candidate(name, fd, flagged, 100, p)


def test_pick_takes_the_lowest_fd_among_candidates_that_do_not_copy():
    scored = [_candidate("step-1", 3.0, 0.9), _candidate("step-2", 1.0, 0.001, 9), _candidate("final", 2.0, 0.5)]
    assert pick(scored) == "final"  # step-2 has the best FD but copies


def test_pick_prefers_the_later_candidate_on_equal_fd_and_the_fewest_flagged_when_all_copy():
    assert pick([_candidate("step-1", 1.0, 0.9), _candidate("final", 1.0, 0.9)]) == "final"
    copying = [_candidate("step-1", 5.0, 0.001, 4), _candidate("step-2", 1.0, 0.0001, 9), _candidate("final", 2.0, 0.0, 30)]
    assert pick(copying) == "step-1"


def test_pick_by_two_sample_takes_the_lowest_auc_among_candidates_that_do_not_copy():
    scored = [Candidate("step-1", 0.5, 0, 100, 0.9, 0.74), Candidate("step-2", 2.0, 9, 100, 0.001, 0.50),
              Candidate("step-3", 1.5, 0, 100, 0.9, 0.53), Candidate("final", 1.9, 0, 100, 0.9, 0.53)]
    assert pick(scored) == "step-1"  # FD alone keeps the blurry early snapshot
    assert pick(scored, SelectionMetric.TWO_SAMPLE) == "final"  # step-2 copies; a tie goes to the later one
    assert scored[0].to_dict()["two_sample_auc"] == 0.74 and "two_sample_auc" not in _candidate("a", 1, 0.5).to_dict()


def test_a_candidate_passes_exactly_at_the_significance_level():
    assert _candidate("a", 1.0, COPYING_SIGNIFICANCE).passes
    assert not _candidate("a", 1.0, np.nextafter(COPYING_SIGNIFICANCE, 0)).passes
    assert _candidate("a", 1.0, 0.5, 7).to_dict() == {"fd": 1.0, "flagged": 7, "flagged_fraction": 0.07,
                                                      "binomial_p": 0.5, "passes": True}


@pytest.mark.parametrize("training, fragment", [
    ({"snapshot_every": 4}, "snapshot_every must be a positive multiple of checkpoint_every (3), got 4"),
    ({"snapshot_every": 0}, "snapshot_every must be a positive multiple"),
    ({"selection_images": 0}, "selection_images must be > 0"),
    ({"ema_profiles": [0.1, 0.5]}, "ema_profiles are relative stds in (0, 0.3) (EDM2 uses 0.05-0.15), got [0.5]"),
])
def test_bad_snapshot_keys_are_one_line_errors(training, fragment):
    data = {key: dict(value) for key, value in TINY_GAN.items()}
    data["training"].update(training)
    with pytest.raises(SynthgenError) as error:
        config_from_dict(data)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_too_few_held_out_images_for_the_copying_check_fails_before_anything_is_written(data16, tmp_path):
    config = tiny_gan_config(training={"snapshot_every": 3})
    with pytest.raises(SynthgenError) as error:
        train(data16, tmp_path / "run", config, progress=False)
    message = str(error.value)
    assert "training.snapshot_every" in message and "val and test splits" in message and "at least 100" in message
    assert not (tmp_path / "run").exists()
    with pytest.raises(SynthgenError, match="ema_profiles check copying against the val and test splits"):
        train(data16, tmp_path / "run", tiny_gan_config(training={"ema_profiles": [0.1]}), progress=False)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def data600(tmp_path_factory) -> Path:
    """600 phantom images of 16²: 117 of them in val + test, enough to calibrate the audit at fpr 0.01."""
    return phantom(tmp_path_factory.mktemp("select") / "set", n=600, size=16, seed=1).root


@pytest.fixture
def quick_audit(monkeypatch):
    """The audit's encoder trained 40 steps instead of 400: the same engine, a fraction of the time."""
    monkeypatch.setattr(select, "audit_options",
                        lambda: AuditOptions(selftest_copies=0, encoder=EncoderConfig(steps=40)))


class _Copier(nn.Module):
    """Stands for a generator that reproduces training images."""


class _Blur(nn.Module):
    """Stands for a generator that draws smooth blobs, nothing like any training image."""


def test_a_copying_snapshot_is_rejected_even_with_the_best_fd(data600, quick_audit):
    image_set = ImageSet.open(data600)
    training = load_training_data(image_set, "train", use_findings=False)
    copier, blur = _Copier(), _Blur()

    def sample(module, conditions, seeds):
        if module is copier:
            return training.images[[s % len(training) for s in seeds]]
        noise = torch.Generator().manual_seed(int(seeds[0]) % 2 ** 31)
        blobs = torch.rand(len(seeds), 1, 4, 4, generator=noise) * 2 - 1
        return nn.functional.interpolate(blobs, size=16, mode="bilinear", align_corners=False)

    choice = choose_snapshot({"step-0000003": blur, "final": copier}, training, image_set, False, 64, 0, sample)
    scores = choice.to_dict()["candidates"]
    assert scores["final"]["fd"] < scores["step-0000003"]["fd"]  # copies look real...
    assert scores["final"]["flagged"] == 64 and not scores["final"]["passes"]  # ...and every one is flagged
    assert scores["step-0000003"]["flagged"] == 0 and scores["step-0000003"]["passes"]
    assert choice.chosen == "step-0000003" and choice.fd_reference == "val" and choice.fd_images == 62


@pytest.fixture(scope="module")
def fresh600(tmp_path_factory) -> Path:
    """Other phantom patients of the same kind as data600's: realistic images that copy no training one."""
    return phantom(tmp_path_factory.mktemp("fresh") / "set", n=600, size=16, seed=2).root


class _Fresh(nn.Module):
    """Stands for a generator that draws new images of the training distribution."""


def _sampler(fresh):
    """sample(module, conditions, seeds) for the stand-in generators: fresh images of each condition's
    class, or smooth blobs."""
    by_class = [torch.nonzero(fresh.conditions.argmax(1) == k)[:, 0] for k in range(fresh.conditions.shape[1])]

    def sample(module, conditions, seeds):
        if isinstance(module, _Fresh):
            picks = [by_class[int(c)][s % len(by_class[int(c)])] for c, s in zip(conditions.argmax(1), seeds)]
            return fresh.images[torch.stack(picks)]
        noise = torch.Generator().manual_seed(int(seeds[0]) % 2 ** 31)
        blobs = torch.rand(len(seeds), 1, 4, 4, generator=noise) * 2 - 1
        return nn.functional.interpolate(blobs, size=16, mode="bilinear", align_corners=False)

    return sample


def test_the_two_sample_choice_scores_every_candidate_against_the_held_out_images(data600, fresh600, quick_audit):
    image_set = ImageSet.open(data600)
    training = load_training_data(image_set, "train", use_findings=False)
    sample = _sampler(load_training_data(ImageSet.open(fresh600), "train", use_findings=False))
    choice = choose_snapshot({"step-0000003": _Blur(), "final": _Fresh()}, training, image_set, False, 64, 0, sample,
                             SelectionMetric.TWO_SAMPLE).to_dict()
    scores = choice["candidates"]
    assert scores["step-0000003"]["two_sample_auc"] > 0.9 > 0.75 > scores["final"]["two_sample_auc"]
    assert scores["final"]["passes"] and choice["chosen"] == "final" and choice["metric"] == "two_sample"
    assert "two-sample AUC" in choice["rule"] and "117 val and test images, 3 seeds" in choice["two_sample"]


def test_too_few_held_out_images_for_the_two_sample_test_leave_the_choice_to_fd(data600, fresh600, quick_audit,
                                                                                monkeypatch):
    import validation.two_sample

    monkeypatch.setattr(validation.two_sample, "MIN_HELD_OUT", 200)  # 117 held-out images
    image_set = ImageSet.open(data600)
    training = load_training_data(image_set, "train", use_findings=False)
    sample = _sampler(load_training_data(ImageSet.open(fresh600), "train", use_findings=False))
    choice = choose_snapshot({"step-0000003": _Blur(), "final": _Fresh()}, training, image_set, False, 32, 0, sample,
                             SelectionMetric.TWO_SAMPLE).to_dict()
    assert choice["metric"] == "fd" and "skipped" in choice["two_sample"] and "lowest FD" in choice["rule"]
    assert all("two_sample_auc" not in c for c in choice["candidates"].values())


def test_a_run_with_snapshots_keeps_the_chosen_one_and_records_every_score(data600, quick_audit, tmp_path):
    run = tmp_path / "run"
    train(data600, run, tiny_gan_config(training={"snapshot_every": 3, "selection_images": 32}), progress=False)
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["step-0000003.pt", "step-0000006.pt"]
    card = json.loads((run / "model" / "model_card.json").read_text())
    selection = card["selection"]
    assert list(selection["candidates"]) == ["step-0000003", "final"]  # the step-6 snapshot is the final EMA
    assert selection["chosen"] in selection["candidates"] and 0.0 <= selection["holdout_flagged_fraction"] < 0.05
    weights = torch.load(run / "model" / "weights.pt", weights_only=True)
    chosen = (run / "snapshots" / "step-0000003.pt" if selection["chosen"] == "step-0000003"
              else run / "snapshots" / "step-0000006.pt")
    assert state_dicts_equal(weights, torch.load(chosen, weights_only=True))


def test_no_snapshot_is_kept_before_transitional_conditioning_has_ramped_up(data600, quick_audit, tmp_path):
    run = tmp_path / "run"
    config = tiny_gan_config(training={"snapshot_every": 3, "selection_images": 32},
                             conditioning={"transition_start": 1, "transition_end": 4})
    train(data600, run, config, progress=False)
    # step 3 is inside the ramp (labels at 2/3 strength): not a candidate for the final weights
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["step-0000006.pt"]
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert card["selection"] is None  # the final EMA is the only candidate: kept as trained
    assert state_dicts_equal(torch.load(run / "model" / "weights.pt", weights_only=True),
                             torch.load(run / "snapshots" / "step-0000006.pt", weights_only=True))


def _profile_states(checkpoint: dict) -> dict[str, dict]:
    """Every candidate's weights as the checkpoint holds them: the classic EMA and each power profile."""
    return {"final": averaged_state(checkpoint["ema"]), **{f"final-power-{s:g}": state for s, state in zip((0.05, 0.2), checkpoint["ema_profiles"])}}


def test_ema_profiles_join_the_candidates_and_the_chosen_one_is_saved(data600, quick_audit, tmp_path):
    run = tmp_path / "run"
    train(data600, run, tiny_gan_config(training={"ema_profiles": [0.05, 0.2], "selection_images": 32}), progress=False)
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert card["ema"] == {"kind": "classic", "decay": 0.999, "power_profiles": [0.05, 0.2]}
    selection = card["selection"]
    assert list(selection["candidates"]) == ["final", "final-power-0.05", "final-power-0.2"]
    states = _profile_states(torch.load(run / "checkpoints" / "last.pt", weights_only=True))
    assert not state_dicts_equal(states["final-power-0.05"], states["final-power-0.2"])
    weights = torch.load(run / "model" / "weights.pt", weights_only=True)
    assert state_dicts_equal(weights, states[selection["chosen"]])


def test_a_power_profile_starts_as_a_copy_of_the_generator(data600, quick_audit, tmp_path):
    config = tiny_gan_config(training={"ema_profiles": [0.05, 0.2], "selection_images": 32, "steps": 1,
                                       "checkpoint_every": 1, "grid_per_class": 0})
    train(data600, tmp_path / "run", config, progress=False)
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert all(state_dicts_equal(state, checkpoint["generator"]) for state in checkpoint["ema_profiles"])


def test_a_resumed_run_continues_every_profile_bit_identically(data600, quick_audit, tmp_path, monkeypatch):
    from synthgen.model.gan import train as gan_train

    config = tiny_gan_config(training={"ema_profiles": [0.05, 0.2], "selection_images": 32, "steps": 6,
                                       "grid_per_class": 0})
    train(data600, tmp_path / "straight", config, progress=False)
    stop = gan_train.should_stop
    with monkeypatch.context() as patch:  # the first part stops after step 3 as a budget would, then resumes
        patch.setattr(gan_train, "should_stop", lambda step, *rest: step >= 3 or stop(step, *rest))
        train(data600, tmp_path / "resumed", config, progress=False)
    assert torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    train(data600, tmp_path / "resumed", config, progress=False, resume=True)
    straight, resumed = (_profile_states(torch.load(tmp_path / name / "checkpoints" / "last.pt", weights_only=True))
                         for name in ("straight", "resumed"))
    assert all(state_dicts_equal(straight[name], resumed[name]) for name in straight)
