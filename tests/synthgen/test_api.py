"""`synthgen.api`: the README's Python example runs as written, and each stage returns what it says."""

from __future__ import annotations

import hashlib
import json
import re

import pydicom
import pytest

from synthgen import api
from synthgen.errors import SynthgenError
from synthgen.imageset import ImageSet
from tests.fixtures.paths import REPO


def readme_example() -> str:
    """The README's Python API example: the python block after its `<!-- python-api-example -->` marker."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.search(r"<!-- python-api-example -->\s*```python\n(.*?)```", text, flags=re.S).group(1)


def test_readme_python_example_runs_every_stage_and_returns_typed_results(tmp_path, monkeypatch, capsys):
    (tmp_path / "configs").symlink_to(REPO / "configs")  # the example names configs/ of the repository root
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(readme_example(), "README.md (Python API)", "exec"), names)
    real, model, synthetic, audit = names["real"], names["model"], names["synthetic"], names["audit"]
    kept, report, exported = ImageSet.open(names["kept"]), names["report"], names["exported"]

    assert real.info["kind"] == "real" and len(real) == 200 and real.image_size == 16
    assert set(real.info["counts"]["by_split"]) == {"train", "val", "test"}
    weights = model.run / "model" / "weights.pt"
    assert model.steps == 30 and model.model_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert synthetic.info["kind"] == "synthetic" and len(synthetic) == 100
    assert audit.counts.synthetic == 100 and audit.counts.train == len(real.indices("train"))
    assert len(kept) == audit.counts.kept == 100 - audit.counts.flagged
    assert report.report.is_file()
    assert json.loads((report.out / "metrics.json").read_text())["utility"] == report.metrics["utility"]
    ratio = report.metrics["utility"]["tstr_trtr_auc_ratio"]["value"]
    assert 0 < ratio < 10
    dicoms = sorted((tmp_path / "runs/api/export/images").glob("*.dcm"))
    assert exported.format == "dicom" and exported.files == len(kept) == len(dicoms)
    assert pydicom.dcmread(dicoms[0]).SyntheticData == "YES"
    assert capsys.readouterr().out.split() == [audit.verdict, str(ratio), str(exported.files)]


def test_api_audit_and_validate_take_the_commands_options_by_name(tmp_path):
    with pytest.raises(SynthgenError, match="audit: encoder option steps must be a positive integer, got 0"):
        api.audit(tmp_path / "train", tmp_path / "synthetic", tmp_path / "audit", encoder_steps=0)
    with pytest.raises(TypeError, match="encoder_step"):
        api.audit(tmp_path / "train", tmp_path / "synthetic", tmp_path / "audit", encoder_step=20)
    with pytest.raises(SynthgenError, match="--seeds must be at least 1"):
        api.validate(tmp_path / "a", tmp_path / "a", tmp_path / "b", tmp_path / "v", seeds=0)
    assert not any(tmp_path.iterdir())  # refused before anything was written
