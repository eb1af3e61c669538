"""run.json: what each stage of a run was given, what it made, and whether it finished.

    {"format": "synthgen-run", "format_version": 1, "config": "configs/run/demo.yaml", "updated": "...",
     "created": "...",                                  # the time every output carries (see below)
     "resolved_config": {...},                          # every section with its defaults filled in
     "stages": {"train": {"status": "done",            # running | done | failed
                          "config_sha256": "...",      # of the stage's config section
                          "inputs":  {"data": "<tree sha256>"},
                          "outputs": {"model": "<tree sha256>"},
                          "versions": {"synthgen": ..., "torch": ..., "monai": ..., "python": ...},
                          "started": "...", "finished": "...", "wall_time_s": 183.2,
                          "summary": {...}}}}       # the stage's headline numbers

`created` is pinned when the run folder is first used (or given by the config's `created`): every
stage's timestamps read it, so a stage that runs again on unchanged input (e.g. prepare after the
source files were copied, which changes their modification times) makes the same bytes, and the
stages after it, training above all, stay up to date or resume instead of starting over.

A folder's tree sha256 covers every file's relative path and bytes, except the image sets' pixel
caches (`.cache/`, rebuilt by readers). Every write of run.json is atomic (temporary file and
rename), so a run killed at any moment leaves the previous or the next state, never half of one.
`RunDocument` is the file's one definition; reading a run.json that does not match it fails naming the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from synthgen.document import Document
from synthgen.errors import SynthgenError
from synthgen.hashing import file_sha256

STATE_FILE = "run.json"
STATE_FORMAT, STATE_FORMAT_VERSION = "synthgen-run", 1
UNHASHED_DIRS = frozenset({".cache"})  # derived data that readers add to image sets


def tree_sha256(path: Path) -> str:
    """sha256 over (relative path, sha256 of bytes) of every file under `path`, in sorted order."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(_files(path)):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file_sha256(file).encode() + b"\n")
    return digest.hexdigest()


def source_fingerprint(path: Path) -> str:
    """A cheap fingerprint of a source (file or folder): relative paths, sizes and modification times.

    Sources can be gigabytes of JPEG or DICOM; re-reading them on every run only to learn they did
    not change would cost more than preparing them again, so their metadata stands in for their bytes.
    """
    path = Path(path)
    if not path.exists():
        raise SynthgenError(f"source {path} does not exist: check prepare.source in the run config")
    files = [path] if path.is_file() else sorted(_files(path))
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        name = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def config_sha256(section: dict) -> str:
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()


def now() -> str:
    return dt.datetime.now(tz=dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class StageRecord:
    status: Literal["running", "done", "failed"]
    config_sha256: str
    inputs: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    wall_time_s: float = 0.0
    summary: dict = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class RunDocument(Document):
    """run.json itself (see the module docstring)."""

    WHAT: ClassVar[str] = "synthgen run state"
    REMEDY: ClassVar[str] = "choose another --out, or delete that run.json to start over"
    FORMAT: ClassVar[str] = STATE_FORMAT
    VERSION_KEY: ClassVar[str] = "format_version"  # run.json has said `format_version` since its first version
    SCHEMA_VERSION: ClassVar[int] = STATE_FORMAT_VERSION

    config: str
    updated: str
    resolved_config: dict
    stages: dict[str, StageRecord]
    created: str | None = None  # absent from run.json files written before it was pinned


class RunState:
    """run.json of one run folder; `save()` after every change."""

    def __init__(self, root: Path, config: Path, stages: dict[str, StageRecord]) -> None:
        self.root, self.config, self.stages = Path(root), str(config), stages
        self.resolved_config: dict = {}  # of this run, saved with the state
        self.recorded_config: dict = {}  # of the last run, as run.json holds it (read only)
        self.created: str | None = None

    @property
    def path(self) -> Path:
        return self.root / STATE_FILE

    @classmethod
    def load(cls, root: Path, config: Path) -> RunState:
        """The run.json in `root`, or an empty state when there is none yet."""
        path = Path(root) / STATE_FILE
        if not path.is_file():
            return cls(root, config, {})
        document = RunDocument.read(path)
        state = cls(root, config, document.stages)
        state.created, state.recorded_config = document.created, document.resolved_config
        return state

    def save(self) -> None:
        RunDocument(config=self.config, updated=now(), resolved_config=self.resolved_config,
                    stages=self.stages, created=self.created).write(self.path)


def _files(root: Path):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in UNHASHED_DIRS)
        for name in files:
            yield Path(folder) / name


