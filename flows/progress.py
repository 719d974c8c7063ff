"""Progress of a long run: a rich progress bar with documents per second on a terminal, plain log lines
(at most one every `interval_s` seconds, and one at the end) when the output is a file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Count finished documents out of `total`. Use as a context manager and call `advance(n)`."""

    def __init__(self, total: int, label: str = "documents", stream: TextIO | None = None,
                 interval_s: float = 10.0, tty: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self._t0 = 0.0
        self._last = 0.0
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        self._t0 = self._last = time.perf_counter()
        if self.total and self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskProgressColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, rate="")
        elif self.total:
            self._line("started")
        return self

    def rate(self) -> float:
        """Documents per second so far."""
        elapsed = time.perf_counter() - self._t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=f"{self.rate():.1f} docs/s")
        elif self.total and time.perf_counter() - self._last >= self.interval_s:
            self._line("")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.total:
            self._line("finished")

    def _line(self, what: str) -> None:
        self._last = time.perf_counter()
        elapsed = self._last - self._t0
        share = 100.0 * self.done / self.total if self.total else 100.0
        text = (f"{self.label}: {self.done}/{self.total} ({share:.0f}%), {self.rate():.1f} docs/s, "
                f"{elapsed:.0f} s{' — ' + what if what else ''}")
        print(text, file=self.stream, flush=True)
