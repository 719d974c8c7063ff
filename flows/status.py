"""Where a store lives, and the status file a run keeps up to date so that `jmm status` can answer while the run
holds the store: the run's stage and progress, its documents by stage and the quarantined inputs with reasons.

The file (`<store root>/run-status.json`) is replaced atomically (written beside, then renamed), at most once a
second and at every change of stage; a reader never takes a lock and never sees half a file. This module
imports neither Prefect nor DuckDB, so `jmm status` answers in about a second however busy the run is."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.settings import Settings


def store_path(settings: Settings) -> Path:
    return settings.path(settings.store.root) / settings.store.database


def raw_root(settings: Settings) -> Path:
    return settings.path(settings.store.root) / "raw"


def status_path(settings: Settings) -> Path:
    return settings.path(settings.store.root) / "run-status.json"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class RunStatus:
    """The status of one run, written to `path` as it goes. `stage` starts a stage, `progress` moves its
    progress, `note` merges facts (counts), `quarantined` adds inputs, `finish` ends the run."""

    def __init__(self, path: Path | str, interval_s: float = 1.0, **facts: Any) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self._last = 0.0
        self._t0 = self._stage_t0 = self._progress_t0 = time.monotonic()
        self.data: dict[str, Any] = {
            "pid": os.getpid(), "state": "running", "started_at": _now(), "updated_at": _now(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "stage": "starting", "step": None,
            "progress": None, "documents": {}, "stages": {}, "quarantined": [], **facts}

    # -- changes --------------------------------------------------------------------------------------
    def stage(self, name: str, step: str | None = None) -> None:
        """Start a stage (planning, documents, topics, export, report); the previous one's time is kept."""
        now = time.monotonic()
        previous = self.data["stage"]
        if previous != name and previous != "starting":
            self.data["stages"][previous] = round(now - self._stage_t0, 1)
            self._stage_t0 = now
        self._progress_t0 = now
        self.data.update(stage=name, step=step, progress=None)
        self.write(force=True)

    def step(self, step: str) -> None:
        """Name the part of the stage going on now (e.g. topics: sampling)."""
        if step != self.data.get("step"):
            self._progress_t0 = time.monotonic()
            self.data.update(step=step, progress=None)
            self.write(force=True)

    def progress(self, done: float, total: float, unit: str) -> None:
        """The stage's (or step's) progress: done out of total units, the rate since it began, the time left."""
        elapsed = time.monotonic() - self._progress_t0
        rate = done / elapsed if elapsed > 0 else 0.0
        self.data["progress"] = {
            "done": round(done, 1), "total": round(total, 1), "unit": unit,
            "percent": round(100.0 * done / total, 1) if total else None,
            "rate_per_s": round(rate, 2), "eta_s": round((total - done) / rate) if rate > 0 and total else None}
        self.write()

    def note(self, write: bool = True, **facts: Any) -> None:
        """Merge facts into the `documents` counts (`write`: False when a progress update follows at once)."""
        self.data["documents"].update(facts)
        if write:
            self.write()

    def quarantined(self, items: list[dict[str, Any]], write: bool = True) -> None:
        if items:
            self.data["quarantined"].extend({k: q.get(k) for k in ("file", "sha256", "stage", "reason", "record")
                                             if q.get(k) is not None} for q in items)
            if write:
                self.write()

    def finish(self, state: str, **facts: Any) -> None:
        """End the run: `finished` or `failed` (with `error`)."""
        now = time.monotonic()
        if self.data["stage"] not in ("starting", "done"):
            self.data["stages"][self.data["stage"]] = round(now - self._stage_t0, 1)
        self.data.update(state=state, stage="done", step=None, progress=None, finished_at=_now(),
                         seconds=round(now - self._t0, 1), **facts)
        self.write(force=True)

    # -- the file -------------------------------------------------------------------------------------
    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        self.data["updated_at"] = _now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill


def read_status(settings: Settings) -> dict[str, Any] | None:
    """The status file of the last run on this store (None when there is none). A run that says it is running
    but whose process is gone was killed: its state is given as `killed`."""
    try:
        data = json.loads(status_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("state") == "running" and not alive(int(data.get("pid") or 0)):
        data["state"] = "killed"
    return data
