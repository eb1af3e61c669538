"""The `synthgen audit` command (registered in synthgen/cli.py); heavy imports stay inside it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from privacy.defaults import MEMBERSHIP_AUC_LIMIT, SELFTEST_COPIES, SELFTEST_FLOOR
from synthgen.errors import SynthgenError


@click.command()
@click.option("--train", type=click.Path(path_type=Path), help="Real image set the model was trained on (its train split).")
@click.option("--synthetic", type=click.Path(path_type=Path), help="Synthetic image set to audit.")
@click.option("--holdout", type=click.Path(path_type=Path),
              help="Real image set never trained on, for calibration [default: val+test splits of --train].")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the audit report.")
@click.option("--fpr", default=0.01, show_default=True, type=float,
              help="Share of held-out real images that the thresholds would flag, in (0, 0.5).")
@click.option("--filter", "filter_", is_flag=True, help="Also write OUT/filtered: the unflagged images as an image set.")
@click.option("--encoder", type=click.Path(path_type=Path), help="Extra embedding space: a TorchScript file (N,1,S,S)->(N,D).")
@click.option("--encoder-steps", default=400, show_default=True, type=int, help="Training steps of the audit encoder.")
@click.option("--encoder-width", default=16, show_default=True, type=int, help="Channels of the audit encoder's first stage.")
@click.option("--exact-limit", default=250_000, show_default=True, type=int,
              help="Above this many training images, search an approximate (IVF) index and report its recall.")
@click.option("--selftest-copies", default=SELFTEST_COPIES, show_default=True, type=int,
              help="Altered copies of training images planted (in memory) in every audit to check it finds them; 0: none.")
@click.option("--selftest-floor", default=SELFTEST_FLOOR, show_default=True, type=float,
              help="The verdict fails when the audit flags a smaller share of its own planted copies.")
@click.option("--membership-auc-limit", default=MEMBERSHIP_AUC_LIMIT, show_default=True, type=float,
              help="The verdict fails when a membership-inference attack's AUC is above this with 95 %% confidence.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the encoder training (and the self-test).")
@click.option("--selftest", is_flag=True, help="Plant altered copies of --train images (or a phantom) and check they are found.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def audit(ctx: click.Context, train: Path | None, synthetic: Path | None, holdout: Path | None, out: Path,
          fpr: float, filter_: bool, encoder: Path | None, encoder_steps: int, encoder_width: int,
          exact_limit: int, selftest_copies: int, selftest_floor: float, membership_auc_limit: float, seed: int,
          selftest: bool, overwrite: bool) -> None:
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
    from privacy.audit import AuditOptions
    from privacy.calibrate import check_fpr
    from privacy.encoder import EncoderConfig
    from privacy.search import SearchOptions

    check_fpr(fpr)
    try:
        options = AuditOptions(fpr=fpr, encoder=EncoderConfig(width=encoder_width, steps=encoder_steps, seed=seed),
                               torchscript=encoder, search=SearchOptions(exact_limit=exact_limit, seed=seed),
                               selftest_copies=selftest_copies, selftest_floor=selftest_floor,
                               membership_auc_limit=membership_auc_limit)
    except ValueError as err:
        raise SynthgenError(f"bad audit option: {err}") from None
    progress = ctx.obj["progress"] if ctx.obj else False
    if selftest:
        from privacy.selftest import selftest as run_selftest

        result = run_selftest(out, train=train, seed=seed, overwrite=overwrite, options=options, progress=progress)
        click.echo(json.dumps({k: result[k] for k in ("planted_flagged", "holdout_flagged", "independent_flagged",
                                                     "independent_patients_flagged", "probe_flagged", "target",
                                                     "spaces")}, indent=2))
        return
    if train is None or synthetic is None:
        raise SynthgenError("audit needs --train and --synthetic (or --selftest)")
    from privacy.audit import audit as run_audit

    document = run_audit(train, synthetic, out, holdout=holdout, fpr=fpr, filter=filter_, overwrite=overwrite,
                         options=options, progress=progress)
    counts = document.counts
    click.echo(f"{counts.flagged} of {counts.synthetic} synthetic images flagged "
               f"({document.flagged_fraction:.2%}; held-out real: {document.holdout_flagged_fraction:.2%})")
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
