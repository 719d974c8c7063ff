"""The `collect` flow: fetch new documents from the configured web sources (or one listing URL) into the raw
store, with retries and back-off on failures that may pass, and record each document's URL and fetch time.

Fetches run one after another through one Fetcher, which keeps the per-host rate limit and robots.txt."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from pipeline import collect, process
from pipeline.collect import Crawl, Fetch, Fetcher, Scope
from pipeline.errors import CollectError
from pipeline.settings import Settings, Source as SourceSettings, read_settings
from pipeline.store import RawStore, Store

log = logging.getLogger(__name__)


def state_path(settings: Settings) -> Path:
    """Where the HTTP validators (ETag, Last-Modified) of fetched URLs are kept between runs."""
    return settings.path(settings.store.root) / "collect" / "http_state.json"


def fetch_log_path(settings: Settings) -> Path:
    """The provenance log: one JSON line per document fetched (URL, status, SHA-256, time)."""
    return settings.path(settings.store.root) / "collect" / "fetches.jsonl"


@task(name="crawl-listing", cache_policy=NONE)
def crawl_listing(fetcher: Fetcher, source: SourceSettings, scope: Scope) -> Crawl:
    """Walk a source's listing pages; a TransientError fails the try and Prefect retries it."""
    return fetcher.listing(source, scope)


@task(name="fetch-document", cache_policy=NONE)
def fetch_document(fetcher: Fetcher, url: str, scope: Scope) -> Fetch:
    """Fetch one document; refusals come back as a Fetch, a TransientError is retried."""
    return fetcher.document(url, scope)


def _retrying(t: Any, settings: Settings) -> Any:
    s = settings.collect
    delays = [s.retry_delay_s * 2 ** i for i in range(s.retries)]
    return t.with_options(retries=s.retries, retry_delay_seconds=delays or 0)


def targets(settings: Settings, names: list[str] | None = None, url: str | None = None,
            document_pattern: str | None = None) -> list[SourceSettings]:
    """The sources to collect: the configured ones (or those named), or one listing URL given by the user."""
    if url:
        return [SourceSettings(name="url", url=url, document_pattern=document_pattern)]
    configured = list(settings.collect.sources)
    if names:
        unknown = sorted(set(names) - {s.name for s in configured})
        if unknown:
            raise CollectError(f"unknown source {', '.join(unknown)}; config.yaml collect.sources has "
                               f"{', '.join(s.name for s in configured) or 'none'}")
        configured = [s for s in configured if s.name in names]
    return configured


def _error(state: Any) -> str:
    try:
        state.result()
    except Exception as exc:  # the task's own exception, after its retries
        return str(exc)
    return str(state.message)


def _collect_source(fetcher: Fetcher, source: SourceSettings, settings: Settings) -> dict[str, Any]:
    scope = Scope.of(source.url, source.allowed_hosts)
    crawl_t = _retrying(crawl_listing, settings)
    fetch_t = _retrying(fetch_document, settings)
    state = crawl_t(fetcher, source, scope, return_state=True)
    if not state.is_completed():
        return {"source": source.name, "pages": 0, "fetches": [],
                "failed": [{"url": source.url, "reason": _error(state)}], "refused": []}
    crawl: Crawl = state.result()
    refused = [{"url": u, "reason": r} for u, r in crawl.refused]
    failed: list[dict[str, str]] = []
    fetches: list[Fetch] = []
    queue = list(crawl.documents) + list(crawl.attachments)
    seen: set[str] = set()
    linked_from: dict[str, str | None] = {}  # attachment → the date of the document page that links to it
    while queue and len(fetches) < source.max_documents:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        st = fetch_t(fetcher, url, scope, return_state=True)
        if not st.is_completed():
            failed.append({"url": url, "reason": _error(st)})
            continue
        f: Fetch = st.result()
        if f.status in ("refused", "failed"):
            (refused if f.status == "refused" else failed).append({"url": url, "reason": f.reason})
            continue
        if f.page_date is None and linked_from.get(url):
            f = dataclasses.replace(f, page_date=linked_from[url])
        fetches.append(f)
        if f.kind == "html" and url in crawl.documents:
            more, out = fetcher.attachments(f, source, scope)
            queue.extend(u for u in more if u not in seen)
            for u in more:
                linked_from.setdefault(u, f.page_date)
            refused.extend({"url": u, "reason": r} for u, r in out)
    return {"source": source.name, "pages": len(crawl.pages), "fetches": fetches, "failed": failed,
            "refused": refused}


