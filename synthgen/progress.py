"""Rich progress bars for anything that takes more than a few seconds (never print-logging)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, e.g. '812 files/s'."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"– {self.unit}/s", style="progress.data.speed")


@contextlib.contextmanager
def progress_bar(total: int, description: str, unit: str = "files", enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield `advance(n=1, status=None)`; shows done/total, rate, ETA and an optional status text
    (e.g. the current loss) on stderr when `enabled`."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total, status="")

        def advance(n: int = 1, status: str | None = None) -> None:
            if status is None:
                progress.advance(task, n)
            else:
                progress.update(task, advance=n, status=status)

        yield advance
