"""Realism metrics, downstream classifier tests and the HTML report (`synthgen validate`).

Works on any synthetic image set against a real train/test pair of image sets:

    from validation import validate
    result = validate("runs/k64", "runs/k64", "runs/k64-synthetic", "runs/k64-validation", seeds=3)

Modules, in the order `validate` uses them: `data` (choose and check the sets), `classifier`
(MONAI network and training recipe), `regimes` (TRTR, TSTR, TRTS, real + synthetic, low data),
`stats` and `utility` (bootstrap CIs, paired tests), `features` and `realism` (encoder, FD, KID,
precision/recall/density/coverage), `image_statistics` (MS-SSIM diversity, intensity histograms),
`audit_summary` and `generator_run` (what other stages wrote), `verdict`, `figures`, `report`,
`api`, `options` (what a user sets: ValidateOptions), `cli`.
"""


def __getattr__(name: str):
    # Lazy, so `synthgen --help` does not import torch through this package.
    if name in ("validate", "ValidationResult"):
        from validation import api

        return getattr(api, name)
    raise AttributeError(f"module 'validation' has no attribute {name!r}")


__all__ = ["ValidationResult", "validate"]
