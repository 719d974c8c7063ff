"""The worker processes of a run with `runner.kind: process`: one forkserver, warmed once, that forks the workers.

Prefect's tasks run in threads of the flow's process and hand their batch to a pool of worker processes. The
workers are forked from a multiprocessing *forkserver* (never from the flow's process, whose Prefect threads
make `fork` unsafe). The forkserver imports the pipeline and loads jieba's dictionary and the spaCy pipeline
once, before it forks anything, so every worker is born warm and shares those pages with its siblings.

`start(settings)` launches that forkserver in the background and returns at once; `jmm run` calls it before
Prefect's API server starts, so the warm-up overlaps Prefect's start-up. A run that finds nothing to do never
waits for it. The forkserver lives as long as the process that started it (a long-running `jmm serve`, a
benchmark, a test session): later runs fork their workers from it in milliseconds.

(Prefect's own ProcessPoolTaskRunner spawns fresh interpreters that import Prefect and the pipeline again:
~10 s a worker on this kind of machine, for every run.)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.settings import RunnerKind, Settings

log = logging.getLogger(__name__)

#: Environment variable through which `start` tells the forkserver what to load (see `_warm_forkserver`).
WARM_ENV = "JMM_FORKSERVER_WARM"
#: Modules the forkserver imports before it forks: the caller's main module (so that workers do not run it
#: again), then this module, whose import warms the pipeline when WARM_ENV is set.
PRELOAD = ["__main__", "flows.workers"]

_context = multiprocessing.get_context("forkserver")

#: Whether `start` has launched the forkserver of this process.
_started = False

#: The process that loaded the pipeline in `_warm_forkserver` (the forkserver), if any.
_warmed_in: int | None = None

#: The warm worker pool of the current run (see `worker_pool`); None outside a run with the process runner.
_POOL: ProcessPoolExecutor | None = None


def _paths(settings: Settings) -> tuple[Path, Path]:
    return settings.path(settings.tag.gazetteer), settings.path(settings.segment.user_dictionary)


def prepare(settings: Settings) -> None:
    """Make the resources every worker loads: the jieba user dictionary generated from the gazetteer."""
    from pipeline.gazetteer import load_gazetteer
    from pipeline.segment import write_user_dictionary

    gaz_dir, udict = _paths(settings)
    write_user_dictionary(load_gazetteer(gaz_dir), udict, gaz_dir / "domain_terms.txt")


def warm(settings: Settings, run_pid: int | None = None) -> None:
    """Pool initializer: exit when the run's process `run_pid` ends, and load jieba, the spaCy pipeline and the
    learned models (a no-op in a worker forked warm)."""
    from pipeline import mentions
    from pipeline.learn import load_models

    if run_pid is not None:
        exit_with(run_pid)
    mentions.load_pipeline(*_paths(settings))
    load_models(settings.path(settings.tag.models))


def exit_with(pid: int) -> None:
    """Exit this process at once when process `pid` ends (however it ends: kill -9 too). A pool worker is a
    child of the forkserver, not of the run, so the kernel's parent-death signal cannot tie it to the run; and
    the forkserver lives as long as any worker does. A thread waits on a pidfd of the run (polls where there is
    none) and ends the worker, whose extraction helper then dies with it (parent-death signal, pipeline/isolate)."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfd (old kernel) or the process is gone already
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has ended
        else:
            while _running(pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


try:
    _PRCTL: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _PRCTL = None


def die_with_parent_of(parent: int) -> Callable[[], None]:
    """A function that, run in a child of `parent` (after fork, or as `preexec_fn`), has the kernel kill the
    child with SIGKILL when its parent dies (PR_SET_PDEATHSIG), and kills it at once if the parent is already
    gone. Nothing on systems without prctl."""

    def arm() -> None:
        if _PRCTL is None:
            return
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def start(settings: Settings) -> None:
    """Launch the warm forkserver in the background (no-op unless runner.kind is process, or when one runs)."""
    global _started
    if settings.runner.kind is not RunnerKind.process or _started:
        return  # one forkserver a process (a dead one is restarted by multiprocessing, cold)
    from multiprocessing import forkserver

    prepare(settings)
    gaz, udict = _paths(settings)
    previous = os.environ.get(WARM_ENV)
    os.environ[WARM_ENV] = json.dumps([str(gaz), str(udict), str(settings.path(settings.tag.models))])
    try:  # the forkserver inherits the environment as it is now
        _context.set_forkserver_preload(PRELOAD)
        forkserver.ensure_running()
        _started = True
    finally:
        if previous is None:
            os.environ.pop(WARM_ENV, None)
        else:
            os.environ[WARM_ENV] = previous


@contextlib.contextmanager
def worker_pool(settings: Settings) -> Iterator[None]:
    """With runner.kind = process, keep one pool of warm worker processes for the run (see the module doc)."""
    global _POOL
    if settings.runner.kind is not RunnerKind.process or _POOL is not None:
        yield
        return
    start(settings)
    pool = ProcessPoolExecutor(max_workers=settings.runner.workers, mp_context=_context, initializer=warm,
                               initargs=(settings, os.getpid()))
    _POOL = pool
    try:
        yield
    finally:
        _POOL = None
        pool.shutdown(wait=True, cancel_futures=True)


def run(fn: Callable[[Any, Settings], Any], items: Any, settings: Settings) -> Any:
    """Run a batch function in the run's worker pool when there is one, else here (thread or Dask worker)."""
    pool = _POOL
    if pool is not None:
        return pool.submit(fn, items, settings).result()
    return fn(items, settings)


def _warm_forkserver() -> None:
    """In the forkserver (WARM_ENV set by `start`): import the pipeline and load jieba and spaCy before forking.
    A failure here only costs time: each worker then loads them itself."""
    global _warmed_in
    spec = os.environ.pop(WARM_ENV, None)
    if not spec:
        return
    try:
        from pipeline import candidates, extract, isolate, mentions, process  # noqa: F401 - for the workers
        from pipeline.learn import load_models

        gaz, udict, models = json.loads(spec)
        mentions.load_pipeline(Path(gaz), Path(udict))
        load_models(models)
        _warmed_in = os.getpid()
    except Exception as exc:  # noqa: BLE001 - never let the warm-up break the forkserver
        log.warning("the worker forkserver could not warm the pipeline (%s); workers load it themselves", exc)


def wait_ready(settings: Settings) -> None:
    """Block until the forkserver has warmed up (by forking one worker from it); for benchmarks and tests."""
    if settings.runner.kind is not RunnerKind.process:
        return
    start(settings)
    with ProcessPoolExecutor(max_workers=1, mp_context=_context, initializer=warm,
                             initargs=(settings, os.getpid())) as pool:
        pool.submit(int).result()



def born_warm() -> bool:
    """Whether this process inherited a loaded pipeline from the forkserver (rather than loading it itself)."""
    from pipeline import mentions

    return _warmed_in not in (None, os.getpid()) and mentions.load_pipeline.cache_info().currsize > 0


_warm_forkserver()
