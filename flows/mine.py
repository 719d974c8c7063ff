"""The `mine` flow: inputs → corpus store → topics → exports.

Tasks work on batches of documents and pass paths and hashes, not texts. Documents fan out over a process
pool (or a Dask cluster); the flow's own process is the only writer of the corpus store, and writes each
document in one transaction as its batch completes, so a killed run resumes where it stopped."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline import collect, convert, dates, export as export_stage, process, topics as topic_stage
from pipeline.errors import CollectError, TopicError
from pipeline.records import Document, Page, Source, SourceMeta, Table
from pipeline.settings import RunnerKind, RunnerSettings, Settings, TopicCorpus, read_settings
from flows import workers
from flows.progress import Progress, Steps
from flows.publish import publish_artifacts, report_task
from flows.status import RunStatus, raw_root, status_path, store_path
from pipeline.store import RawStore, Store, StoreLock

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a run has to do: the sources to process, and what was already known, kept in quarantine, skipped by
    rule or rejected."""

    todo: list[Source] = field(default_factory=list)
    known: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    inputs: list[dict[str, str]] = field(default_factory=list)
    redate: set[str] = field(default_factory=set)  # known documents whose sidecar or collector metadata changed
    problems: list[str] = field(default_factory=list)  # sidecar rows that could not be read
    kept: int = 0  # quarantined by an earlier run with the same stage versions and settings: not tried again
    skipped: int = 0  # files of a folder left out by rule (hidden, gold files, not documents)


def retry_key(settings: Settings) -> dict[str, str]:
    """What a quarantine verdict depends on: the stage versions and the extraction settings (limits, OCR, the
    converter). An input quarantined under the same key is not tried again unless the user asks
    (`jmm run --retry`); a new stage version or changed settings try it again."""
    extract = json.dumps(settings.extract.model_dump(mode="json"), sort_keys=True)
    return {**process.stage_versions(settings), "extract_settings": hashlib.sha256(extract.encode()).hexdigest()[:16]}


def sidecars(paths: list[str], metadata: str | None = None) -> tuple[dict[str, SourceMeta], list[str]]:
    """The sidecar rows that apply to a batch: `metadata.csv` of each folder given (and of the folder of each file
    given), then the `metadata` file (its rows win); keyed by each file's resolved path. Also the problems met."""
    files = []
    for p in map(Path, paths):
        folder = p if p.is_dir() else p.parent
        if (folder / dates.SIDECAR).is_file():
            files.append(folder / dates.SIDECAR)
    if metadata:
        if not Path(metadata).is_file():
            raise CollectError(f"{metadata}: metadata file not found (--metadata)")
        files.append(Path(metadata))
    rows: dict[str, SourceMeta] = {}
    problems: list[str] = []
    for f in dict.fromkeys(files):
        found, bad = dates.read_metadata(f)
        rows.update(found)
        problems += bad
    return rows, problems


def _source_meta(sidecar: SourceMeta | None, fetched: tuple[str | None, str | None] | None) -> SourceMeta | None:
    """A file's metadata: its sidecar row, with the collector's URL and page date where the row has none."""
    if fetched is None:
        return sidecar
    url, page_date = fetched
    if sidecar is None:
        return SourceMeta("collector", page_date, url)
    return SourceMeta("sidecar" if sidecar.date else "collector", sidecar.date or page_date, sidecar.url or url,
                      sidecar.title, sidecar.issuer)


def _changed(meta: SourceMeta, stored: tuple[Any, ...] | None) -> bool:
    """Whether a stored document disagrees with the metadata that now applies to it (a new or edited sidecar
    row, a page date the collector found since): it is then processed again."""
    if stored is None:
        return False
    date, date_source, url, title, issuer = stored
    if meta.origin == "sidecar" and meta.date and (date != meta.date or date_source != "sidecar"):
        return True
    return bool((meta.url and url != meta.url) or (meta.title and title != meta.title)
                or (meta.issuer and issuer != meta.issuer)
                or (meta.origin == "collector" and meta.date and date_source in ("none", "pdf_metadata")))


