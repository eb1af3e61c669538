"""Integration: the audit's targets on real radiographs of ../shared/data (skipped when absent).

The issue's target: at least 99 % of planted copies (noise, shift, contrast, rotation, blur, JPEG)
flagged while at most 1 % of held-out real images are. Measured by `privacy.selftest` on NIH1000
prepared at 64² with patient-level 60/20/20 splits (as in docs/PRIVACY.md).
"""

from __future__ import annotations

import pytest

from privacy.audit import AuditOptions
from privacy.encoder import EncoderConfig
from privacy.selftest import selftest
from synthgen.prepare import prepare
from tests.fixtures.paths import shared_data


pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

ENCODER_STEPS = 200  # as in docs/PRIVACY.md; the registered space carries detection


@pytest.fixture(scope="module")
def nih64(tmp_path_factory):
    # A fixed salt: the self-test orders patients by pseudonym (probes, encoder batches), so a random
    # salt would make its numbers differ from run to run.
    root = shared_data("nih1000")
    return prepare(root, tmp_path_factory.mktemp("nih") / "nih64", labels=root / "labels.csv",
                   patient_column="patient_id", findings_column="finding_labels", size=64,
                   val_fraction=0.2, test_fraction=0.2, salt="nih-selftest", progress=False)


@pytest.fixture(scope="module")
def nih_selftest(nih64, tmp_path_factory) -> dict:
    options = AuditOptions(encoder=EncoderConfig(steps=ENCODER_STEPS))
    return selftest(tmp_path_factory.mktemp("st") / "out", train=nih64.root, planted=500, options=options)


def test_nih1000_planted_copies_are_flagged_and_real_images_are_not(nih_selftest):
    result = nih_selftest
    assert result["counts"]["planted"] == 500 and result["counts"]["holdout"] == 200
    assert result["planted_flagged"] >= 0.99
    assert result["holdout_flagged"] <= 0.01
    # Out of sample: the test split's patients were never used, not even for calibration. With 52 test
    # patients one look-alike patient is worth several percent of images (docs/PRIVACY.md, Limits):
    # 0-4 % across pseudonym salts, 1.8 % (2 patients) with this one.
    assert result["independent_flagged"] <= 0.05
    assert result["target"]["met"] is True


def test_nih1000_registered_space_finds_each_copys_source(nih_selftest):
    registered = nih_selftest["spaces"]["registered"]
    assert registered["planted_nearest_is_source"] >= 0.99
    assert registered["planted_flagged"] >= 0.99
