"""The `synthgen audit` command (registered in synthgen/cli.py); heavy imports stay inside it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from privacy.settings import AuditSettings
from synthgen.options import click_options, option_values
from synthgen.errors import SynthgenError


@click.command()
@click.option("--train", type=click.Path(path_type=Path), help="Real image set the model was trained on (its train split).")
@click.option("--synthetic", type=click.Path(path_type=Path), help="Synthetic image set to audit.")
@click.option("--holdout", type=click.Path(path_type=Path),
              help="Real image set never trained on, for calibration [default: val+test splits of --train].")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the audit report.")
@click.option("--filter", "filter_", is_flag=True, help="Also write OUT/filtered: the unflagged images as an image set.")
@click.option("--encoder", type=click.Path(path_type=Path), help="Extra embedding space: a TorchScript file (N,1,S,S)->(N,D).")
@click_options(AuditSettings)
@click.option("--selftest", is_flag=True, help="Plant altered copies of --train images (or a phantom) and check they are found.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def audit(ctx: click.Context, train: Path | None, synthetic: Path | None, holdout: Path | None, out: Path,
          filter_: bool, encoder: Path | None, selftest: bool, overwrite: bool, **values) -> None:
    """Flag synthetic images that are too close to a training image (memorization audit).

    Every synthetic image is compared with every training image in normalized pixels and in a
    contrastive encoder trained on the training images, and aligned (shift, small rotation) with
    its nearest candidates (registered pixels); thresholds come from held-out real images'
    distances at --fpr. Writes OUT/audit.json, pairs.csv, closest_pairs.png.

    \b
    Examples:
      synthgen audit --train runs/nih64 --synthetic runs/samples --out runs/audit --filter
      synthgen audit --selftest --out runs/audit-selftest            # on a phantom
      synthgen audit --selftest --train runs/nih64 --out runs/audit-selftest-nih
    """
    from privacy.calibrate import check_fpr

    settings = AuditSettings(**option_values(AuditSettings, values))
    check_fpr(settings.fpr)
    try:
        options = settings.options(torchscript=encoder)
    except ValueError as err:
        raise SynthgenError(f"bad audit option: {err}") from None
    progress = ctx.obj["progress"] if ctx.obj else False
    if selftest:
        from privacy.selftest import selftest as run_selftest

        result = run_selftest(out, train=train, seed=settings.seed, overwrite=overwrite, options=options, progress=progress)
        click.echo(json.dumps({k: result[k] for k in ("planted_flagged", "holdout_flagged", "independent_flagged",
                                                     "independent_patients_flagged", "probe_flagged", "target",
                                                     "spaces")}, indent=2))
        return
    if train is None or synthetic is None:
        raise SynthgenError("audit needs --train and --synthetic (or --selftest)")
    from privacy.audit import audit as run_audit

    document = run_audit(train, synthetic, out, holdout=holdout, fpr=settings.fpr, filter=filter_, overwrite=overwrite,
                         options=options, progress=progress)
    counts = document.counts
    click.echo(f"{counts.flagged} of {counts.synthetic} synthetic images flagged "
               f"({document.flagged_fraction:.2%}; held-out real: {document.holdout_flagged_fraction:.2%})")
    if document.by_class:
        click.echo("flagged by class: " + "; ".join(
            f"{name} {c.flagged} of {c.synthetic} ({c.flagged / max(c.synthetic, 1):.2%}; held-out real "
            f"{c.holdout_flagged} of {c.holdout})" for name, c in document.by_class.items()))
    if document.selftest is not None:
        check = document.selftest
        click.echo(f"self-test: {check.flagged} of {check.copies} planted copies of training images flagged "
                   f"({check.recall:.1%}; floor {check.floor:.0%})")
    for name, space in document.spaces.items():
        attacks, linkage = space.membership_inference, space.patient_linkage
        if attacks:
            click.echo(f"{name}: membership-inference AUC " + ", ".join(
                f"{attack.replace('_', ' ')} {a['auc']:.3f} ({a['ci_low']:.3f}-{a['ci_high']:.3f})"
                for attack, a in attacks.items() if isinstance(a, dict)))
        if linkage:
            click.echo(f"{name}: {linkage['linked_fraction']:.2%} of synthetic images linked to one training patient "
                       f"(held-out real: {linkage['holdout_linked_fraction']:.2%})")
    click.echo(f"verdict: {document.verdict} -> {out}")
    for reason in document.verdict_reasons:
        click.echo(f"  - {reason}")
