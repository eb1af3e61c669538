"""synthgen export --format nifti | png | datalist."""

from __future__ import annotations

import csv
import json

import numpy as np

from synthgen.export import export
from synthgen.export.nifti import read_nifti
from synthgen.imageset import ImageSet
from synthgen.imageset.cache import decode_all
from tests.fixtures.export import MODEL_SHA, phantom_set, synthetic_set


def test_nifti_export_keeps_pixels_and_writes_label_sidecars(tmp_path):
    training = phantom_set(tmp_path / "train", bit_depth=16)
    synthetic = synthetic_set(tmp_path / "synth", training)
    out = export(synthetic.root, tmp_path / "out", format="nifti", progress=False).out
    stored = decode_all(synthetic.root, synthetic.rows, synthetic.image_size)
    with (out / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, (row, source) in enumerate(zip(rows, synthetic.rows)):
        pixels = read_nifti((out / row["path"]).read_bytes())
        assert pixels.dtype == np.uint16
        np.testing.assert_array_equal(pixels, stored[i])
        sidecar = json.loads((out / row["path"].replace(".nii.gz", ".json")).read_text())
        assert sidecar["label"] == source["label"] == row["label"] and sidecar["synthetic"] is True
        assert sidecar["patient_id"] == row["patient_id"] and row["patient_id"].startswith("SYN-")
        assert sidecar["provenance"]["model_sha256"] == MODEL_SHA
        assert sidecar["provenance"]["seed"] == source["seed"]
    again = export(synthetic.root, tmp_path / "again", format="nifti", progress=False).out
    assert (again / rows[0]["path"]).read_bytes() == (out / rows[0]["path"]).read_bytes()


def test_png_export_is_an_intact_copy_of_the_image_set(tmp_path):
    original = phantom_set(tmp_path / "set")
    out = export(original.root, tmp_path / "out", format="png", progress=False).out
    copy = ImageSet.open(out)
    assert copy.verify() == [] and copy.manifest_sha256 == original.manifest_sha256
    np.testing.assert_array_equal(copy.load_pixels(), original.load_pixels())
    assert (out / "ro-crate-metadata.json").is_file()


def test_datalist_loads_with_monai(tmp_path):
    from monai.data import Dataset, load_decathlon_datalist
    from monai.transforms import LoadImaged

    original = phantom_set(tmp_path / "set", n=10)
    out = export(original.root, tmp_path / "out", format="datalist", progress=False).out
    document = json.loads((out / "datalist.json").read_text())
    assert document["labels"] == {str(i): name for i, name in enumerate(original.classes)}
    total = sum(len(document[key]) for key in ("training", "validation", "test"))
    assert total == len(original)
    entries = load_decathlon_datalist(out / "datalist.json", data_list_key="training")
    dataset = Dataset(entries, transform=LoadImaged(keys="image", reader="PILReader", image_only=True))
    stored = decode_all(original.root, original.rows, original.image_size)
    by_id = {row["image_id"]: i for i, row in enumerate(original.rows)}
    for entry, item in zip(entries, dataset):
        index = by_id[entry["image"].rsplit("/", 1)[-1].removesuffix(".png")]
        # MONAI's PIL reader puts width first: (W, H).
        np.testing.assert_array_equal(np.asarray(item["image"]).T, stored[index])
        assert original.classes[item["label"]] == original.rows[index]["label"]
