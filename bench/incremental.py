"""Incremental work and Prefect overhead on the sample corpus; prints one JSON line.

- second run over the unchanged sample vs the first run (target ≤ 0.10), Prefect start-up reported apart;
- adding 5 documents to the other 48 already processed vs processing those 5 alone (target ≤ 3.0);
- the `mine` flow vs the same pipeline functions called in plain Python (target ≤ 1.3, after start-up), with
  the platform's default process pool (fork) and with a spawn pool like Prefect's ProcessPoolTaskRunner.

Start-up (`prefect_startup_s`), the fixed cost of a process, as in a long-running `jmm serve`: the warm worker
forkserver is launched (flows.workers.start, as `jmm run` does), Prefect's API server starts, and a warm-up run
of the flow on 20 sample documents into a scratch store loads what a first run loads once per process (the
libraries of topics and exports); `prefect_api_ready_s` and `forkserver_ready_s` say when those were ready.
Every timed run then starts from the same warm process, the plain baselines too; their own start-up is their
pool's start and warm-up (`plain_pool_start_s`), timed apart and left out of `prefect_over_plain` as the
flow's is.

Each run uses the project's config.yaml with the store in a fresh temporary folder.
Usage: .venv/bin/python bench/incremental.py [--sample corpora/sample]"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # slow, shared machines


def _settings(tmp: Path, name: str):
    from pipeline.settings import read_settings

    return read_settings(ROOT / "config.yaml", store__root=str(tmp / name / "data"),
                         topics__models_dir=str(tmp / name / "models"))


def _timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


def plain(paths: list[str], out: str, settings, start: str | None = None) -> dict:
    """The mine flow's work without Prefect: the same task functions (`.fn`), a plain process pool (started
    with `start`: None for the platform default, fork on Linux; "spawn" as Prefect's process pool does).
    Returns the documents processed and the seconds the pool took to start and warm up."""
    from flows import mine as m, workers
    from pipeline import process
    from pipeline.store import Store

    workers.prepare(settings)
    with Store(m.store_path(settings)) as store:
        p = m.plan.fn(paths, settings, store)
        for q in p.quarantined:
            store.quarantine(q["sha256"], q["file"], q["reason"], q["stage"], q.get("record"))
        versions = process.stage_versions(settings)
        n = 0
        batches = m._work(p.todo, settings)
        ctx = multiprocessing.get_context(start) if start else None
        t = time.perf_counter()
        with ProcessPoolExecutor(settings.runner.workers, mp_context=ctx, initializer=workers.warm,
                                 initargs=(settings,)) as pool:
            list(pool.map(int, range(settings.runner.workers)))  # every worker started and warm
            pool_start = time.perf_counter() - t
            for fut in as_completed([pool.submit(process.batch, b, settings) for b in batches]):
                outcomes = fut.result()
                done = [(o.document, o.tokens, o.tagged) for o in outcomes if o.document is not None]
                store.write_documents(done, versions)
                n += len(done)
                for o in outcomes:
                    if o.document is None:
                        store.quarantine(o.source.doc_id, o.source.path, o.reason, o.stage, o.source.record)
        if settings.topics.enabled:
            m.fit_topics.fn(settings, store)
        m.export_tables.fn(settings, store, Path(out))
        if settings.export.report and hasattr(m, "report_task"):
            m.report_task.fn(settings, store, Path(out))
    return {"new_documents": n, "pool_start_s": pool_start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=Path, default=ROOT / "corpora" / "sample")
    args = ap.parse_args()
    pdfs = sorted(str(p) for p in args.sample.glob("*.pdf"))
    if len(pdfs) < 10:
        sys.exit(f"error: {args.sample} has {len(pdfs)} PDFs; run `make sample` first")
    from prefect import flow

    from flows import workers
    from flows.mine import run_mine, shared_api
    from pipeline.settings import read_settings

    @flow(name="noop")
    def noop() -> int:
        return 1

    t0 = time.perf_counter()
    base = read_settings(ROOT / "config.yaml")
    workers.start(base)  # as `jmm run` does: the forkserver warms up while Prefect's API server starts
    api = shared_api()  # one embedded Prefect API for every run here, as a long-running `jmm serve` has
    api.__enter__()
    noop()
    t_api = time.perf_counter() - t0
    workers.wait_ready(base)
    t_ready = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="jmm-bench-") as d:
        tmp = Path(d)
        run_mine(pdfs[:20], str(tmp / "o0"), _settings(tmp, "s0"))  # warm-up: first use of every library
        t_start = time.perf_counter() - t0
        s1 = _settings(tmp, "s1")
        t_first, r_first = _timed(run_mine, pdfs, str(tmp / "o1"), s1)
        t_second, r_second = _timed(run_mine, pdfs, str(tmp / "o1"), s1)
        s2 = _settings(tmp, "s2")
        _timed(run_mine, pdfs[:-5], str(tmp / "o2"), s2)
        t_add5, r_add5 = _timed(run_mine, pdfs, str(tmp / "o2"), s2)
        s3 = _settings(tmp, "s3")
        t_alone5, r_alone5 = _timed(run_mine, pdfs[-5:], str(tmp / "o3"), s3)
        s4 = _settings(tmp, "s4")
        t_plain, r_plain = _timed(plain, pdfs, str(tmp / "o4"), s4)
        s5 = _settings(tmp, "s5")
        t_spawn, r_spawn = _timed(plain, pdfs, str(tmp / "o5"), s5, "spawn")
    api.__exit__(None, None, None)
    assert r_second["new_documents"] == 0 and r_add5["new_documents"] == r_alone5["new_documents"]
    result = {
        "bench": "incremental", "documents": len(pdfs), "prefect_startup_s": round(t_start, 2),
        "first_run_s": round(t_first, 2), "second_run_s": round(t_second, 2),
        "second_over_first": round(t_second / t_first, 3), "second_target": 0.10,
        "second_run_parts_s": r_second["seconds"],
        "add5_s": round(t_add5, 2), "alone5_s": round(t_alone5, 2), "add5_over_alone5": round(t_add5 / t_alone5, 3),
        "add5_target": 3.0, "add5_parts_s": r_add5["seconds"], "alone5_parts_s": r_alone5["seconds"],
        "prefect_api_ready_s": round(t_api, 2), "forkserver_ready_s": round(t_ready, 2),
        "plain_python_s": round(t_plain, 2), "plain_pool_start_s": round(r_plain["pool_start_s"], 2),
        "prefect_over_plain": round(t_first / (t_plain - r_plain["pool_start_s"]), 3),
        "plain_python_spawn_s": round(t_spawn, 2), "plain_spawn_pool_start_s": round(r_spawn["pool_start_s"], 2),
        "prefect_over_plain_spawn": round(t_first / (t_spawn - r_spawn["pool_start_s"]), 3),
        "overhead_target": 1.3, "new_first": r_first["new_documents"], "new_plain": r_plain["new_documents"],
    }
    result["pass"] = (result["second_over_first"] <= 0.10 and result["add5_over_alone5"] <= 3.0
                      and result["prefect_over_plain"] <= 1.3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
