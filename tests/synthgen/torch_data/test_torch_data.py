"""synthgen.torch_data: image sets and on-the-fly synthetic images inside a MONAI training loop."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import DataLoader
from monai.transforms import Compose, Resized, ScaleIntensityRanged

from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from synthgen.imageset.pngio import decode_png
from synthgen.model.sample import sample
from synthgen.model.train import train
from synthgen.torch_data import ITEM_KEYS, GeneratedDataset, ImageSetDataset, mix_datasets
from tests.fixtures.model import tiny_config
from tests.fixtures.paths import REPO


README = REPO / "README.md"
TRANSFORM = Compose([Resized(keys="image", spatial_size=(8, 8)),
                     ScaleIntensityRanged(keys="image", a_min=0.0, a_max=1.0, b_min=-1.0, b_max=1.0)])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """What `synthgen run` leaves: RUN/data (a 16² phantom set) and RUN/model (a tiny trained model)."""
    root = tmp_path_factory.mktemp("torch_data") / "runs" / "demo"
    phantom(root / "data", n=60, size=16, seed=1)
    train(root / "data", root / "model", tiny_config(training={"grid_per_class": 0}), progress=False)
    return root


def batches(dataset, workers: int, batch_size: int = 4) -> list[dict]:
    return list(DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False))


def assert_same_batches(first: list[dict], second: list[dict]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert torch.equal(torch.as_tensor(a["image"]), torch.as_tensor(b["image"]))
        assert torch.equal(a["label"], b["label"]) and a["image_id"] == b["image_id"]


def test_image_set_items_hold_the_set_pixels_labels_and_metadata(run_folder):
    image_set = ImageSet.open(run_folder / "data")
    dataset = ImageSetDataset(image_set, split="train")
    train_rows = image_set.indices("train")
    assert len(dataset) == len(train_rows)
    item = dataset[3]
    row = image_set.rows[train_rows[3]]
    assert set(item) == set(ITEM_KEYS)
    assert item["image"].shape == (1, 16, 16) and item["image"].dtype == torch.float32
    np.testing.assert_allclose(item["image"][0].numpy(), image_set.load_pixels([train_rows[3]])[0])
    assert image_set.classes[int(item["label"])] == row["label"] == item["class_name"]
    assert item["findings"].tolist() == [float(row[f"finding_{f}"]) for f in image_set.findings]
    assert (item["kind"], item["split"], item["seed"], item["patient_id"]) == ("real", "train", -1, row["patient_id"])


def test_image_set_batches_through_monai_transforms_are_the_same_with_two_workers(run_folder):
    dataset = ImageSetDataset(run_folder / "data", transform=TRANSFORM)
    one, two = batches(dataset, 0), batches(dataset, 2)
    assert_same_batches(one, two)
    assert one[0]["image"].shape == (4, 1, 8, 8) and float(one[0]["image"].min()) >= -1.0
    assert one[0]["findings"].shape == (4, len(dataset.findings)) and one[0]["label"].dtype == torch.int64


def test_generated_items_are_the_images_synthgen_sample_writes(run_folder, tmp_path):
    generated = GeneratedDataset(run_folder / "model", n=10, seed=3)
    written = sample(run_folder / "model", tmp_path / "syn", n=10, seed=3, progress=False)
    assert len(generated) == 10 and generated.classes == written.classes
    for row in written.rows:
        item = generated[int(row["sample_index"])]
        expected = decode_png(written.root / row["path"]).astype(np.float32) / 255.0
        np.testing.assert_allclose(item["image"][0].numpy(), expected, atol=1.01 / 255)  # at most 1 grey level
        assert item["class_name"] == row["label"] and item["seed"] == int(row["seed"])
        assert item["findings"].tolist() == [float(row[f"finding_{f}"]) for f in written.findings]


def test_generated_images_are_the_same_whatever_the_number_of_workers(run_folder):
    generated = GeneratedDataset(run_folder / "model", per_class={"normal": 3, "effusion": 3}, seed=7,
                                 transform=TRANSFORM)
    one, two = batches(generated, 0, batch_size=3), batches(generated, 2, batch_size=3)
    assert_same_batches(one, two)
    assert [name for batch in one for name in batch["class_name"]] == ["normal"] * 3 + ["effusion"] * 3
    other_seed = GeneratedDataset(run_folder / "model", per_class={"normal": 3, "effusion": 3}, seed=8)
    assert not torch.equal(GeneratedDataset(run_folder / "model", per_class={"normal": 3, "effusion": 3},
                                            seed=7)[0]["image"], other_seed[0]["image"])


def test_mix_has_the_chosen_synthetic_share_fixed_by_its_seed(run_folder):
    real = ImageSetDataset(run_folder / "data", split="train", transform=TRANSFORM)
    synthetic = GeneratedDataset(run_folder / "model", n=len(real), seed=0, transform=TRANSFORM)
    mixed = mix_datasets(real, synthetic, synthetic_fraction=0.25, length=16, seed=1)
    kinds = [kind for batch in batches(mixed, 2) for kind in batch["kind"]]
    assert len(kinds) == 16 and kinds.count("synthetic") == 4
    again = mix_datasets(real, synthetic, synthetic_fraction=0.25, length=16, seed=1)
    assert np.array_equal(mixed.picks, again.picks)
    assert not np.array_equal(mixed.picks, mix_datasets(real, synthetic, 0.25, length=16, seed=2).picks)
    everything = mix_datasets(real, synthetic, synthetic_fraction=0.5)  # all real items, as many synthetic
    assert len(everything) == 2 * len(real) and sorted(everything.picks[everything.picks[:, 0] == 0, 1].tolist()) \
        == list(range(len(real)))


def test_mix_refuses_mismatched_labels_and_impossible_ratios(run_folder):
    real = ImageSetDataset(run_folder / "data")
    synthetic = GeneratedDataset(run_folder / "model", n=4, seed=0)
    with pytest.raises(SynthgenError, match="synthetic_fraction must be in"):
        mix_datasets(real, synthetic, 1.5)
    with pytest.raises(SynthgenError, match="needs 12 synthetic items but the synthetic dataset has 4"):
        mix_datasets(real, synthetic, 0.5, length=24)
    relabelled = ImageSetDataset(run_folder / "data")
    relabelled.classes = relabelled.classes[:-1] + ["something_else"]
    with pytest.raises(SynthgenError, match="different classes"):
        mix_datasets(relabelled, synthetic, 0.5)


def test_generated_dataset_of_a_folder_without_a_model_is_a_clean_error(tmp_path):
    with pytest.raises(SynthgenError, match="config.json is missing"):
        GeneratedDataset(tmp_path, n=4)


def test_readme_training_loop_example_runs(run_folder, monkeypatch):
    text = README.read_text()
    code = re.search(r"<!-- torch-data-example -->\s*```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(run_folder.parents[1])  # the example reads runs/demo/
    namespace: dict = {}
    exec(compile(code, "README.md example", "exec"), namespace)
    train_images = len(ImageSet.open(run_folder / "data").indices("train"))
    assert namespace["seen"] == {"real": train_images, "synthetic": train_images}
    assert np.isfinite(namespace["loss"].item())


def test_mixed_batches_fetch_the_same_items_as_single_lookups(run_folder):
    real = ImageSetDataset(run_folder / "data", split="train")
    synthetic = GeneratedDataset(run_folder / "model", n=8, seed=0)
    mixed = mix_datasets(real, synthetic, synthetic_fraction=0.5, length=12, seed=4)
    batch = mixed.__getitems__(list(range(12)))
    for index, item in enumerate(batch):
        single = mixed[index]
        assert item["kind"] == single["kind"] and item["image_id"] == single["image_id"]
        assert torch.allclose(item["image"], single["image"], atol=1.01 / 255)


def test_sixteen_bit_sets_scale_to_the_same_unit_range(tmp_path):
    image_set = phantom(tmp_path / "p16", n=12, size=16, seed=3, bit_depth=16)
    item = ImageSetDataset(image_set)[5]
    assert image_set.info["bit_depth"] == 16
    np.testing.assert_allclose(item["image"][0].numpy(), image_set.load_pixels([5])[0], rtol=0, atol=1e-7)