@task(name="plan", cache_policy=NONE)
def plan(paths: list[str], settings: Settings, store: Store, metadata: str | None = None, retry: bool = False,
         skipped: tuple[tuple[Path, str], ...] = (), status: RunStatus | None = None) -> Plan:
    """Find the inputs, copy them to the raw store, and keep the sources that are new or stale (a document is
    stale when its stage versions changed, or when the metadata that applies to it did: `sidecars`, the
    collector's page dates). Files of a folder left out by rule (and `skipped`, from the inbox) are recorded;
    inputs of a kind jmm cannot read are quarantined saying what to do; inputs quarantined before under the same
    `retry_key` are kept so (counted in `kept`) unless `retry`."""
    raw = RawStore(raw_root(settings))
    versions = process.stage_versions(settings)
    key = retry_key(settings)
    done = {d for d, v in store.versions().items() if v == versions}
    kept_out = set() if retry else store.quarantined_ids(key)
    found = collect.walk(paths)
    left_out = [*found.skipped, *skipped]
    store.skip((str(f), rule) for f, rule in left_out)
    result = Plan(skipped=len(left_out))
    side, result.problems = sidecars(paths, metadata)
    fetched = store.fetched()
    stored_meta = {r[0]: r[1:] for r in store.con.execute(
        "SELECT doc_id, date, date_source, source_url, title, issuer FROM documents").fetchall()} if (
        side or fetched) else {}
    meta = _MetaContext(side, fetched, stored_meta)
    seen: dict[str, str] = {}  # doc_id → where it was first found in this run
    places: list[tuple[str, str, int | None]] = []  # recorded in bulk: one insert per 50,000, not one per file
    sizes = {f: _size(f) for f in found.files}
    total_mb = sum(sizes.values()) / 1e6
    bar = Progress(total_mb, "planning", unit="MB", on_update=status.progress if status else None,
                   quiet=total_mb < PLANNING_BAR_MB)
    with bar:
        for path in found.files:
            base = bar.done
            _plan_file(path, settings, raw, done, kept_out, key, seen, places, result, meta,
                       lambda n, base=base: bar.update(base + n / 1e6))
            bar.update(base + sizes[path] / 1e6)
            if len(places) >= 50_000:
                store.add_sources(places)
                places = []
    store.add_sources(places)
    return result


#: Planning shows a progress bar (on a terminal, or a line every 10 s) from this many megabytes of input.
PLANNING_BAR_MB = 20.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class _MetaContext:
    """What `plan` knows of the inputs' metadata: sidecar rows by path, the collector's fetches, and what the
    store holds of each known document."""

    side: dict[str, Any]
    fetched: dict[str, Any]
    stored: dict[str, tuple[Any, ...]]


