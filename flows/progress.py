"""Progress of a long stage: a rich progress bar with its rate on a terminal, plain log lines (at most one every
`interval_s` seconds, and one at the end) when the output is a file or a pipe. Every stage of a run that takes
long has one: planning (megabytes of input read), documents, topics (sampling iterations) and export (files);
each can also feed the run's status file (`on_update`), which `jmm status` reads while the run goes on."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

#: Short unit names for the rate (documents per second is "docs/s").
_RATE_UNITS = {"documents": "docs"}


class Progress:
    """Count work done out of `total` (in `unit`s). Use as a context manager and call `advance(n)`, or
    `update(done)` with the amount done so far. `on_update(done, total, unit)` is called at each change."""

    def __init__(self, total: float, label: str = "documents", stream: TextIO | None = None,
                 interval_s: float = 10.0, tty: bool | None = None, unit: str = "documents",
                 on_update: Callable[[float, float, str], None] | None = None, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet  # no bar and no lines: only `on_update` hears of it
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.tty = self.stream.isatty() if tty is None else tty
        self.on_update = on_update
        self.done: float = 0
        self._t0 = 0.0
        self._last = 0.0
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        self._t0 = self._last = time.perf_counter()
        if self.quiet:
            pass
        elif self.total and self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, Progress as RichProgress, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, rate="", count=self._count())
        elif self.total:
            self._line("started")
        if self.on_update is not None:
            self.on_update(0, self.total, self.unit)
        return self

    def rate(self) -> float:
        """Units per second so far."""
        elapsed = time.perf_counter() - self._t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: float = 1) -> None:
        self.update(self.done + n)

    def update(self, done: float) -> None:
        """Set the amount done so far."""
        self.done = done
        if self.on_update is not None:
            self.on_update(done, self.total, self.unit)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, count=self._count(), rate=self._rate())
        elif self.total and not self.quiet and time.perf_counter() - self._last >= self.interval_s:
            self._line("")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.total and not self.quiet:
            self._line("finished")

    def _amount(self, v: float) -> str:
        return f"{v:,.1f}" if self.unit == "MB" else f"{int(v)}"

    def _count(self) -> str:
        return f"{self._amount(self.done)}/{self._amount(self.total)}" + ("" if self.unit == "documents"
                                                                          else f" {self.unit}")

    def _rate(self) -> str:
        return f"{self.rate():.1f} {_RATE_UNITS.get(self.unit, self.unit)}/s"

    def _line(self, what: str) -> None:
        self._last = time.perf_counter()
        elapsed = self._last - self._t0
        share = 100.0 * self.done / self.total if self.total else 100.0
        end = f" — {what}" if what else ""
        print(f"{self.label}: {self._count()} ({share:.0f}%), {self._rate()}, {elapsed:.0f} s{end}", file=self.stream,
              flush=True)


class Steps:
    """The progress of a stage made of steps (topics: reading, vocabulary, anchors, sampling, periods): the
    status file names each step as it starts, and a step with a count (sampling: iterations) gets its own bar.
    Call it with (step, done, total[, unit]); a total of 0 means the step has no count."""

    def __init__(self, stage: str, status: Any = None, units: dict[str, str] | None = None,
                 stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stage = stage
        self.status = status
        self.units = units or {}
        self.stream = stream
        self.tty = tty
        self._step: str | None = None
        self._bar: Progress | None = None

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, step: str, done: float, total: float, unit: str | None = None) -> None:
        if step != self._step:
            self.close()
            self._step = step
            if self.status is not None:
                self.status.step(step)
        if self._bar is None and total:
            self._bar = Progress(total, f"{self.stage}: {step}", stream=self.stream, tty=self.tty,
                                 unit=unit or self.units.get(step, "items"),
                                 on_update=self.status.progress if self.status is not None else None).__enter__()
        if self._bar is not None:
            self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
