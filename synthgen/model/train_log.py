"""Training logs: a CSV (one row per logging interval) and TensorBoard events, rank 0 only, and the
progress bar over the run's budget (steps or minutes).

On resume the CSV keeps only the rows up to the checkpoint's step and TensorBoard purges later
events, so a run killed between a log line and the next checkpoint does not log those steps twice.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

from synthgen.atomic import write_text_atomic
from synthgen.progress import progress_bar

LOG_COLUMNS = ("step", "loss", "lr", "images_per_s", "elapsed_s")


class TrainingLog:
    def __init__(self, csv_path: Path, tensorboard_dir: Path, start_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.csv_path = csv_path
        self.rows = [row for row in read_log(csv_path) if int(row["step"]) <= start_step]
        self._rewrite()
        self.tensorboard = SummaryWriter(str(tensorboard_dir), purge_step=start_step + 1 if start_step else None)

    def add(self, step: int, loss: float, lr: float, images_per_s: float, elapsed_s: float) -> None:
        row = {"step": step, "loss": f"{loss:.6f}", "lr": f"{lr:.3e}", "images_per_s": f"{images_per_s:.1f}",
               "elapsed_s": f"{elapsed_s:.1f}"}
        self.rows.append({k: str(v) for k, v in row.items()})
        with self.csv_path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=LOG_COLUMNS, lineterminator="\n").writerow(row)
        self.tensorboard.add_scalar("train/loss", loss, step)
        self.tensorboard.add_scalar("train/lr", lr, step)
        self.tensorboard.add_scalar("train/images_per_s", images_per_s, step)

    def add_image(self, tag: str, grid, step: int) -> None:
        self.tensorboard.add_image(tag, grid, step, dataformats="HW")

    def close(self) -> None:
        self.tensorboard.close()

    def _rewrite(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text_atomic(self.csv_path, buffer.getvalue())


def read_log(csv_path: Path) -> list[dict[str, str]]:
    if not csv_path.is_file():
        return []
    with csv_path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def budget_text(steps: int | None, minutes: float | None) -> str:
    parts = ([f"{steps} steps"] if steps is not None else []) + ([f"{minutes:g} minutes"] if minutes is not None else [])
    return " or ".join(parts) + (", whichever comes first" if len(parts) == 2 else "")


@contextlib.contextmanager
def training_progress(steps: int | None, minutes: float | None, batch_size: int, enabled: bool):
    """A bar over images (a step budget) or seconds (a wall budget); yields update(step, elapsed_s, status)."""
    by_time = minutes is not None
    total = int(minutes * 60) if by_time else steps * batch_size
    with progress_bar(total, "train", unit="s" if by_time else "img", enabled=enabled) as advance:
        shown = [0]

        def update(step: int, elapsed_s: float, status: str | None = None) -> None:
            now = min(int(elapsed_s), total) if by_time else step * batch_size
            advance(now - shown[0], status=status)
            shown[0] = now
        yield update
