"""`model.kind: gan` configs: dispatch on the kind, and one-line errors for keys of the other family."""

from __future__ import annotations

import pytest

from synthgen.errors import SynthgenError
from synthgen.model.config import TrainConfig
from synthgen.model.config_files import config_from_dict, config_to_dict
from synthgen.model.gan.config import GanTrainConfig
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.gan import tiny_gan_config


def test_kind_gan_gives_a_gan_config_and_no_kind_a_diffusion_one():
    assert isinstance(config_from_dict({"model": {"kind": "gan"}}), GanTrainConfig)
    assert isinstance(config_from_dict({}), TrainConfig)
    assert isinstance(config_from_dict({"model": {"kind": "diffusion"}}), TrainConfig)


def test_gan_config_round_trips_through_its_dict_and_diffusion_dicts_have_no_model_section():
    config = tiny_gan_config()
    data = config_to_dict(config)
    assert data["model"] == {"kind": "gan"} and data["training"]["betas"] == [0.0, 0.99]
    assert config_from_dict(data) == config
    assert "model" not in config_to_dict(config_from_dict({"model": {"kind": "diffusion"}}))


@pytest.mark.parametrize("data, fragments", [
    ({"model": {"kind": "vae"}}, ("model.kind", "'vae'", "diffusion, gan")),
    ({"model": {"kind": "gan"}, "diffusion": {"parametrization": "edm"}},
     ("diffusion is a model.kind diffusion key", "model.kind gan", "generator")),
    ({"model": {"kind": "gan"}, "sampling": {"sampler": "heun"}}, ("sampling: sampler", "batch_size, truncation")),
    ({"model": {"kind": "gan"}, "conditioning": {"label_dropout": 0.1}}, ("conditioning: label_dropout", "use_findings")),
    ({"model": {"kind": "gan"}, "training": {"lr_schedule": "cosine"}}, ("training: lr_schedule", "betas")),
    ({"generator": {"latent_dim": 8}}, ("generator is a model.kind gan key", "model.kind diffusion", "network")),
    ({"sampling": {"truncation": 0.7}}, ("sampling: truncation is a model.kind gan key", "guidance")),
    ({"model": {"kind": "gan", "size": 3}}, ("config.model", "size", "valid keys: kind")),
    ({"model": {"kind": "gan"}, "generator": {"channels": [16, 12], "norm_groups": 8}}, ("generator", "[12]", "norm_groups")),
    ({"model": {"kind": "gan"}, "sampling": {"truncation": 1.5}}, ("sampling", "truncation must be in (0, 1]",)),
    ({"model": {"kind": "gan"}, "loss": {"mode_seeking": -1}}, ("loss", "mode_seeking must be >= 0")),
    ({"model": {"kind": "gan"}, "discriminator": {"head": "mean"}},
     ("discriminator.head", "'mean'", "valid values: sum, flatten")),
    ({"model": {"kind": "gan"}, "discriminator": {"mbstd_groups": "class"}},
     ("discriminator.mbstd_groups", "'class'", "valid values: batch, labels")),
    ({"model": {"kind": "gan"}, "conditioning": {"transition_start": 500, "transition_end": 200}},
     ("conditioning", "0 <= start < end", "got 500 and 200")),
    ({"model": {"kind": "gan"}, "loss": {"mode_seeking": 1.0}, "training": {"batch_size": 1}},
     ("loss.mode_seeking", "training.batch_size must be >= 2", "got 1")),
    ({"model": {"kind": "gan"}, "loss": {"noisy_twins": 0.01}}, ("loss.noisy_twins", "set conditioning.embedding_noise > 0")),
    ({"model": {"kind": "gan"}, "loss": {"noisy_twins": 0.01, "mode_seeking": 1.0}, "conditioning": {"embedding_noise": 0.75}},
     ("noisy_twins and loss.mode_seeking", "use one of them")),
    ({"model": {"kind": "gan"}, "conditioning": {"embedding_noise": -1}}, ("embedding_noise must be >= 0", "got -1")),
    ({"model": {"kind": "gan"}, "discriminator": {"pack": 3}, "training": {"batch_size": 64}},
     ("discriminator.pack (3) must divide training.batch_size (64)",)),
    ({"model": {"kind": "gan"}, "discriminator": {"pack": 0}}, ("discriminator", "pack must be > 0, got 0")),
    ({"model": {"kind": "gan"}, "loss": {"coverage": -1}}, ("loss", "coverage must be >= 0", "got -1")),
    ({"model": {"kind": "gan"}, "loss": {"coverage_size": 0}}, ("loss", "coverage_size must be > 0")),
    ({"model": {"kind": "gan"}, "training": {"mapping_lr_ratio": 0}}, ("training", "mapping_lr_ratio must be > 0")),
])
def test_bad_kind_or_key_of_the_other_family_is_a_one_line_error(data, fragments):
    with pytest.raises(SynthgenError) as error:
        config_from_dict(data)
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_cli_train_with_a_diffusion_key_in_a_gan_config_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  kind: gan\ntraining:\n  lr_schedule: cosine\n")
    code, _, err = run_cli(["train", "--data", tmp_path / "none", "--out", tmp_path / "r", "--config", bad], capsys)
    assert_clean_error(code, err, "training: lr_schedule", "model.kind gan")
    bad.write_text("model:\n  kind: stylegan\n")
    code, _, err = run_cli(["train", "--data", tmp_path / "none", "--out", tmp_path / "r", "--config", bad], capsys)
    assert_clean_error(code, err, "model.kind", "'stylegan'", "diffusion, gan")
    assert not (tmp_path / "r").exists()



def test_run_config_train_section_may_be_a_gan_and_keeps_the_diffusion_default(tmp_path):
    from synthgen.workflow.config import load_run_config
    from synthgen.model.config_files import config_to_dict

    base = tmp_path / "gan.yaml"
    base.write_text("model: {kind: gan}\ntraining: {steps: 50}\n")
    run = tmp_path / "run.yaml"
    run.write_text(f"prepare: {{source: phantom}}\ntrain: {{base: {base}, training: {{batch_size: 16}}}}\n")
    config = load_run_config(run)
    assert isinstance(config.train, GanTrainConfig)
    assert (config.train.training.steps, config.train.training.batch_size) == (50, 16)
    assert config.section("train") == config_to_dict(config.train)
    run.write_text("prepare: {source: phantom}\ntrain: {training: {steps: 7}}\n")
    assert isinstance(load_run_config(run).train, TrainConfig)
    run.write_text(f"prepare: {{source: phantom}}\ntrain: {{base: {base}, network: {{channels: [8]}}}}\n")
    with pytest.raises(SynthgenError, match=r"\.train: network is a model.kind diffusion key"):
        load_run_config(run)
