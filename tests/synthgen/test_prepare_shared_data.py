"""Integration: `prepare` on the real data sets in ../shared/data (skipped when absent)."""

from collections import defaultdict

import numpy as np
import pytest

from synthgen.errors import SynthgenError
from synthgen.prepare import prepare
from tests.fixtures.paths import shared_data


pytestmark = pytest.mark.shared_data
KERMANY_PATIENT = r"^(person\d+_(?:bacteria|virus)|(?:NORMAL2-)?IM-\d+)"


def assert_patient_level(image_set):
    splits = defaultdict(set)
    for row in image_set.rows:
        splits[row["patient_id"]].add(row["split"])
    assert all(len(s) == 1 for s in splits.values())


def test_pneumoniamnist_npz_stops_on_its_26_extra_copies(tmp_path):
    source = shared_data("pneumoniamnist") / "pneumoniamnist.npz"
    with pytest.raises(SynthgenError, match="26 rows have problems.*duplicate-image: 26 rows.*--drop duplicate-image"):
        prepare(source, tmp_path / "pm", size=28, salt="t", progress=False)
    assert not (tmp_path / "pm").exists()


def test_pneumoniamnist_dedupe_drops_the_26_extra_copies(tmp_path):
    source = shared_data("pneumoniamnist") / "pneumoniamnist.npz"
    image_set = prepare(source, tmp_path / "pm", size=28, dedupe=True, salt="t", progress=False)
    assert image_set.classes == ["normal", "pneumonia"] and len(image_set) == 5232 - 26
    # The README's counts: 18 extra copies inside train (17 pneumonia, 1 normal), 8 val images also in train.
    assert image_set.info["counts"]["by_split_class"] == {
        "train": {"normal": 1214 - 1, "pneumonia": 3494 - 17}, "val": {"normal": 135, "pneumonia": 389 - 8}}
    assert image_set.info["provenance"]["duplicates"] == {"extra_copies": 26, "across_splits": 8, "dropped": 26}
    assert image_set.info["provenance"]["dropped"] == {"duplicate-image": 26}
    raw = np.load(source)["val_images"]
    val = image_set.indices("val")
    assert np.array_equal(np.rint(image_set.load_pixels(val[:5]) * 255).astype(np.uint8), raw[:5])


def test_kermany_class_folders_with_patient_pattern(tmp_path):
    image_set = prepare(shared_data("kermany") / "train", tmp_path / "k", size=32, patient_pattern=KERMANY_PATIENT,
                        salt="t", dedupe=True, progress=False)
    counts = image_set.info["counts"]  # 5216 files, 26 of them exact copies of another
    assert counts["images"] == 5216 - 26 and counts["patients"] == 3654
    assert counts["by_class"] == {"normal": 1341 - 1, "pneumonia": 3875 - 25}
    assert_patient_level(image_set)
    assert not any("person" in row["source"] for row in image_set.rows)


def test_kermany_labels_csv(tmp_path):
    root = shared_data("kermany")
    image_set = prepare(root, tmp_path / "k", labels=root / "labels.csv", patient_column="patient_id",
                        size=32, salt="t", dedupe=True, progress=False)
    assert image_set.info["counts"]["patients"] == 3654
    assert_patient_level(image_set)


def test_nih1000_multi_label_findings(tmp_path):
    root = shared_data("nih1000")
    image_set = prepare(root, tmp_path / "nih", labels=root / "labels.csv", patient_column="patient_id",
                        findings_column="finding_labels", size=64, salt="t", progress=False)
    counts = image_set.info["counts"]
    assert counts["patients"] == 264 and counts["by_class"] == {"abnormal": 500, "normal": 500}
    assert counts["by_finding"]["effusion"] == 170 and counts["by_finding"]["pleural_thickening"] == 29
    assert len(image_set.findings) == 14
    assert_patient_level(image_set)
    sources = " ".join(row["source"] for row in image_set.rows)
    assert "00000181_" not in sources, "raw NIH patient IDs must be redacted from source paths"
