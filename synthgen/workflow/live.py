"""The live view of `synthgen run`: the plan, the current stage with its progress bar, one line per
finished stage, and the headline numbers at the end.

Stages draw their own rich progress bars (done/total, rate, elapsed, ETA) on stderr; this view
prints around them on stdout, so a log of stdout alone reads as the run's summary.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from synthgen.workflow.runner import PlannedStage, QuietView
from synthgen.export.dicom_check import dicom_check_text
from synthgen.workflow.stages import AUDIT, EXPORT, Stage
from synthgen.workflow.state import StageRecord


class LiveView(QuietView):
    def __init__(self, console: Console | None = None, show_stages: bool = True) -> None:
        self.console = console or Console()
        self.show_stages = show_stages  # False (synthgen -q run): the headline numbers only

    def plan(self, root: Path, plan: list[PlannedStage], dry_run: bool) -> None:
        if not (self.show_stages or dry_run):
            return
        table = Table(title=f"{'plan (dry run)' if dry_run else 'plan'} — {root}", title_justify="left")
        table.add_column("stage")
        table.add_column("action")
        table.add_column("why")
        for step in plan:
            table.add_row(step.name, "[yellow]run" if step.run else "[green]skip", step.reason)
        self.console.print(table)

    def started(self, name: str, index: int, total: int, reason: str) -> None:
        if self.show_stages:
            self.console.rule(f"[bold]{name}[/] ({index + 1}/{total}) — {reason}", align="left")

    def finished(self, stage: Stage, record: StageRecord, skipped: bool) -> None:
        if not self.show_stages:
            return
        mark, when = ("[green]=[/]", "up to date") if skipped else ("[green]✓[/]", f"{record.wall_time_s:.0f} s")
        self.console.print(f"{mark} [bold]{stage.name:<9}[/] {stage.describe(record.summary)}  [dim]({when})[/]",
                           highlight=False)

    def failed(self, name: str, error: BaseException) -> None:
        if self.show_stages:
            self.console.print(f"[red]✗ {name} failed[/]: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
                               highlight=False)

    def done(self, root: Path, records: dict[str, StageRecord]) -> None:
        table = Table(title=f"synthgen run — {root}", title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for label, value in headline(root, records):
            table.add_row(label, value)
        self.console.print(table)


def headline(root: Path, records: dict[str, StageRecord]) -> list[tuple[str, str]]:
    """The numbers a user looks at first, as (label, text) rows."""
    def summary(name: str) -> dict:
        record = records.get(name)
        return record.summary if record and record.status == "done" else {}

    validation, audit, export = summary("validate"), summary("audit"), summary("export")
    rows = []
    if validation:
        ratio = validation.get("tstr_trtr_auc_ratio")
        interval = (f" (95 % CI {validation['ci_low']:.2f}–{validation['ci_high']:.2f})"
                    if ratio is not None and validation.get("ci_low") is not None else "")
        rows.append(("TSTR/TRTR AUC ratio", f"{ratio:.2f}{interval}" if ratio is not None else "n/a"))
        if validation.get("two_sample_auc") is not None:
            rows.append(("real-vs-synthetic AUC", f"{validation['two_sample_auc']:.2f} (a CNN telling them apart; "
                                                  f"real vs real {validation['two_sample_auc_real_vs_real']:.2f})"))
    if audit:
        rows.append(("flagged by the audit", f"{audit['flagged']} of {audit['synthetic']} "
                                             f"({audit['flagged_fraction']:.1%}), verdict {audit['verdict']}"))
    if export:
        rows.append(("files exported", ", ".join(f"{n} {fmt} ({root / EXPORT / fmt})" for fmt, n in export["files"].items())))
        if "dicom" in export["files"]:
            rows.append(("DICOM validation", dicom_check_text(export.get("dicom_check"))))
    if validation:
        rows.append(("report", validation["report"]))
    if audit:
        rows.append(("audit", str(root / AUDIT / "audit.json")))
    rows.append(("run state", str(root / "run.json")))
    return rows
