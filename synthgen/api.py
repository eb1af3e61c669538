"""The whole pipeline in Python: one function per stage, each taking paths and returning a typed result.

    from synthgen import api

    real = api.prepare("xrays/", "demo/data", labels="xrays/labels.csv", patient_column="patient_id")
    model = api.train(real.root, "demo/model", "configs/train/demo.yaml")           # TrainResult
    synthetic = api.sample(model.run, "demo/synthetic", n=300)                       # ImageSet
    audit = api.audit(real.root, synthetic.root, "demo/audit", filter=True)          # AuditDocument
    kept = api.filtered_set("demo/audit")                                            # the unflagged images
    report = api.validate(real.root, real.root, kept, "demo/validation", audit="demo/audit")  # ValidationResult
    files = api.export(kept, "demo/export", format="dicom")                          # ExportResult

Each stage function is the one its `synthgen COMMAND` calls, and each takes the command's options as one
dataclass (`PrepareOptions`, `SampleOptions`, `AuditSettings`, `ValidateOptions`, `ExportOptions`) and/or
keyword arguments naming single options, spelled like the run config's keys (`--encoder-steps` ->
`encoder_steps=`). `audit` and `validate` here are that thin layer over `privacy.audit.audit` and
`validation.api.validate`, whose engine arguments (AuditOptions, Recipe) the settings build; the
others are the stage functions themselves. Errors a user can fix raise `synthgen.SynthgenError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from privacy.audit import filtered_set
from privacy.audit_document import AuditDocument
from privacy.settings import AuditSettings
from synthgen.chest_phantom import phantom
from synthgen.errors import SynthgenError
from synthgen.export.api import ExportResult, export
from synthgen.model.sample import sample
from synthgen.model.train import TrainResult, train
from synthgen.prepare import prepare
from validation.api import ValidationResult
from validation.options import ValidateOptions


def audit(train: Path | str, synthetic: Path | str, out: Path | str, settings: AuditSettings | None = None, *,
          holdout: Path | str | None = None, filter: bool = False, overwrite: bool = False, progress: bool = True,
          **changes) -> AuditDocument:
    """`synthgen audit`: flag synthetic images too close to a training image; with `filter`, the
    unflagged ones become the image set `filtered_set(out)`. Returns audit.json's document."""
    from privacy.audit import audit as audit_sets

    try:
        options = replace(settings or AuditSettings(), **changes).options()
    except ValueError as err:
        raise SynthgenError(f"audit: {err}") from None
    return audit_sets(train, synthetic, out, holdout=holdout, filter=filter, overwrite=overwrite, options=options,
                      progress=progress)


def validate(real_train: Path | str, real_test: Path | str, synthetic: Path | str, out: Path | str,
             options: ValidateOptions | None = None, *, audit: Path | str | None = None,
             external_tests: Sequence[str | Path] = (), encoder: Path | str | None = None, overwrite: bool = False,
             progress: bool = True, **changes) -> ValidationResult:
    """`synthgen validate`: realism and downstream utility of `synthetic` against real train/test sets
    (`SET` or `SET:SPLIT`), the audit's verdict from the `audit` folder; writes report.html and metrics.json."""
    from validation.api import validate as validate_sets

    arguments = replace(options or ValidateOptions(), **changes).arguments()
    return validate_sets(real_train, real_test, synthetic, out, audit=audit, external_tests=external_tests,
                         encoder=encoder, overwrite=overwrite, progress=progress, **arguments)


__all__ = ["AuditDocument", "AuditSettings", "ExportResult", "TrainResult", "ValidateOptions", "ValidationResult",
           "audit", "export", "filtered_set", "phantom", "prepare", "sample", "train", "validate"]