@flow(name="collect", validate_parameters=False)
def collect_flow(sources: list[str] | None = None, url: str | None = None, document_pattern: str | None = None,
                 settings: Settings | None = None, config: str | None = None) -> dict[str, Any]:
    """Collect from the web sources (all configured, those named, or one listing URL) and the inbox; return
    a summary whose `paths` are the stored documents of this run plus the inbox files."""
    from flows.status import raw_root, store_path

    settings = settings or read_settings(config)
    chosen = targets(settings, sources, url, document_pattern)
    raw = RawStore(raw_root(settings))
    per_source = []
    with Fetcher(settings.collect, raw, state_path(settings)) as fetcher:
        for src in chosen:
            per_source.append(_collect_source(fetcher, src, settings))
    collect.write_fetch_log(fetch_log_path(settings), [f for r in per_source for f in r["fetches"]])
    paths: dict[str, None] = {}
    with Store(store_path(settings)) as store:
        for r in per_source:
            for f in r["fetches"]:
                store.add_source(f.sha256, f.path, None, f.url, f.fetched_at, f.page_date)
                paths.setdefault(f.path, None)
        waiting = store.waiting_paths(process.stage_versions(settings))
        inbox_files = collect.inbox(settings.path(settings.collect.inbox))
        unseen = _not_processed(store, inbox_files)
    box = [str(p) for p in inbox_files] if not url else []
    summary: dict[str, Any] = {"sources": {}, "new": 0, "paths": list(paths) + box, "inbox": len(box),
                               "refused": [], "failed": [],
                               "waiting": {"documents": len(waiting) + len(unseen), "collected": len(waiting),
                                           "inbox": len(unseen)}}
    for r in per_source:
        counts = {k: sum(1 for f in r["fetches"] if f.status == k) for k in ("new", "stored", "unchanged")}
        summary["sources"][r["source"]] = {"pages": r["pages"], **counts, "refused": len(r["refused"]),
                                           "failed": len(r["failed"])}
        summary["new"] += counts["new"]
        summary["refused"] += [{"source": r["source"], **x} for x in r["refused"]]
        summary["failed"] += [{"source": r["source"], **x} for x in r["failed"]]
    for x in summary["refused"]:
        log.info("refused: %s", x["reason"])
    for x in summary["failed"]:
        log.warning("failed: %s", x["reason"])
    return summary


def _not_processed(store: Store, files: list[Path]) -> list[Path]:
    """The inbox files no run has taken yet: a document file whose bytes are neither stored nor quarantined, a
    JSON Lines file no record of which is on record."""
    from pipeline.store import sha256_file

    con = store.con
    known = {r[0] for r in con.execute("SELECT doc_id FROM documents UNION SELECT sha256 FROM quarantine").fetchall()}
    places = {r[0] for r in con.execute("SELECT DISTINCT path FROM sources WHERE record >= 0").fetchall()}
    return [f for f in files
            if (str(f) not in places if collect.kind_of(f) == "jsonl" else sha256_file(f) not in known)]


def run_collect(settings: Settings, sources: list[str] | None = None, url: str | None = None,
                document_pattern: str | None = None) -> dict[str, Any]:
    """Run the collect flow with these settings (the CLI's entry)."""
    return collect_flow(sources=sources, url=url, document_pattern=document_pattern, settings=settings)
