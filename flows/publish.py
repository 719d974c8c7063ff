"""Publishing what the corpus store holds: the exported tables, report.html, and Prefect artifacts that show a
run's summary in the Prefect UI. `export_flow` and `report_flow` back `jmm export` and `jmm report`; the `mine`
flow calls `write_exports`, `write_report` and `publish_artifacts` at its end."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from pipeline import export as export_stage, report as report_stage
from pipeline.settings import ExportFormat, ExportSettings, Settings, read_settings
from pipeline.store import Store, sha256_file

log = logging.getLogger(__name__)


def stored_inputs(store: Store) -> list[dict[str, Any]]:
    """The input files that made the store: path, SHA-256 of the file (None when it is no longer on disk),
    and how many documents came from it."""
    rows = store.con.execute(
        "SELECT path, count(DISTINCT doc_id), max(record), min(doc_id) FROM sources GROUP BY path ORDER BY path"
    ).fetchall()
    out = []
    for path, n, max_record, doc_id in rows:
        if max_record is not None and max_record >= 0:  # records of a JSON Lines file: hash the file itself
            sha = sha256_file(path) if Path(path).is_file() else None
        else:
            sha = doc_id
        out.append({"path": path, "sha256": sha, "documents": int(n)})
    return out


def manifest(settings: Settings, store: Store) -> dict[str, Any]:
    """What an export depends on, besides the store's rows: inputs, code, configuration and lexicon versions."""
    from flows.mine import code_version
    from pipeline import process
    from pipeline.errors import TopicError
    from pipeline.gazetteer import load_gazetteer
    from pipeline.learn import models_version
    from pipeline.topics import read_stopwords

    try:
        stopwords = read_stopwords(settings.path(settings.topics.stopwords)).version
    except TopicError:
        stopwords = None
    return {"inputs": stored_inputs(store), "code_version": code_version(), "config_hash": settings.hash,
            "store_fingerprint": store_fingerprint(settings, store),
            "gazetteer_version": load_gazetteer(settings.path(settings.tag.gazetteer)).version,
            "models_version": models_version(settings.path(settings.tag.models)),
            "stopwords_version": stopwords, "stage_versions": process.stage_versions(settings),
            "seed": settings.topics.seed}


def store_fingerprint(settings: Settings, store: Store) -> str:
    """A hash of everything the exports are computed from: every stored document with its stage versions,
    the quarantine, the current topic fit, the configuration and the code version."""
    from flows.mine import code_version

    h = hashlib.sha256(f"{settings.hash}\n{code_version()}\n{store.current_fit()}\n".encode())
    store.hash_versions(h)
    for q in store.quarantined():
        h.update(json.dumps(q, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


def exports_up_to_date(settings: Settings, store: Store, out: Path) -> dict[str, int] | None:
    """The row counts of the exports in `out` if they were made from exactly this store, configuration and
    code and every file they list is still there; None when they must be written again."""
    try:
        m = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if m.get("store_fingerprint") != store_fingerprint(settings, store):
        return None
    if not all((Path(out) / name).is_file() for name in m.get("files", {})):
        return None
    if settings.export.report and not (Path(out) / "report.html").is_file():
        return None
    return m.get("row_counts")


def export_settings(settings: Settings) -> ExportSettings:
    """The export section with its paths resolved against config.yaml's folder."""
    return settings.export.model_copy(update={"blocs": settings.path(settings.export.blocs)})


def write_exports(settings: Settings, store: Store, out: Path, formats: tuple[ExportFormat, ...] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Export every table (and the codebook, network and manifest) to `out`; return the row counts. `progress`
    hears of each table as it is written."""
    return export_stage.export(store, Path(out), manifest(settings, store), export_settings(settings), formats,
                               progress)


def write_report(settings: Settings, store: Store, out: Path,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write `out`/report.html (and its evidence chunks when the corpus is large); return its path. `progress`
    hears of the documents of the evidence browser as they are written."""
    m = manifest(settings, store)
    meta = {k: m[k] for k in ("code_version", "config_hash", "gazetteer_version", "stopwords_version")}
    return report_stage.write(store, Path(out), export_settings(settings), meta, progress=progress)


def publish_artifacts(summary: dict[str, Any], report: Path | None) -> None:
    """Show a run in the Prefect UI: a table of counts and a markdown link to the report. Call inside a flow."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = [{"what": k, "count": v} for k, v in (
        ("new documents", summary.get("new_documents")), ("already known", summary.get("already_known")),
        ("quarantined in this run", summary.get("quarantined_now")),
        ("documents in the store", summary.get("documents")),
        ("quarantined in all", summary.get("quarantined_total")), ("participants", summary.get("participants")))
        if v is not None]
    rows += [{"what": f"rows of {name}", "count": n} for name, n in (summary.get("tables") or {}).items()]
    create_table_artifact(table=rows, key="jmm-run-counts",
                          description="Documents processed and rows exported by this run")
    out = summary.get("out")
    lines = ["# Joint Meeting Miner run", ""]
    if report is not None:
        lines.append(f"Report: [{report.name}]({Path(report).resolve().as_uri()}) — open it in a browser.")
    if out:
        lines.append(f"Tables, codebook and manifest: `{Path(out).resolve()}`")
    topics = summary.get("topics")
    if topics is not None:
        lines.append(f"Topics: {'fit ' + str(topics.get('fit_id')) if topics.get('fitted') else 'not fitted'}")
    create_markdown_artifact(markdown="\n\n".join(lines), key="jmm-run-report",
                             description="Where this run's report and tables are")


@task(name="report", cache_policy=NONE)
def report_task(settings: Settings, store: Store, out: Path, status: Any = None) -> Path:
    """Write the report, with a progress bar over the documents of its evidence browser (and the run's status
    file, when `status` is given)."""
    from flows.progress import Progress

    with Progress(store.count("documents"), "report", on_update=status.progress if status else None) as bar:
        return write_report(settings, store, out, progress=lambda done, _total: bar.update(done))


@flow(name="export", validate_parameters=False)
def export_flow(out: str = "out", formats: list[str] | None = None, settings: Settings | None = None,
                config: str | None = None) -> dict[str, Any]:
    """Export the tables of the corpus store (read-only) to `out`; publish the counts as an artifact."""
    from flows.status import store_path

    settings = settings or read_settings(config)
    fmts = tuple(ExportFormat(f) for f in formats) if formats else None
    with Store(store_path(settings), read_only=True) as store:
        counts = write_exports(settings, store, Path(out), fmts)
    summary = {"out": out, "tables": counts}
    publish_artifacts(summary, None)
    return summary


@flow(name="report", validate_parameters=False)
def report_flow(out: str = "out", settings: Settings | None = None, config: str | None = None) -> dict[str, Any]:
    """Write report.html for the corpus store (read-only) to `out`; publish a link to it as an artifact."""
    from flows.status import store_path

    settings = settings or read_settings(config)
    with Store(store_path(settings), read_only=True) as store:
        path = report_task(settings, store, Path(out))
        summary = {"out": out, "report": str(path), "documents": store.count("documents")}
    publish_artifacts(summary, path)
    return summary
