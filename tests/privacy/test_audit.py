"""Privacy audit: spaces, search, calibration, planted copies, reports, the filtered set."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from privacy import calibrate
from privacy.audit import audit
from privacy.embed_pixels import normalized_pixels
from privacy.audit_document import AuditDocument
from privacy.filter import AuditRecord
from privacy.encoder import EncoderSpace, train_encoder
from privacy.images import AuditImages
from privacy.planted import Alteration, planted_copies
from privacy.search import SearchOptions, nearest
from synthgen.chest_phantom import phantom
from synthgen.imageset import ImageSet
from tests.fixtures.privacy import TINY, TINY_ENCODER, synthetic_from


@pytest.fixture(scope="module")
def real_set(tmp_path_factory) -> ImageSet:
    """Phantom, 32², 160 images: ~100 train, ~30 val, ~30 test."""
    return phantom(tmp_path_factory.mktemp("real") / "set", n=160, size=32, seed=3, val_fraction=0.2, test_fraction=0.2)


def test_normalized_pixels_ignore_brightness_and_contrast():
    rng = np.random.default_rng(0)
    image = rng.random((2, 32, 32)).astype(np.float32)
    changed = 0.2 + 0.5 * image
    a, b = normalized_pixels(image), normalized_pixels(changed)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a.shape == (2, 256)


def test_exact_search_finds_true_neighbours_and_second_distance():
    train = np.array([[0, 0], [3, 0], [0, 5]], dtype=np.float32)
    queries = np.array([[0.5, 0], [2.5, 0.5]], dtype=np.float32)
    found = nearest(train, queries, SearchOptions(chunk=1))
    assert found.method == "exact" and found.recall_at_1 is None
    np.testing.assert_array_equal(found.positions, [[0, 1], [1, 0]])
    np.testing.assert_allclose(found.distances[:, 0], [0.5, np.sqrt(0.5)], rtol=1e-5)
    np.testing.assert_allclose(found.distances[0, 1], 2.5, rtol=1e-5)


def test_approximate_search_reports_measured_recall():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(20, 16)).astype(np.float32) * 5
    train = (centres[rng.integers(0, 20, 2000)] + rng.normal(size=(2000, 16))).astype(np.float32)
    queries = train[:300] + 0.01
    found = nearest(train, queries, SearchOptions(exact_limit=500, nprobe=8))
    assert found.method == "ivf"
    assert 0.9 <= found.recall_at_1 <= 1.0
    assert np.mean(found.positions[:, 0] == np.arange(300)) == pytest.approx(found.recall_at_1, abs=0.1)


def test_threshold_is_the_fpr_quantile_of_holdout_distances():
    distances = np.arange(1, 101, dtype=float)
    assert calibrate.threshold(distances, 0.01) == pytest.approx(1.99)
    assert calibrate.threshold(distances, 0.1) == pytest.approx(10.9)
    assert calibrate.min_holdout_images(0.01) == 100
    assert calibrate.min_holdout_images(0.2) == calibrate.MIN_TRAIN_IMAGES


def test_planted_copies_are_seeded_and_altered_within_bounds():
    rng = np.random.default_rng(2)
    images = rng.random((3, 32, 32)).astype(np.float32) * 0.5 + 0.25
    a, b = planted_copies(images, seed=5), planted_copies(images, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, planted_copies(images, seed=6))
    assert a.shape == images.shape and a.dtype == np.float32
    difference = np.abs(a - images).mean()
    assert 0.01 < difference < 0.2


def test_encoder_training_is_deterministic_and_embeds_unit_vectors(real_set):
    train = AuditImages.from_image_set(real_set, real_set.indices("train"))
    first = EncoderSpace(train_encoder(train, TINY_ENCODER), TINY_ENCODER).embed(train)
    second = EncoderSpace(train_encoder(train, TINY_ENCODER), TINY_ENCODER).embed(train)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (len(train), 8)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


def test_encoder_saves_and_reloads_with_equal_embeddings(real_set, tmp_path):
    train = AuditImages.from_image_set(real_set, real_set.indices("train")[:20])
    space = EncoderSpace(train_encoder(train, TINY_ENCODER), TINY_ENCODER)
    space.save(tmp_path / "enc")
    again = EncoderSpace.load(tmp_path / "enc")
    np.testing.assert_allclose(space.embed(train), again.embed(train), atol=1e-6)


def test_audit_flags_exact_copies_and_writes_report(real_set, tmp_path):
    train_rows = [int(i) for i in real_set.indices("train")[:10]]
    test_rows = [int(i) for i in real_set.indices("test")[:10]]
    synthetic = synthetic_from(real_set, tmp_path / "syn", train_rows + test_rows)
    result = audit(real_set.root, synthetic.root, tmp_path / "audit", fpr=0.2, options=TINY)

    with (tmp_path / "audit" / "pairs.csv").open() as handle:
        pairs = list(csv.DictReader(handle))
    assert len(pairs) == 20
    train_ids = [real_set.rows[i]["image_id"] for i in real_set.indices("train")]
    for k, pair in enumerate(pairs[:10]):  # exact copies: distance 0, nearest is the source, flagged
        assert pair["flagged"] == "1"
        assert float(pair["pixels_distance"]) == pytest.approx(0.0, abs=1e-3)
        assert pair["pixels_train_image_id"] == real_set.rows[train_rows[k]]["image_id"]
        assert pair["pixels_train_image_id"] in train_ids
    assert result.counts.flagged >= 10
    assert result.counts.synthetic == 20
    assert set(result.spaces) == {"pixels", "encoder", "registered"}
    assert result.verdict == "fail"  # half of the set is copied
    labels = {row["image_id"]: row["label"] for row in synthetic.rows}
    by_class = result.by_class
    assert list(by_class) == [c for c in synthetic.classes if c in labels.values()]
    for name, flags in by_class.items():  # each class's counts are those of its rows in pairs.csv
        assert flags.synthetic == sum(labels[p["image_id"]] == name for p in pairs)
        assert flags.flagged == sum(p["flagged"] == "1" and labels[p["image_id"]] == name for p in pairs)
    assert sum(f.holdout for f in by_class.values()) <= result.counts.holdout
    assert sum(f.holdout_flagged for f in by_class.values()) <= result.counts.holdout_flagged
    stored = (tmp_path / "audit" / "audit.json").read_bytes()
    assert stored == result.encode() and json.loads(stored)["schema_version"] == 1
    assert AuditDocument.read(tmp_path / "audit" / "audit.json").encode() == stored  # reads back unchanged
    assert (tmp_path / "audit" / "closest_pairs.png").stat().st_size > 0
    assert (tmp_path / "audit" / "encoder" / "weights.pt").is_file()
    assert not (tmp_path / "audit" / "filtered").exists()


def test_filtered_set_is_valid_and_records_the_audit(real_set, tmp_path):
    train_rows = [int(i) for i in real_set.indices("train")[:5]]
    test_rows = [int(i) for i in real_set.indices("test")[:15]]
    synthetic = synthetic_from(real_set, tmp_path / "syn", train_rows + test_rows)
    result = audit(real_set.root, synthetic.root, tmp_path / "audit", fpr=0.2, filter=True, options=TINY)

    filtered = ImageSet.open(tmp_path / "audit" / "filtered")
    assert filtered.verify() == []
    assert filtered.kind == "synthetic"
    assert len(filtered) == result.counts.kept == 20 - result.counts.flagged
    flagged_ids = {p["image_id"] for p in csv.DictReader((tmp_path / "audit" / "pairs.csv").open()) if p["flagged"] == "1"}
    kept_ids = {row["unfiltered_image_id"] for row in filtered.rows}
    assert kept_ids.isdisjoint(flagged_ids) and len(kept_ids | flagged_ids) == 20
    originals = {row["image_id"]: row for row in synthetic.rows}
    for row in filtered.rows:
        source = originals[row["unfiltered_image_id"]]
        assert (row["sha256"], row["seed"], row["sampler"], row["model_sha256"]) == (
            source["sha256"], source["seed"], source["sampler"], source["model_sha256"])
    record = AuditRecord.of(filtered)
    assert filtered.info["provenance"]["model"] == "tiny"  # the sampler's provenance is kept
    assert record.thresholds == {name: s.threshold for name, s in result.spaces.items()}
    assert record.counts.kept == len(filtered) and record.verdict == result.verdict
    assert len(record.flagged_sha256) == result.counts.flagged
    import hashlib

    assert record.audit_json_sha256 == hashlib.sha256((tmp_path / "audit" / "audit.json").read_bytes()).hexdigest()
    assert record.encoder_sha256 == hashlib.sha256(
        (tmp_path / "audit" / "encoder" / "weights.pt").read_bytes()).hexdigest()
    assert record.inputs["train"].manifest_sha256 == real_set.manifest_sha256


def test_audit_is_deterministic(real_set, tmp_path):
    synthetic = synthetic_from(real_set, tmp_path / "syn", [int(i) for i in real_set.indices("test")[:8]])
    audit(real_set.root, synthetic.root, tmp_path / "a", fpr=0.2, options=TINY)
    audit(real_set.root, synthetic.root, tmp_path / "b", fpr=0.2, options=TINY)
    assert (tmp_path / "a" / "pairs.csv").read_bytes() == (tmp_path / "b" / "pairs.csv").read_bytes()
    assert (tmp_path / "a" / "audit.json").read_bytes() == (tmp_path / "b" / "audit.json").read_bytes()


def test_audit_resamples_a_synthetic_set_of_another_size(real_set, tmp_path, caplog):
    small = phantom(tmp_path / "small", n=12, size=16, seed=9)
    result = audit(real_set.root, small.root, tmp_path / "audit", fpr=0.2, options=TINY)
    assert result.counts.synthetic == 12
    assert "resampling all images to 16²" in caplog.text
    assert result.audit_image_size == 16  # the report says at which size the sets were compared
    assert result.inputs["synthetic"].image_size == 16 and result.inputs["train"].image_size == 32


def test_search_returns_k_nearest_in_order():
    train = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    found = nearest(train, train[[3]] + 0.1, k=4)
    np.testing.assert_array_equal(found.positions[0], [3, 4, 2, 5])
    assert np.all(np.diff(found.distances[0]) >= 0)


def test_registered_space_aligns_a_moved_copy_and_tells_it_from_other_images(real_set):
    from privacy.registered import RegisteredConfig, RegisteredSpace

    pixels = real_set.load_pixels(real_set.indices("train"))
    train = AuditImages.from_arrays("train", pixels, [str(i) for i in range(len(pixels))], ["p"] * len(pixels))
    copies = planted_copies(pixels[[4, 9]], seed=1, alteration=Alteration(max_shift=1 / 16))  # ±2 px at 32²
    queries = AuditImages.from_arrays("q", copies, ["a", "b"], ["p", "p"])
    candidates = np.array([[4, 7, 11, 4], [2, 9, 30, -1]])  # repeats and "no candidate" are allowed
    found = RegisteredSpace(RegisteredConfig(candidates=4)).compare(queries, train, candidates)
    np.testing.assert_array_equal(found.nearest, [4, 9])
    r = 1 - found.distance**2 / 2  # back from distance to aligned correlation
    assert np.all(r > 0.97)
    assert np.all(found.ratio < 0.8)  # the second-best candidate is clearly worse


def test_patient_threshold_is_a_safe_lower_bound_with_few_patients():
    rng = np.random.default_rng(4)
    few = np.repeat(np.arange(10), 20).astype(str)  # 10 patients, 20 alike images each
    scores = rng.random(10)[np.repeat(np.arange(10), 20)] + 0.1 * rng.random(200)
    many = np.arange(200).astype(str)
    plain = calibrate.threshold(scores, 0.05)
    bound_few = calibrate.patient_threshold(scores, few, 0.05, seed=0)
    bound_many = calibrate.patient_threshold(scores, many, 0.05, seed=0)
    assert bound_few.quantile == pytest.approx(plain) and bound_few.patients == 10
    assert bound_few.threshold <= bound_many.threshold <= plain
    assert bound_many.threshold > 0.5 * plain  # with many patients it stays near the quantile
    assert calibrate.patient_threshold(scores, few, 0.05, seed=0) == bound_few  # seeded