def _plan_file(path: Path, settings: Settings, raw: RawStore, done: set[str], kept_out: set[str],
               key: dict[str, str], seen: dict[str, str], places: list[tuple[str, str, int | None]], result: Plan,
               meta: _MetaContext, progress: Any) -> None:
    """Plan one input file (see `plan`)."""
    kind = collect.kind_of(path)
    if kind != "jsonl":
        size_mb = _size(path) / 1e6
        if size_mb > settings.extract.max_file_mb:
            sha = collect.sha256_file(path)
            result.quarantined.append({"sha256": sha, "file": str(path), "stage": "collect", "reason":
                                       f"{path}: file of {size_mb:.0f} MB is larger than extract.max_file_mb="
                                       f"{settings.extract.max_file_mb:g}; split it, or raise the limit in "
                                       f"config.yaml"})
            return
    try:
        file_sha = raw.add_file(path).name.split(".")[0]
    except OSError as exc:
        result.quarantined.append({"sha256": "", "file": str(path), "stage": "collect", "reason":
                                   f"{path}: cannot be read ({exc.strerror}); check its permissions and "
                                   f"run again"})
        return
    result.inputs.append({"path": str(path), "sha256": file_sha})
    if kind != "jsonl" and (why := convert.unreadable(path, kind, settings.extract)):
        places.append((file_sha, str(path), None))
        if file_sha in kept_out:
            result.kept += 1
        elif file_sha not in done:
            result.quarantined.append({"sha256": file_sha, "file": str(path), "stage": "extract", "reason": why,
                                       "versions": key})
        else:
            result.known += 1
        return
    try:
        for source, _record, error in collect.sources(path, bulletin_titles=settings.collect.bulletin_titles,
                                                      progress=progress):
            places.append((source.doc_id, source.path, source.record))
            here = process.where(source)
            if error:
                result.quarantined.append({"sha256": source.doc_id, "file": str(path), "stage": "collect",
                                           "record": source.record, "reason":
                                           f"{path}: {error}; fix or delete that line and run again"})
                continue
            if source.doc_id in seen:
                result.duplicates += 1
                result.quarantined.append({"sha256": source.doc_id, "file": str(path), "stage": "duplicate",
                                           "record": source.record, "reason":
                                           f"{here}: exact duplicate of {seen[source.doc_id]} (same content, "
                                           f"SHA-256 {source.doc_id[:12]}…); it is processed once, as that "
                                           f"one — nothing to do, or delete the copy"})
                continue
            seen[source.doc_id] = here
            if source.record is None and (m := _source_meta(meta.side.get(str(path.resolve())),
                                                          meta.fetched.get(source.doc_id))) is not None:
                source = dataclasses.replace(source, meta=m)
                if source.doc_id in done and _changed(m, meta.stored.get(source.doc_id)):
                    done.discard(source.doc_id)
                    result.redate.add(source.doc_id)
            if source.doc_id in done:
                result.known += 1
                continue
            if source.doc_id in kept_out:
                result.kept += 1
                continue
            result.todo.append(source)
    except CollectError as exc:  # e.g. a truncated .jsonl.gz: the records before the damage go on
        result.quarantined.append({"sha256": file_sha, "file": str(path), "stage": "collect", "reason":
                                   f"{exc}; the records before the damage are processed — repair or "
                                   f"download the file again and run again"})


@task(name="process-batch", cache_policy=NONE)
def process_batch(sources: list[Source], settings: Settings) -> list[process.Outcome]:
    """Extract, segment, tag and code a batch of documents."""
    return workers.run(process.batch, sources, settings)


@task(name="topics", cache_policy=NONE)
def fit_topics(settings: Settings, store: Store, ks: list[int] | None = None, refit: bool | None = None,
               status: RunStatus | None = None) -> dict[str, Any]:
    """Fit the topic model on the stored documents that `topics.corpus` names — the coordination documents
    (doc_class not `other`) or all — (after a K sweep when `ks` is given) and keep it under models/<fit_id>/;
    or, when refitting is off and a fit exists, score the new documents with that fit. Each step (reading,
    vocabulary, anchors, sampling with its iterations, periods, metrics) shows its progress."""
    s = settings.topics
    refit = s.refit if refit is None else refit
    models_dir = settings.path(s.models_dir)
    current = store.current_fit()
    with Steps("topics", status, {"reading": "documents", "sampling": "iterations"}) as steps:
        n_docs = store.count("documents")

        skip = ("other",) if s.corpus is TopicCorpus.coordination else ()

        def corpus():  # streamed from the store, once per pass: the coordination documents, or all
            for i, (d, date, toks) in enumerate(store.iter_tokens(skip)):
                if i % 1000 == 0:
                    steps("reading", i, n_docs)
                yield topic_stage.TopicDoc(d, date, tuple(toks))

        try:
            stop = topic_stage.read_stopwords(settings.path(s.stopwords))
            groups = topic_groups(store)
            if not refit and not ks and current and (models_dir / current / "settings.json").is_file():
                model = topic_stage.read_model(models_dir / current, stop).scored(corpus())
                metrics = json.loads((models_dir / current / "metrics.json").read_text(encoding="utf-8"))
                metrics["n_docs_scored"] = len(model.docs_)
                store.write_topics(model.fit_id_, s.model_dump(mode="json"), metrics, model.tables(groups))
                return {"fitted": True, "fit_id": model.fit_id_, "scored_without_refit": True, **_scalars(metrics)}
            sweep_table, k = None, None
            if ks:
                steps(f"sweep of k {', '.join(map(str, ks))}", 0, 0)
                sweep_table = topic_stage.sweep(s, stop, corpus(), ks)
                k = topic_stage.choose_k(sweep_table, s.min_diversity)
            model = topic_stage.TopicModel(s, stop, k=k).fit(corpus(), progress=steps)
        except TopicError as exc:
            log.warning("topics not fitted: %s", exc)
            return {"fitted": False, "reason": str(exc)}
        steps("metrics", 0, 0)
        metrics = model.metrics()
        metrics["corpus"] = s.corpus.value
        if s.stability_seeds:
            steps(f"stability (refits with {s.stability_seeds} more seeds)", 0, 0)
            metrics.update(topic_stage.seed_stability(model, s.stability_seeds))
        if sweep_table is not None:
            metrics["sweep"] = sweep_table.to_dict(orient="records")
        steps("tables", 0, 0)
        tables = model.tables(groups)
        topic_stage.write_model(model, models_dir / model.fit_id_, metrics, tables, sweep_table)
        store.write_topics(model.fit_id_, s.model_dump(mode="json"), metrics, tables)
    return {"fitted": True, "fit_id": model.fit_id_, "model_dir": str(models_dir / model.fit_id_),
            **_scalars(metrics), **({"sweep": metrics["sweep"]} if "sweep" in metrics else {})}


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    """The single-valued metrics of a fit, for a run's summary (per-topic lists and the like stay in the store)."""
    return {k: v for k, v in metrics.items() if not isinstance(v, (list, dict))}


