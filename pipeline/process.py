"""Process one batch of sources end to end (extract → segment → tag → code), one document at a time.

A document that fails becomes a quarantine outcome with the file and the reason; the batch goes on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline import code, extract, segment, tag
from pipeline.collect import read_records
from pipeline.dates import find_dates
from pipeline.errors import PipelineError
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document, Source, Tagged
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def stage_versions(settings: Settings) -> dict[str, str]:
    """The version of every per-document stage; a change re-runs that stage for every document."""
    gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
    return {"extract": extract.VERSION, "segment": segment.VERSION, "tag": f"{tag.VERSION}+{gaz.version}",
            "code": code.VERSION}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one source gave: a document with its tokens and tags, or a quarantine reason."""

    source: Source
    document: Document | None = None
    tokens: tuple[str, ...] = ()
    tagged: Tagged | None = None
    stage: str = ""
    reason: str = ""


def _with_date(doc: Document) -> Document:
    if doc.date is None:
        dates = find_dates(doc.text)
        if dates:
            return replace(doc, date=dates[-1].iso if doc.kind == "pdf" else dates[0].iso)
    return doc


def one(source: Source, settings: Settings, record: dict[str, Any] | None = None,
        date: str | None = None) -> Outcome:
    """Process one source; never raises for a bad document. `date` overrides the document date."""
    user_dict = settings.path(settings.segment.user_dictionary)
    gaz_dir = settings.path(settings.tag.gazetteer)
    stage = "extract"
    try:
        doc = extract.document(source, record)
        doc = replace(doc, date=date) if date else _with_date(doc)
        stage = "segment"
        words = segment.words(doc.text, user_dict)
        stage = "tag"
        tagged = tag.document(doc, words, gaz_dir, user_dict)
        return Outcome(source, doc, tuple(words), tagged)
    except PipelineError as exc:
        return Outcome(source, stage=stage, reason=str(exc))
    except Exception as exc:  # a library failing on a bad file must not stop the batch
        log.exception("%s: unexpected failure in %s", source.path, stage)
        return Outcome(source, stage=stage, reason=f"{source.path}: {stage} failed: {type(exc).__name__}: {exc}")


def batch(sources: list[Source], settings: Settings) -> list[Outcome]:
    """Process a batch of sources. JSON Lines records are re-read from their file by line number, so a batch
    carries only paths and hashes."""
    wanted: dict[str, dict[int, Source]] = {}
    for s in sources:
        if s.kind == "jsonl-record":
            wanted.setdefault(s.path, {})[s.record] = s  # type: ignore[index]
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for path, lines in wanted.items():
        last = max(lines)
        for n, obj, _err in read_records(Path(path)):
            if n in lines and obj is not None:
                records[(path, n)] = obj
            if n >= last:
                break
    out = []
    for s in sources:
        rec = records.get((s.path, s.record)) if s.kind == "jsonl-record" else None  # type: ignore[arg-type]
        out.append(one(s, settings, rec))
    return out
