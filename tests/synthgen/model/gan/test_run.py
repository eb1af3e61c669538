"""`synthgen run` with a GAN train section: every stage works unchanged and says the generator was a GAN."""

from __future__ import annotations

import copy
import json

import pydicom
import pytest
import yaml

from tests.fixtures.paths import REPO
from tests.fixtures.gan import TINY_GAN
from tests.fixtures.workflow import OUTPUT_FOLDERS, TINY_RUN, leftovers, read_state
from synthgen.imageset import ImageSet
from synthgen.workflow import run
from synthgen.workflow.stages import STAGES



@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("gan-run")
    train = {key: dict(value) for key, value in TINY_GAN.items()}
    train["training"].update({"steps": 8, "checkpoint_every": 4, "grid_per_class": 0, "device": "cpu"})
    data = {**copy.deepcopy(TINY_RUN), "train": train}  # the whole train section replaced, not merged
    config = base / "gan.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return base / "run", run(config, base / "run", progress=False)


def test_every_stage_runs_on_a_gan_and_the_outputs_name_the_gan(gan_run):
    root, result = gan_run
    assert result.ran == ["prepare", "train", "sample", "audit", "validate", "export"]
    for name in OUTPUT_FOLDERS:
        assert (root / name).is_dir(), name
    card = json.loads((root / "model" / "model" / "model_card.json").read_text())
    assert card["kind"] == "gan" and card["steps"] == 8
    synthetic = ImageSet.open(root / "synthetic")
    assert len(synthetic) == 60 and {row["sampler"] for row in synthetic.rows} == {"gan"}
    assert synthetic.info["provenance"]["generator"] == "gan"
    summary = read_state(root)["stages"]["sample"]["summary"]
    assert summary["sampler"] == "gan" and summary["truncation"] == 1.0
    sample_stage = next(stage for stage in STAGES if stage.name == "sample")
    assert sample_stage.describe(summary).endswith("; gan, truncation 1.0")  # no diffusion steps or guidance
    metrics = json.loads((root / "validation" / "metrics.json").read_text())
    assert any("synthetic" in per_set for per_set in metrics["diversity"].values())  # collapse shows here
    dicom = pydicom.dcmread(sorted((root / "export" / "dicom" / "images").glob("*.dcm"))[0])
    assert "sampler gan" in dicom.DerivationDescription and dicom.SyntheticData == "YES"
    assert leftovers(root) == []


def test_shipped_gan_train_and_run_configs_load():
    from synthgen.model.config_files import load_train_config
    from synthgen.model.gan.config import GanTrainConfig
    from synthgen.workflow import load_run_config

    names = {p.name for p in (REPO / "configs" / "train").glob("gan-*.yaml")}
    assert names == {"gan-demo.yaml", "gan-pneumoniamnist32.yaml", "gan-kermany64.yaml"}
    for name in names:
        assert isinstance(load_train_config(REPO / "configs" / "train" / name), GanTrainConfig), name
    for path in sorted((REPO / "configs" / "run").glob("gan-*.yaml")):
        import os

        cwd = os.getcwd()
        os.chdir(REPO)  # train.base paths are relative to the repository
        try:
            assert isinstance(load_run_config(path).train, GanTrainConfig), path
        finally:
            os.chdir(cwd)