def topic_groups(store: Store) -> dict[str, dict[str, list[str]]]:
    """Each document's regions, levels and series from the `codes` table, for prevalence by group."""
    rows = store.con.execute("SELECT doc_id, regions, levels, series FROM codes ORDER BY doc_id").fetchall()
    return {"region": {d: list(r or []) for d, r, _, _ in rows},
            "level": {d: list(lv or []) for d, _, lv, _ in rows},
            "series": {d: [se] if se else [] for d, _, _, se in rows}}


@flow(name="topics", validate_parameters=False)
def topics(settings: Settings | None = None, config: str | None = None,
           ks: list[int] | None = None) -> dict[str, Any]:
    """Refit the topic model on the corpus store (with a K sweep when `ks` is given); return its summary."""
    settings = settings or read_settings(config)
    t0 = time.perf_counter()
    with StoreLock(store_path(settings)), Store(store_path(settings)) as store:
        result = fit_topics(settings, store, ks=ks, refit=True)
    return {**result, "seconds": round(time.perf_counter() - t0, 2)}


@task(name="export", cache_policy=NONE)
def export_tables(settings: Settings, store: Store, out: Path, status: RunStatus | None = None) -> dict[str, int]:
    """Export every table of the store (the manifest lists every input the store was made from), with a
    progress bar over the files written."""
    from flows.publish import write_exports
    from pipeline.settings import ExportFormat

    n = len(export_stage.TABLES) + (ExportFormat.xlsx in settings.export.formats)
    with Progress(n, "export", unit="tables", on_update=status.progress if status else None) as bar:
        return write_exports(settings, store, out, progress=lambda _name: bar.advance())


