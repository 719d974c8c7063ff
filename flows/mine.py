"""The `mine` flow: inputs → corpus store → topics → exports.

Tasks work on batches of documents and pass paths and hashes, not texts. Documents fan out over a process
pool (or a Dask cluster); the flow's own process is the only writer of the corpus store, and writes each
document in one transaction as its batch completes, so a killed run resumes where it stopped."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from pipeline import collect, export as export_stage, process, topics as topic_stage
from pipeline.errors import TopicError
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document, Page, Source, Table
from pipeline.segment import write_user_dictionary
from pipeline.settings import RunnerKind, Settings, read_settings
from flows.progress import Progress
from flows.publish import publish_artifacts, report_task
from pipeline.store import RawStore, Store

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a run has to do: the sources to process, and what was already known or rejected."""

    todo: list[Source] = field(default_factory=list)
    known: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)


def store_path(settings: Settings) -> Path:
    return settings.path(settings.store.root) / settings.store.database


def raw_root(settings: Settings) -> Path:
    return settings.path(settings.store.root) / "raw"


def prepare(settings: Settings) -> None:
    """Make the resources every worker loads: the jieba user dictionary generated from the gazetteer."""
    gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
    domain = settings.path(settings.tag.gazetteer) / "domain_terms.txt"
    write_user_dictionary(gaz, settings.path(settings.segment.user_dictionary), domain)


def _warm(settings: Settings) -> None:
    """Process-pool initializer: load jieba and the spaCy pipeline once per worker."""
    from pipeline import tag

    tag.load_pipeline(settings.path(settings.tag.gazetteer), settings.path(settings.segment.user_dictionary))


@task(name="plan", cache_policy=NONE)
def plan(paths: list[str], settings: Settings, store: Store) -> Plan:
    """Find the inputs, copy them to the raw store, and keep the sources that are new or stale."""
    raw = RawStore(raw_root(settings))
    versions = process.stage_versions(settings)
    done = {d for d, v in store.versions().items() if v == versions}
    result = Plan()
    seen: set[str] = set()
    for path in collect.files(paths):
        kind = collect.kind_of(path)
        if kind != "jsonl":
            size_mb = path.stat().st_size / 1e6
            if size_mb > settings.extract.max_file_mb:
                sha = collect.sha256_file(path)
                result.quarantined.append({"sha256": sha, "file": str(path), "stage": "collect", "reason":
                                           f"{path}: file of {size_mb:.0f} MB exceeds extract.max_file_mb="
                                           f"{settings.extract.max_file_mb:g}"})
                continue
        file_sha = raw.add_file(path).name.split(".")[0]
        result.inputs.append({"path": str(path), "sha256": file_sha})
        for source, _record, error in collect.sources(path):
            store.add_source(source.doc_id, source.path, source.record)
            if error:
                result.quarantined.append({"sha256": source.doc_id, "file": str(path), "stage": "collect",
                                           "record": source.record, "reason": f"{path}: {error}"})
                continue
            if source.doc_id in seen or source.doc_id in done:
                result.known += 1
                continue
            seen.add(source.doc_id)
            result.todo.append(source)
    return result


@task(name="process-batch", cache_policy=NONE)
def process_batch(sources: list[Source], settings: Settings) -> list[process.Outcome]:
    """Extract, segment, tag and code a batch of documents."""
    return process.batch(sources, settings)


@task(name="topics", cache_policy=NONE)
def fit_topics(settings: Settings, store: Store) -> dict[str, Any]:
    """Fit the topic model on every stored document, unless the same fit is stored already."""
    s = settings.topics
    stop = topic_stage.read_stopwords(settings.path(s.stopwords))
    corpus = [topic_stage.TopicDoc(d, date, tuple(toks)) for d, date, toks in store.iter_tokens()]
    model = topic_stage.TopicModel(s, stop)
    try:
        model.fit(corpus)
    except TopicError as exc:
        log.warning("topics not fitted: %s", exc)
        return {"fitted": False, "reason": str(exc)}
    store.write_topics(model.fit_id_, s.model_dump(mode="json"), model.metrics(), model.tables())
    return {"fitted": True, "fit_id": model.fit_id_, **model.metrics()}


@task(name="export", cache_policy=NONE)
def export_tables(settings: Settings, store: Store, out: Path, inputs: list[dict[str, str]]) -> dict[str, int]:
    """Export every table of the store (the manifest lists every input the store was made from)."""
    from flows.publish import write_exports

    return write_exports(settings, store, out)


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


