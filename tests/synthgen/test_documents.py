"""The typed stage documents: written then read back unchanged; a renamed key, a wrong type or an
unknown schema version is refused with one line naming the file and the key."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from privacy.audit_document import AuditDocument
from synthgen.chest_phantom import phantom
from synthgen.chest_phantom.provenance import PhantomParameters, PhantomProvenance
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet, ImageSetWriter
from synthgen.imageset.format import DatasetInfo
from synthgen.model.gan.networks import Generator
from synthgen.model.gan.pipeline import GanModelConfigFile, GanPipeline
from synthgen.model.labels import LabelSpace
from synthgen.model.model_card import ModelCard, TrainingSetRecord
from synthgen.model.pipeline import DiffusionPipeline
from synthgen.model.run_folder import ModelConfigFile
from synthgen.model.sample_provenance import GENERATOR, SampleProvenance, SamplingRecord
from synthgen.prepare import prepare
from synthgen.prepare_provenance import DuplicatesRecord, PrepareOptionsRecord, PrepareProvenance
from synthgen.workflow.state import RunDocument, RunState, StageRecord
from tests.fixtures.audit import audit_document
from tests.fixtures.cli import assert_clean_error, run_cli
from tests.fixtures.gan import tiny_gan_config
from tests.fixtures.paths import TEST_DATA
from tests.fixtures.workflow import write_run_config


TRAINING_SET = TrainingSetRecord(name="pm32", path="/data/pm32", manifest_sha256="cd" * 32, kind="real")
CARD = ModelCard(model_sha256="ab" * 32, training_set=TRAINING_SET, classes=["normal", "pneumonia"], findings=[],
                 image_size=32, bit_depth=8, training_images=4000, parameters=123456, steps=1000, batch_size=32,
                 seed=0, processes=1, device="cpu", final_loss=0.0123, wall_time_s=812.5,
                 versions={"synthgen": "0.1.0", "torch": "2.13.0"}, budget={"steps": None, "minutes": 80},
                 ema={"kind": "classic", "decay": 0.999})


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> ImageSet:
    return phantom(tmp_path_factory.mktemp("docs") / "set", n=12, size=16, seed=1)


def sampled_set(root, provenance: dict) -> ImageSet:
    with ImageSetWriter(root, name="sampled", kind="synthetic", classes=["normal"], image_size=4) as writer:
        writer.add(np.zeros((4, 4), np.uint8), label="normal", patient_id="SYN-000000", split="train", source="s#0")
        writer.finish(provenance)
    return ImageSet.open(root)


def rewrite(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_audit_json_reads_back_to_the_same_bytes(tmp_path, small_set):
    document = audit_document(small_set, small_set, verdict="fail", flagged=3)
    written = document.write(tmp_path / "audit.json")
    assert json.loads(written)["schema_version"] == 1
    again = AuditDocument.read(tmp_path / "audit.json")
    assert again == document and again.encode() == written
    assert again.spaces["encoder"].flagged == 3 and again.counts.kept == len(small_set) - 3


def test_model_card_and_training_set_round_trip_and_legacy_cards_read(tmp_path):
    CARD.write(tmp_path / "model_card.json")
    assert ModelCard.read(tmp_path / "model_card.json") == CARD
    TRAINING_SET.write(tmp_path / "training_set.json")
    assert TrainingSetRecord.read(tmp_path / "training_set.json") == TRAINING_SET
    legacy = {k: v for k, v in CARD.to_dict().items() if k not in ("schema_version", "budget", "ema", "kind")}
    (tmp_path / "old.json").write_text(json.dumps(legacy))  # a card written before EDM and before versions
    assert ModelCard.read(tmp_path / "old.json") == replace(CARD, budget=None, ema=None)
    rewrite(tmp_path / "model_card.json", lambda card: card.update(final_loss="low"))
    with pytest.raises(SynthgenError, match=r"model_card.json: key 'final_loss' must be a number, not 'low'"):
        ModelCard.read(tmp_path / "model_card.json")
    rewrite(tmp_path / "training_set.json", lambda record: record.update(sha256=record.pop("manifest_sha256")))
    with pytest.raises(SynthgenError, match=r"training_set.json: unknown key 'sha256'"):
        TrainingSetRecord.read(tmp_path / "training_set.json")


def test_sampled_sets_provenance_round_trips_and_other_sets_have_none(tmp_path, small_set):
    provenance = SampleProvenance(
        generator=GENERATOR, run="/runs/pm32/model", model_sha256="ab" * 32, training_set=TRAINING_SET, model_card=CARD,
        sampling=SamplingRecord(model_sha256="ab" * 32, seed=5, n=1, per_class=None, start=0, stop=1, sampler="dpm++",
                                steps=20, guidance=1.5, churn=0.0))
    sampled = sampled_set(tmp_path / "sampled", provenance.to_dict())
    assert SampleProvenance.of(sampled) == provenance
    assert sampled.info["provenance"]["stage"] == "sample"
    assert SampleProvenance.of(small_set) is None  # a phantom: not sampled
    legacy = {k: v for k, v in provenance.to_dict().items() if k not in ("schema_version", "stage")}
    del legacy["sampling"]["churn"]  # sampled before churn and before the provenance said its stage
    assert SampleProvenance.of(sampled_set(tmp_path / "legacy", legacy)) == provenance


def test_run_json_round_trips_and_refuses_a_renamed_or_retyped_key(tmp_path):
    state = RunState(tmp_path, "configs/run/demo.yaml", {
        "prepare": StageRecord(status="done", config_sha256="1" * 64, inputs={"source": "2" * 64},
                               outputs={"data": "3" * 64}, versions={"synthgen": "0.1.0"}, wall_time_s=3.5,
                               summary={"images": 160}),
        "train": StageRecord(status="running", config_sha256="4" * 64, inputs={"data": "3" * 64})})
    state.resolved_config = {"prepare": {"source": "phantom"}}
    state.save()
    document = RunDocument.read(tmp_path / "run.json")
    assert document.stages == state.stages and document.resolved_config == state.resolved_config
    assert RunState.load(tmp_path, "configs/run/demo.yaml").stages == state.stages
    path = tmp_path / "run.json"
    rewrite(path, lambda run: run["stages"]["train"].update(status="finished"))
    with pytest.raises(SynthgenError, match=r"run.json: key 'stages.train.status' must be one of 'running', 'done'"):
        RunDocument.read(path)
    state.save()
    rewrite(path, lambda run: run["stages"]["prepare"].update(config_hash=run["stages"]["prepare"].pop("config_sha256")))
    with pytest.raises(SynthgenError, match=r"run.json: unknown key 'stages.prepare.config_hash'"):
        RunDocument.read(path)
    state.save()
    rewrite(path, lambda run: run.update(format_version=7))
    with pytest.raises(SynthgenError, match=r"run.json: key 'format_version' is 7"):
        RunDocument.read(path)


def test_run_refuses_a_run_json_with_a_renamed_key_naming_it(tmp_path, capsys):
    config = write_run_config(tmp_path / "tiny.yaml")
    (tmp_path / "out").mkdir()
    RunState(tmp_path / "out", config, {"prepare": StageRecord(status="done", config_sha256="1" * 64, inputs={})}).save()
    rewrite(tmp_path / "out" / "run.json", lambda run: run.update(state=run.pop("stages")))
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert_clean_error(code, err, "run.json", "unknown key 'state'")


def test_dataset_json_round_trips_and_a_renamed_key_stops_opening_the_set(tmp_path, small_set):
    path = small_set.root / "dataset.json"
    assert DatasetInfo.read(path).encode() == path.read_bytes()
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("manifest.csv", "dataset.json"):
        (copy / name).write_bytes((small_set.root / name).read_bytes())
    rewrite(copy / "dataset.json", lambda info: info.update(label_names=info.pop("classes")))
    with pytest.raises(SynthgenError, match=r"dataset.json: unknown key 'label_names'"):
        ImageSet.open(copy)
    rewrite(copy / "dataset.json", lambda info: info.update(classes=info.pop("label_names"), format_version=3))
    with pytest.raises(SynthgenError, match=r"dataset.json: key 'format_version' is 3"):
        ImageSet.open(copy)


def test_a_document_that_is_not_an_object_or_missing_is_named(tmp_path):
    (tmp_path / "audit.json").write_text("[1, 2]")
    with pytest.raises(SynthgenError, match=r"audit.json must hold a JSON object \(a privacy audit\), not list"):
        AuditDocument.read(tmp_path / "audit.json")
    with pytest.raises(SynthgenError, match=r"model_card.json is missing: no model card there"):
        ModelCard.read(tmp_path / "model_card.json")


def test_model_config_round_trips_and_a_renamed_key_stops_loading_the_model(tmp_path):
    legacy = TEST_DATA / "legacy_v1_model"
    config = ModelConfigFile.read(legacy / "config.json")  # written by format 1, before the documents were typed
    assert config.write(tmp_path / "config.json") and ModelConfigFile.read(tmp_path / "config.json") == config
    model = tmp_path / "model"
    shutil.copytree(legacy, model)
    rewrite(model / "config.json", lambda saved: saved.update(label_space=saved.pop("labels")))
    with pytest.raises(SynthgenError, match=r"config.json: unknown key 'label_space'"):
        DiffusionPipeline.load(model)


def copy_set(image_set: ImageSet, root) -> ImageSet:
    shutil.copytree(image_set.root, root)
    return ImageSet.open(root)


def test_prepared_sets_provenance_round_trips_and_legacy_sets_read(npz_source, tmp_path, small_set):
    prepared = prepare(npz_source, tmp_path / "set", size=28, seed=3, salt="s", progress=False)
    provenance = PrepareProvenance.of(prepared)
    assert provenance.options == PrepareOptionsRecord(size=28, val_fraction=0.1, test_fraction=0.1, resplit=False,
                                                      seed=3, dedupe=False, pseudonym_salt="given", drop=[],
                                                      source_names="salted-hash")
    assert provenance.duplicates == DuplicatesRecord(extra_copies=0, across_splits=0, dropped=0)
    assert provenance.dropped == {} and provenance.label_mapping == {}
    assert prepared.info["provenance"] == provenance.to_dict()  # written with the definition, read back unchanged
    assert PrepareProvenance.of(small_set) is None  # a phantom: not prepared
    legacy = {k: v for k, v in provenance.to_dict().items()  # prepared before --drop and hashed names
              if k not in ("schema_version", "dropped", "label_mapping")}
    legacy["options"] = {k: v for k, v in legacy["options"].items() if k not in ("drop", "source_names")}
    assert PrepareProvenance.of(sampled_set(tmp_path / "legacy", legacy)) == replace(
        provenance, dropped=None, label_mapping=None, options=replace(provenance.options, drop=None, source_names="kept"))


def test_export_refuses_a_prepared_set_whose_provenance_has_a_renamed_key(npz_source, tmp_path, capsys):
    prepared = prepare(npz_source, tmp_path / "set", size=28, salt="s", progress=False)
    rewrite(prepared.root / "dataset.json",
            lambda info: info["provenance"]["options"].update(split_seed=info["provenance"]["options"].pop("seed")))
    code, _, err = run_cli(["export", prepared.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "dataset.json provenance", "unknown key 'options.split_seed'",
                       "key 'options.seed' is missing")
    assert not (tmp_path / "out").exists()


def test_phantom_provenance_round_trips_and_phantoms_drawn_before_it_said_its_stage_read(tmp_path, small_set):
    provenance = PhantomProvenance.of(small_set)
    assert provenance == PhantomProvenance(seed=1, n=12, size=16, patients=provenance.patients,
                                           parameters=PhantomParameters(0.1, 0.1, [1, 4], 8),
                                           synthgen_version=provenance.synthgen_version)
    assert small_set.info["provenance"] == provenance.to_dict() and provenance.stage == "phantom"
    legacy = {k: v for k, v in provenance.to_dict().items() if k not in ("schema_version", "stage")}
    assert PhantomProvenance.of(sampled_set(tmp_path / "legacy", legacy)) == provenance


def test_export_refuses_a_phantom_whose_provenance_has_a_renamed_key(tmp_path, small_set, capsys):
    broken = copy_set(small_set, tmp_path / "phantom")
    rewrite(broken.root / "dataset.json", lambda info: info["provenance"].update(count=info["provenance"].pop("n")))
    code, _, err = run_cli(["export", broken.root, "--out", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "dataset.json provenance", "unknown key 'count'", "key 'n' is missing")


def tiny_gan_pipeline() -> GanPipeline:
    labels = LabelSpace(("normal", "pneumonia"))
    prior = {"class_counts": [3, 2], "findings_by_class": [[], []]}
    return GanPipeline(Generator(tiny_gan_config().generator, labels.dim, 16), labels, 16, 16, prior)


def test_gan_model_config_round_trips_and_a_renamed_key_stops_loading_the_model(tmp_path):
    pipeline = tiny_gan_pipeline()
    pipeline.save(tmp_path / "model")
    config = GanModelConfigFile.read(tmp_path / "model" / "config.json")
    assert config == pipeline.config_file() and config.encode() == (tmp_path / "model" / "config.json").read_bytes()
    saved = json.loads(config.encode())
    assert (saved["format"], saved["format_version"], saved["bit_depth"]) == ("synthgen-gan-model", 1, 16)
    loaded = GanPipeline.load(tmp_path / "model")
    assert (loaded.labels, loaded.image_size, loaded.bit_depth, loaded.label_prior) == \
        (pipeline.labels, 16, 16, pipeline.label_prior)
    rewrite(tmp_path / "model" / "config.json", lambda file: file.update(size=file.pop("image_size")))
    with pytest.raises(SynthgenError, match=r"model/config.json: unknown key 'size' and key 'image_size' is missing"):
        GanPipeline.load(tmp_path / "model")
    rewrite(tmp_path / "model" / "config.json", lambda file: file.update(image_size=file.pop("size"), format="gan"))
    with pytest.raises(SynthgenError, match=r"config.json: key 'format' is 'gan', not 'synthgen-gan-model'"):
        GanPipeline.load(tmp_path / "model")