@functools.cache  # one `git describe` per process: the code of a running process does not change
def code_version() -> str:
    """`git describe` of the project, or the package version outside a checkout."""
    from pipeline import __version__

    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def _task_runner(r: RunnerSettings):  # noqa: ANN202 - a Prefect TaskRunner
    if r.kind is RunnerKind.thread:
        return ThreadPoolTaskRunner(max_workers=r.workers)
    if r.kind is RunnerKind.dask:
        from prefect_dask import DaskTaskRunner

        if r.dask_address:
            return DaskTaskRunner(address=r.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": r.workers, "threads_per_worker": 1, "processes": True})
    return ThreadPoolTaskRunner(max_workers=r.workers)  # the batches themselves run in `workers.worker_pool`


def _work(sources: list[Source], settings: Settings) -> list[list[Source]]:
    """Batches of the sources to process: files and JSON Lines records apart, each at its own size."""
    r = settings.runner
    files = [s for s in sources if s.kind != "jsonl-record"]
    records = [s for s in sources if s.kind == "jsonl-record"]
    return _batches(files, r.batch_size, r.workers) + _batches(records, r.record_batch_size, r.workers)


def _batches(sources: list[Source], size: int, workers: int) -> list[list[Source]]:
    if not sources:
        return []
    size = max(1, min(size, -(-len(sources) // workers)))
    return [sources[i:i + size] for i in range(0, len(sources), size)]


@flow(name="mine", validate_parameters=False)
def mine(paths: list[str] | None, out: str | None = "out", settings: Settings | None = None,
         config: str | None = None, metadata: str | None = None, retry: bool = False) -> dict[str, Any]:
    """Process the inputs end to end and export the tables; return a summary. With `paths` None, the inputs are
    what waits: the collected files not yet processed and the files in the inbox. `metadata`: a sidecar CSV
    (file, date, url, title, issuer) besides the metadata.csv of each folder given. `retry` tries the inputs
    quarantined before again. The run keeps its status file (flows/status.py) up to date as it goes."""
    settings = settings or read_settings(config)
    t0 = time.perf_counter()
    with StoreLock(store_path(settings)), Store(store_path(settings)) as store:
        status = RunStatus(status_path(settings), store=str(store_path(settings)))
        try:
            summary, report = _mine(paths, out, settings, store, retry, status, t0, metadata)
        except BaseException as exc:
            status.finish("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        status.finish("finished", summary={k: summary[k] for k in (
            "new_documents", "already_known", "quarantined_now", "quarantined_kept", "documents", "out")})
    publish_artifacts(summary, report)
    return summary


def _mine(paths: list[str] | None, out: str | None, settings: Settings, store: Store, retry: bool,
          status: RunStatus, t0: float, metadata: str | None = None) -> tuple[dict[str, Any], Path | None]:
    status.note(in_store=store.count("documents"))
    status.quarantined(store.quarantined())
    workers.prepare(settings)
    versions = process.stage_versions(settings)
    key = retry_key(settings)
    waiting: dict[str, int] | None = None
    skipped: tuple[tuple[Path, str], ...] = ()
    if paths is None:  # what waits: collected and not processed, and the inbox
        collected = store.waiting_paths(versions, quarantined=retry)
        box = collect.inbox_walk(settings.path(settings.collect.inbox))
        paths, skipped = collected + [str(f) for f in box.files], box.skipped
        waiting = {"collected": len(collected), "inbox": len(box.files)}
    status.stage("planning")
    p = plan(paths, settings, store, metadata, retry, skipped, status)
    for problem in p.problems:
        log.warning("%s", problem)
    for q in p.quarantined:
        store.quarantine(q["sha256"], q["file"], q["reason"], q["stage"], q.get("record"), q.get("versions"))
    status.quarantined(p.quarantined)
    processed = quarantined = 0
    again, p.todo = _resumable(store, p.todo, versions, p.redate)
    batches = _work(p.todo, settings)
    n_todo = len(p.todo) + len(again)
    status.note(planned=n_todo, already_known=p.known, kept_in_quarantine=p.kept, skipped_by_rule=p.skipped,
                quarantined_in_planning=len(p.quarantined), processed=0, quarantined=0, waiting=n_todo)
    status.stage("documents")
    with workers.worker_pool(settings) if p.todo or again else contextlib.nullcontext():
        futures = {process_batch.submit(b, settings): b for b in batches}
        futures.update({resume_batch.submit(b, settings): [Source(d.doc_id, d.source, d.kind) for d, _t, _s in b]
                        for b in _batches(again, settings.runner.batch_size, settings.runner.workers)})
        p.todo = p.todo + [Source(d.doc_id, d.source, d.kind) for d, _t, _s in again]
        with Progress(len(p.todo), on_update=status.progress) as bar:
            for fut in as_completed(list(futures)):
                try:
                    outcomes = fut.result()
                except Exception as exc:  # a worker died (e.g. killed by the OS): its documents wait for a re-run
                    log.error("a batch of %d documents failed: %s", len(futures[fut]), exc)
                    outcomes = [process.Outcome(s, stage="process", reason=(
                        f"{process.where(s)}: the worker processing its batch failed ({type(exc).__name__}: {exc}); "
                        f"run again to retry it")) for s in futures[fut]]
                done = [(o.document, o.tokens, o.tagged) for o in outcomes if o.document is not None]
                store.write_documents(done, versions)  # one transaction for the batch's documents
                processed += len(done)
                failed = []
                for o in outcomes:
                    if o.document is None:
                        quarantined += 1
                        # a failed worker is no verdict on the document: it is tried again by the next run
                        store.quarantine(o.source.doc_id, o.source.path, o.reason, o.stage, o.source.record,
                                         None if o.stage == "process" else key)
                        failed.append({"file": o.source.path, "sha256": o.source.doc_id, "stage": o.stage,
                                       "reason": o.reason, "record": o.source.record})
                status.quarantined(failed, write=False)  # written with the progress, just below
                status.note(processed=processed, quarantined=quarantined, waiting=n_todo - processed - quarantined,
                            in_store=store.count("documents"), write=False)
                bar.advance(len(outcomes))
    t_docs = time.perf_counter()
    status.stage("topics")
    topics_summary: dict[str, Any] = {"fitted": False, "reason": "disabled"}
    corpus = _corpus_fingerprint(settings, store)
    if settings.topics.enabled and (processed or store.current_fit() is None
                                    or _meta(store, "fit_corpus") != corpus):
        topics_summary = fit_topics(settings, store, status=status)
        store.con.execute("INSERT OR REPLACE INTO meta VALUES ('fit_corpus', ?)", [corpus])
    elif store.current_fit():
        fit_id = store.current_fit()
        topics_summary = {**_scalars(store.fit_metrics(fit_id)), "fitted": True, "fit_id": fit_id, "reused": True}
    t_topics = time.perf_counter()
    from flows.publish import exports_up_to_date

    status.stage("export")
    current = exports_up_to_date(settings, store, Path(out)) if out else None
    if current is not None:  # nothing changed since these exports were written: keep them
        counts, report = current, (Path(out) / "report.html" if settings.export.report else None)
        log.info("exports in %s are up to date", out)
    else:
        counts = export_tables(settings, store, Path(out), status) if out else {}
        status.stage("report")
        report = report_task(settings, store, Path(out), status) if out and settings.export.report else None
    t_export = time.perf_counter()
    summary = {
        "inputs": len(p.inputs), "new_documents": processed, "already_known": p.known,
        "quarantined_now": quarantined + len(p.quarantined), "quarantined_kept": p.kept, "duplicates": p.duplicates,
        "skipped": p.skipped, "waiting": waiting, "documents": store.count("documents"),
        "quarantined_total": len(store.quarantined()), "participants": store.count("participants"),
        "topics": topics_summary, "out": str(out) if out else None, "tables": counts,
        "seconds": {"documents": round(t_docs - t0, 2), "topics": round(t_topics - t_docs, 2),
                    "export": round(t_export - t_topics, 2), "total": round(time.perf_counter() - t0, 2)},
        "report": str(report) if report else None, "exports_reused": current is not None,
    }
    return summary, report


def _meta(store: Store, key: str) -> str | None:
    row = store.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _corpus_fingerprint(settings: Settings, store: Store) -> str:
    """What the topic fit depends on: the stored documents (and their stage versions) and the topic
    settings. A fit made on another corpus — e.g. before a killed run added documents — is redone."""
    h = hashlib.sha256(json.dumps(settings.topics.model_dump(mode="json"), sort_keys=True).encode())
    h.update(f"topics {topic_stage.VERSION}".encode())  # a new topic stage refits, as a new document stage re-runs
    store.hash_versions(h)
    return h.hexdigest()


#: The per-document stages in order; a changed version re-runs that stage and the ones after it.
STAGES = ("extract", "segment", "tag", "code")


def _resumable(store: Store, todo: list[Source], versions: dict[str, str], redate: set[str] | None = None
               ) -> tuple[list[tuple[Document, tuple[str, ...], str]], list[Source]]:
    """Split the stale documents: those whose extraction is still current are re-done from their stored text
    (and tokens, when segmentation is current too), from the first stage whose version changed; the others
    (and those in `redate`, whose metadata changed: their date is worked out from the file again) are processed
    from their files."""
    stored = store.versions()
    again, rest = [], []
    for s in todo:
        old = stored.get(s.doc_id)
        if not old or old.get("extract") != versions["extract"] or s.doc_id in (redate or ()):
            rest.append(s)
            continue
        stage = next((k for k in STAGES if old.get(k) != versions[k]), "tag")
        doc, tokens = _stored_document(store, s.doc_id)
        again.append((doc, tokens if stage != "segment" else (), stage))
    return again, rest


def _stored_document(store: Store, doc_id: str) -> tuple[Document, tuple[str, ...]]:
    """A stored document as extracted (text, pages, tables, metadata) and its stored tokens."""
    row = store.con.execute(
        "SELECT source, kind, external_id, title, date, extraction, text, original_text, warnings, date_source, "
        "source_url, issuer FROM documents WHERE doc_id = ?", [doc_id]).fetchone()
    src, kind, ext_id, title, date, extraction, text, original, warnings, date_source, url, issuer = row
    pages = tuple(Page(n, t, m, q) for n, t, m, q in store.con.execute(
        "SELECT n, text, method, quality FROM pages WHERE doc_id = ? ORDER BY n", [doc_id]).fetchall())
    tables = tuple(Table(pg, tuple(tuple(r) for r in json.loads(rows))) for pg, rows in store.con.execute(
        "SELECT page, rows FROM doc_tables WHERE doc_id = ? ORDER BY idx", [doc_id]).fetchall())
    tok = store.con.execute("SELECT tokens FROM tokens WHERE doc_id = ?", [doc_id]).fetchone()
    doc = Document(doc_id, src, title, date, text, pages, kind, extraction, tuple(json.loads(warnings or "[]")),
                   tables, original, ext_id, date_source or "none", url, issuer)
    return doc, tuple(tok[0]) if tok else ()


@task(name="resume-batch", cache_policy=NONE)
def resume_batch(items: list[tuple[Document, tuple[str, ...], str]], settings: Settings) -> list[process.Outcome]:
    """Re-run segment (if its version changed), tag and code on documents already extracted."""
    return workers.run(process.retag, items, settings)


def run_mine(paths: list[str] | None, out: str | None, settings: Settings, metadata: str | None = None,
             retry: bool = False) -> dict[str, Any]:
    """Run the flow with the task runner the settings choose (`paths` None: what waits, see `mine`)."""
    with shared_api():
        return _mine_flow(settings.runner)(paths=paths, out=out, settings=settings, metadata=metadata, retry=retry)


@functools.lru_cache(maxsize=8)
def _mine_flow(runner: RunnerSettings):  # noqa: ANN202 - a Prefect Flow
    """The mine flow with the task runner these settings choose, made once per process: `with_options` derives
    the flow's parameter schema again (~0.15 s), and each run duplicates the task runner anyway."""
    return mine.with_options(task_runner=_task_runner(runner))


@contextlib.contextmanager
def shared_api() -> Iterator[None]:
    """Without a configured Prefect API, use one embedded server for every run of this process and point every
    process at it: pool workers would otherwise each start an ephemeral server of their own. It is Prefect's
    own ephemeral server (the same singleton), started once and stopped by Prefect when the process exits; and
    when this process is killed (kill -9, the OOM killer), the kernel kills the server too (a parent-death
    signal set in the server process before it runs Prefect), so a killed run leaves no server behind.

    Flow-run heartbeats are off with this embedded server: they feed a server-side zombie-run automation that an
    embedded server, living only as long as this process, never runs; and ending a run with them on waits for
    the heartbeat thread's one-second sleep (about 1 s a run). A configured Prefect server keeps them."""
    from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings,
                                  temporary_settings)

    if get_current_settings().api.url:
        yield
        return
    import prefect.server.api.server as prefect_server

    server = prefect_server.SubprocessASGIServer()
    real = prefect_server.subprocess
    prefect_server.subprocess = _DyingWithThisProcess()  # only while Prefect starts its server (once a process)
    try:
        server.start(timeout=get_current_settings().server.ephemeral.startup_timeout_seconds)
    finally:
        prefect_server.subprocess = real
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        embedded = {PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        with temporary_settings(updates=embedded):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


class _DyingWithThisProcess:
    """Stands in for the `subprocess` module inside Prefect's server module while it starts its server: the same
    module, except that `Popen` gives the child a parent-death signal (workers.die_with_parent)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen:  # noqa: N802 - the name it stands in for
        return subprocess.Popen(*args, preexec_fn=workers.die_with_parent_of(os.getpid()), **kwargs)