def task_runner(settings: Settings):  # noqa: ANN201 - a Prefect TaskRunner
    r = settings.runner
    if r.kind is RunnerKind.thread:
        return ThreadPoolTaskRunner(max_workers=r.workers)
    if r.kind is RunnerKind.dask:
        from prefect_dask import DaskTaskRunner

        if r.dask_address:
            return DaskTaskRunner(address=r.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": r.workers, "threads_per_worker": 1, "processes": True})
    return ProcessPoolTaskRunner(max_workers=r.workers, initializer=_warm, initargs=(settings,))


def _batches(sources: list[Source], size: int, workers: int) -> list[list[Source]]:
    if not sources:
        return []
    size = max(1, min(size, -(-len(sources) // workers)))
    return [sources[i:i + size] for i in range(0, len(sources), size)]


@flow(name="mine", validate_parameters=False)
def mine(paths: list[str], out: str | None = "out", settings: Settings | None = None,
         config: str | None = None) -> dict[str, Any]:
    """Process the inputs end to end and export the tables; return a summary."""
    settings = settings or read_settings(config)
    t0 = time.perf_counter()
    prepare(settings)
    summary: dict[str, Any] = {}
    with Store(store_path(settings)) as store:
        p = plan(paths, settings, store)
        for q in p.quarantined:
            store.quarantine(q["sha256"], q["file"], q["reason"], q["stage"], q.get("record"))
        versions = process.stage_versions(settings)
        processed = quarantined = 0
        again, p.todo = _resumable(store, p.todo, versions)
        futures = [process_batch.submit(b, settings) for b in
                   _batches(p.todo, settings.runner.batch_size, settings.runner.workers)]
        futures += [resume_batch.submit(b, settings)
                    for b in _batches(again, settings.runner.batch_size, settings.runner.workers)]
        p.todo = p.todo + [Source(d.doc_id, d.source, d.kind) for d, _t, _s in again]
        with Progress(len(p.todo)) as bar:
            for fut in as_completed(futures):
                outcomes = fut.result()
                for o in outcomes:
                    if o.document is None:
                        quarantined += 1
                        store.quarantine(o.source.doc_id, o.source.path, o.reason, o.stage, o.source.record)
                    else:
                        processed += 1
                        store.write_document(o.document, o.tokens, o.tagged, versions)
                bar.advance(len(outcomes))
        t_docs = time.perf_counter()
        topics_summary: dict[str, Any] = {"fitted": False, "reason": "disabled"}
        if settings.topics.enabled and (processed or store.current_fit() is None):
            topics_summary = fit_topics(settings, store)
        elif store.current_fit():
            topics_summary = {"fitted": True, "fit_id": store.current_fit(), "reused": True}
        counts = export_tables(settings, store, Path(out), p.inputs) if out else {}
        report = report_task(settings, store, Path(out)) if out and settings.export.report else None
        summary = {
            "inputs": len(p.inputs), "new_documents": processed, "already_known": p.known,
            "quarantined_now": quarantined + len(p.quarantined), "documents": store.count("documents"),
            "quarantined_total": len(store.quarantined()), "participants": store.count("participants"),
            "topics": topics_summary, "out": str(out) if out else None, "tables": counts,
            "seconds": {"documents": round(t_docs - t0, 2), "total": round(time.perf_counter() - t0, 2)},
            "report": str(report) if report else None,
        }
    publish_artifacts(summary, report)
    return summary


#: The per-document stages in order; a changed version re-runs that stage and the ones after it.
STAGES = ("extract", "segment", "tag", "code")


def _resumable(store: Store, todo: list[Source], versions: dict[str, str]
               ) -> tuple[list[tuple[Document, tuple[str, ...], str]], list[Source]]:
    """Split the stale documents: those whose extraction is still current are re-done from their stored text
    (and tokens, when segmentation is current too), from the first stage whose version changed; the others
    are processed from their files."""
    stored = store.versions()
    again, rest = [], []
    for s in todo:
        old = stored.get(s.doc_id)
        if not old or old.get("extract") != versions["extract"]:
            rest.append(s)
            continue
        stage = next((k for k in STAGES if old.get(k) != versions[k]), "tag")
        doc, tokens = _stored_document(store, s.doc_id)
        again.append((doc, tokens if stage != "segment" else (), stage))
    return again, rest


def _stored_document(store: Store, doc_id: str) -> tuple[Document, tuple[str, ...]]:
    """A stored document as extracted (text, pages, tables, metadata) and its stored tokens."""
    row = store.con.execute(
        "SELECT source, kind, external_id, title, date, extraction, text, original_text, warnings FROM documents "
        "WHERE doc_id = ?", [doc_id]).fetchone()
    src, kind, ext_id, title, date, extraction, text, original, warnings = row
    pages = tuple(Page(n, t, m, q) for n, t, m, q in store.con.execute(
        "SELECT n, text, method, quality FROM pages WHERE doc_id = ? ORDER BY n", [doc_id]).fetchall())
    tables = tuple(Table(pg, tuple(tuple(r) for r in json.loads(rows))) for pg, rows in store.con.execute(
        "SELECT page, rows FROM doc_tables WHERE doc_id = ? ORDER BY idx", [doc_id]).fetchall())
    tok = store.con.execute("SELECT tokens FROM tokens WHERE doc_id = ?", [doc_id]).fetchone()
    doc = Document(doc_id, src, title, date, text, pages, kind, extraction, tuple(json.loads(warnings or "[]")),
                   tables, original, ext_id)
    return doc, tuple(tok[0]) if tok else ()


@task(name="resume-batch", cache_policy=NONE)
def resume_batch(items: list[tuple[Document, tuple[str, ...], str]], settings: Settings) -> list[process.Outcome]:
    """Re-run segment (if its version changed), tag and code on documents already extracted."""
    from pipeline import segment, tag
    from pipeline.errors import PipelineError

    user_dict = settings.path(settings.segment.user_dictionary)
    gaz_dir = settings.path(settings.tag.gazetteer)
    out = []
    for doc, tokens, stage in items:
        source = Source(doc.doc_id, doc.source, doc.kind)
        try:
            words = segment.words(doc.text, user_dict) if stage == "segment" or not tokens else list(tokens)
            out.append(process.Outcome(source, doc, tuple(words), tag.document(doc, words, gaz_dir, user_dict)))
        except PipelineError as exc:
            out.append(process.Outcome(source, stage=stage, reason=f"{doc.source}: {exc}"))
    return out


def run_mine(paths: list[str], out: str | None, settings: Settings) -> dict[str, Any]:
    """Run the flow with the task runner the settings choose."""
    return mine.with_options(task_runner=task_runner(settings))(paths=paths, out=out, settings=settings)
