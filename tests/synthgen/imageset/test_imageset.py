import json

import numpy as np
import pytest

from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.imageset.cache import cache_path


def write_set(out, n=6, dtype=np.uint8, findings=("effusion",), **kwargs):
    top = 255 if dtype == np.uint8 else 65535
    with ImageSetWriter(out, name="tiny", kind="real", classes=["normal", "effusion"], findings=findings,
                        image_size=8, **kwargs) as writer:
        for i in range(n):
            pixels = np.full((8, 8), i * top // n, dtype=dtype)
            label = "effusion" if i % 2 else "normal"
            writer.add(pixels, label=label, patient_id=f"P{i // 2}", split="train" if i < 4 else "test",
                       source=f"src/{i}.png", findings={"effusion"} if i % 2 else set())
        writer.finish({"stage": "test"})
    return ImageSet.open(out)


def test_written_set_reads_back_with_manifest_counts_and_hash(tmp_path):
    image_set = write_set(tmp_path / "set")
    assert len(image_set) == 6
    assert image_set.rows[0]["image_id"] == "000000" and image_set.rows[0]["path"] == "images/000000.png"
    assert image_set.labels().tolist() == [0, 1, 0, 1, 0, 1]
    assert image_set.finding_matrix()[:, 0].tolist() == [0, 1, 0, 1, 0, 1]
    assert image_set.indices("test").tolist() == [4, 5]
    counts = image_set.info["counts"]
    assert counts["by_split_class"] == {"train": {"normal": 2, "effusion": 2}, "test": {"normal": 1, "effusion": 1}}
    assert counts["patients_by_split"] == {"train": 2, "test": 1}
    assert counts["by_finding"] == {"effusion": 3}
    assert image_set.info["manifest_sha256"] == image_set.manifest_sha256
    assert image_set.info["kind"] == "real" and image_set.info["bit_depth"] == 8
    assert image_set.verify() == []
    assert not list(tmp_path.glob(".set*")), "staging folder left behind"


def test_load_pixels_scales_to_unit_range_and_caches(tmp_path):
    image_set = write_set(tmp_path / "set", dtype=np.uint16)
    pixels = image_set.load_pixels()
    assert pixels.shape == (6, 8, 8) and pixels.dtype == np.float32
    assert pixels[3, 0, 0] == pytest.approx(32767 / 65535)
    assert cache_path(image_set.root, image_set.manifest_sha256).is_file()
    assert image_set.load_pixels(np.array([3]))[0, 0, 0] == pytest.approx(32767 / 65535)


def test_cache_is_rebuilt_when_the_manifest_changes(tmp_path):
    image_set = write_set(tmp_path / "set")
    image_set.load_pixels()
    old_cache = cache_path(image_set.root, image_set.manifest_sha256)
    manifest = image_set.root / "manifest.csv"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")  # swap two rows
    changed = ImageSet.open(image_set.root)
    pixels = changed.load_pixels()
    assert pixels[0, 0, 0] == pytest.approx(42 / 255) and pixels[1, 0, 0] == 0
    assert not old_cache.exists() and cache_path(changed.root, changed.manifest_sha256).is_file()
    assert any("changed since dataset.json" in p for p in changed.verify())


def test_verify_reports_a_tampered_image(tmp_path):
    image_set = write_set(tmp_path / "set")
    (image_set.root / "images/000002.png").write_bytes(b"not a png")
    assert any("000002" in problem and "sha256" in problem for problem in image_set.verify())


def test_writer_error_leaves_no_output_folder(tmp_path):
    with pytest.raises(SynthgenError, match="not one of the classes"):
        with ImageSetWriter(tmp_path / "set", name="x", kind="real", classes=["a"], image_size=4) as writer:
            writer.add(np.zeros((4, 4), np.uint8), label="a", patient_id="P", split="train", source="s")
            writer.add(np.zeros((4, 4), np.uint8), label="zzz", patient_id="P", split="train", source="s")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_non_empty_output_unless_overwrite(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SynthgenError, match="not empty.*--overwrite"):
        write_set(out)
    assert (out / "keep.txt").exists()
    assert len(write_set(out, overwrite=True)) == 6 and not (out / "keep.txt").exists()


def test_class_with_zero_images_is_an_error(tmp_path):
    with pytest.raises(SynthgenError, match="'?b'? have zero images|b have zero images"):
        with ImageSetWriter(tmp_path / "s", name="x", kind="real", classes=["a", "b"], image_size=4) as writer:
            writer.add(np.zeros((4, 4), np.uint8), label="a", patient_id="P", split="train", source="s")
            writer.finish({})
    assert not (tmp_path / "s").exists()


def test_extra_columns_are_kept_and_dataset_json_is_valid(tmp_path):
    with ImageSetWriter(tmp_path / "s", name="x", kind="synthetic", classes=["a"], image_size=4,
                        extra_columns=["seed"]) as writer:
        writer.add(np.zeros((4, 4), np.uint8), label="a", patient_id="P", split="train", source="s", extra={"seed": 7})
        writer.finish({"stage": "sample"})
    image_set = ImageSet.open(tmp_path / "s")
    assert image_set.rows[0]["seed"] == "7" and image_set.kind == "synthetic"
    assert json.loads((tmp_path / "s/dataset.json").read_text())["provenance"] == {"stage": "sample"}


def test_open_names_the_missing_file(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(SynthgenError, match="dataset.json is missing"):
        ImageSet.open(tmp_path / "s")
