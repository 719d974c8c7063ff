"""Extract files in a helper process under the limits of `ExtractSettings`, so a bad file costs only the
helper: a file that takes longer than `seconds_per_document` is stopped (the helper is killed, even inside a
C library), a file that needs more than `memory_mb_per_worker` fails with MemoryError (RLIMIT_AS in the
helper), and a parser that crashes (a segfault) takes down only the helper. The helper is started on first
use, serves file after file, and is replaced after it is killed.

The helper is a fresh interpreter (`python -c`, not multiprocessing), so it works from any caller, imports
only the extraction stage (about 1 s), and is unaffected by the caller's threads."""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from pipeline import extract
from pipeline.errors import ExtractionError, PipelineError
from pipeline.records import Document, Source
from pipeline.settings import ExtractSettings

log = logging.getLogger(__name__)


def _checked(source: Source, limits: ExtractSettings) -> Document:
    """Extract one file after the cheap checks of the limits (the page count before any page is read)."""
    if source.kind == "pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(source.path)
        except pdfium.PdfiumError:
            pdf = None  # extract.document says what is wrong with it
        if pdf is not None:
            n = len(pdf)
            pdf.close()
            if n > limits.max_pages:
                raise ExtractionError(
                    f"{source.path}: PDF has {n} pages, more than extract.max_pages={limits.max_pages}; "
                    f"split it into smaller files, or raise extract.max_pages in config.yaml")
    return extract.document(source, None, limits)


def serve(fd: int, memory_mb: int) -> None:
    """The helper's loop: extract each (source, limits) received on socket `fd`; reply ("ok", Document),
    ("error", PipelineError), ("memory", "") or ("crash", text). Returns when the caller closes the socket."""
    import ctypes
    import resource

    try:  # die with the parent, so a parser stuck in C never outlives a killed run
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    conn = Connection(fd)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            source, limits = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", _checked(source, limits))
        except PipelineError as exc:
            reply = ("error", exc)
        except MemoryError:
            reply = ("memory", "")
        except Exception as exc:  # noqa: BLE001 - any library failure on a bad file becomes a reason
            reply = ("crash", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", ""))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("crash", f"{type(exc).__name__} while returning the result: {exc}"))


_START_S = 120


class Extractor:
    """One helper process and the connection to it; `document` extracts a file under the limits."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        code = f"from pipeline.isolate import serve; serve({theirs.fileno()}, {self.memory_mb})"
        self._proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),),
                                      stdin=subprocess.DEVNULL, close_fds=True)
        theirs.close()
        self._conn = Connection(ours.detach())
        # the clock of a document starts once the helper is up (imports take about a second, more under load)
        try:
            started = self._conn.poll(_START_S) and self._conn.recv()[0] == "ready"
        except (EOFError, OSError):
            started = False
        if not started:
            self.close()
            raise ExtractionError(f"the extraction helper process did not start within {_START_S} s; check that "
                                  f"`{sys.executable} -c 'import pipeline.extract'` works")

    def close(self) -> None:
        """Stop the helper (SIGKILL: it may be stuck inside a C library)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the OS will reap
                log.warning("extraction helper %s did not exit", self._proc.pid)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def document(self, source: Source, limits: ExtractSettings) -> Document:
        """Extract `source`; raise ExtractionError naming the file for a bad file, a timeout, too much
        memory or a crash of the parser."""
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._start()
        assert self._conn is not None and self._proc is not None
        seconds = limits.seconds_per_document
        try:
            self._conn.send((source, limits))
            ready = self._conn.poll(seconds)
        except OSError:
            ready = True  # the helper died: recv says how
        if not ready:
            self.close()
            raise ExtractionError(
                f"{source.path}: extraction did not finish within extract.seconds_per_document={seconds:g} s "
                f"and was stopped; the file may be damaged or very large — check that it opens, split it, or "
                f"raise extract.seconds_per_document in config.yaml")
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            try:
                exitcode = self._proc.wait(10)
            except subprocess.TimeoutExpired:
                exitcode = None
            self.close()
            raise ExtractionError(_died(source, exitcode, limits)) from None
        if status == "ok":
            return value
        if status == "error":
            raise value
        if status == "memory":
            raise ExtractionError(
                f"{source.path}: extraction needs more than extract.memory_mb_per_worker="
                f"{limits.memory_mb_per_worker} MB of memory and was stopped; split the file, or raise "
                f"extract.memory_mb_per_worker in config.yaml")
        raise ExtractionError(
            f"{source.path}: the parser failed on this file ({value}); the file is probably damaged — check "
            f"that it opens, or download it again, and add it again (its copy is kept in the raw store)")


def _died(source: Source, exitcode: int | None, limits: ExtractSettings) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return (f"{source.path}: the parser crashed on this file ({how}; perhaps out of memory, the limit is "
            f"extract.memory_mb_per_worker={limits.memory_mb_per_worker} MB); the file is probably damaged — "
            f"download or repair it and add it again")


_local = threading.local()
_all: list[Extractor] = []
_lock = threading.Lock()


def load_extractor(memory_mb: int) -> Extractor:
    """This thread's extraction helper (one per thread, so threads never share a connection)."""
    ex: Extractor | None = getattr(_local, "extractor", None)
    if ex is None or ex.memory_mb != memory_mb:
        if ex is not None:
            ex.close()
        ex = _local.extractor = Extractor(memory_mb)
        with _lock:
            _all.append(ex)
    return ex


def document(source: Source, limits: ExtractSettings) -> Document:
    """Extract one file in this thread's helper process under `limits`."""
    return load_extractor(limits.memory_mb_per_worker).document(source, limits)


@atexit.register
def _close_all() -> None:
    for ex in _all:
        ex.close()

