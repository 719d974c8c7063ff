"""The status file a run keeps (flows/status.py) and the progress of stages made of steps (flows/progress.Steps):
what `jmm status` reads while a run holds the store."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys


def test_the_status_file_follows_the_run_and_says_when_it_was_killed(tmp_path):
    from flows.status import RunStatus, read_status
    from pipeline.settings import Settings

    settings = Settings(base_dir=tmp_path)
    path = tmp_path / "data" / "run-status.json"
    status = RunStatus(path, interval_s=3600.0, store="x.duckdb")
    status.stage("planning")
    status.quarantined([{"file": "a.ofd", "sha256": "ab", "stage": "extract", "reason": "a.ofd: OFD document …",
                         "record": None}])
    status.stage("documents")
    status.progress(5, 20, "documents")  # throttled: not written yet
    assert read_status(settings)["progress"] is None
    status.note(processed=5, quarantined=0, waiting=15)  # throttled too
    status.write(force=True)
    now = read_status(settings)
    assert now["state"] == "running" and now["pid"] == os.getpid() and now["stage"] == "documents"
    progress = now["progress"]
    assert progress["done"] == 5 and progress["percent"] == 25.0 and progress["unit"] == "documents"
    assert now["documents"] == {"processed": 5, "quarantined": 0, "waiting": 15}
    assert now["quarantined"] == [{"file": "a.ofd", "sha256": "ab", "stage": "extract",
                                   "reason": "a.ofd: OFD document …"}]
    assert "planning" in now["stages"] and not list(path.parent.glob(".*.tmp"))  # replaced, never half-written
    status.finish("finished")
    done = read_status(settings)
    assert done["state"] == "finished" and set(done["stages"]) == {"planning", "documents"}

    # a run whose process is gone while its file says running was killed
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {**done, "state": "running", "pid": int(child.stdout)}
    path.write_text(json.dumps(dead), encoding="utf-8")
    assert read_status(settings)["state"] == "killed"


def test_steps_give_each_counted_step_a_bar_and_name_every_step():
    from flows.progress import Steps

    class Recorder:
        def __init__(self) -> None:
            self.steps: list[str] = []
            self.updates: list[tuple[float, float, str]] = []

        def step(self, name: str) -> None:
            self.steps.append(name)

        def progress(self, done: float, total: float, unit: str) -> None:
            self.updates.append((done, total, unit))

    rec, stream = Recorder(), io.StringIO()
    with Steps("topics", rec, {"sampling": "iterations"}, stream=stream, tty=False) as steps:
        steps("vocabulary", 0, 0)
        for i in range(0, 601, 100):
            steps("sampling", i, 600)
        steps("periods", 0, 0)
    assert rec.steps == ["vocabulary", "sampling", "periods"]
    assert rec.updates[-1] == (600, 600, "iterations")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("topics: sampling: 0/600 iterations (0%)") and lines[-1].endswith("finished")
    assert not any(line.startswith("topics: vocabulary") for line in lines)  # no count, no bar
