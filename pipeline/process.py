"""Process one batch of sources end to end (extract → segment → tag → code), one document at a time.

A document that fails becomes a quarantine outcome whose reason names the file, what is wrong and what to do;
the batch goes on. Files are extracted in a helper process under the limits of `settings.extract`
(pipeline/isolate.py): a file that hangs, needs too much memory or crashes the parser is stopped and
quarantined, never the worker or the run. JSON Lines records are plain text and are extracted in-process (the
fast path: no process hop per record)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline import candidates, code, extract, features, isolate, lexicon, segment, tag
from pipeline.learn import load_models, models_version
from pipeline.collect import read_records, stories
from pipeline.dates import document_date, read_pdf_info
from pipeline.errors import CollectError, PipelineError
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document, Source, SourceMeta, Tagged
from pipeline.settings import ExtractSettings, Settings

log = logging.getLogger(__name__)


def stage_versions(settings: Settings) -> dict[str, str]:
    """The version of every per-document stage: its code version and a hash of every resource it reads, so a
    changed lexicon row, cue word or retrained model re-runs exactly the stages that read it."""
    gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
    user_dict = settings.path(settings.segment.user_dictionary)
    udict = segment.dictionary_version(user_dict)
    models = models_version(settings.path(settings.tag.models))
    cues = lexicon.cues_version()
    return {"extract": extract.VERSION, "segment": f"{segment.VERSION}+{udict}",
            "tag": f"{tag.VERSION}+{candidates.VERSION}+{features.VERSION}+{gaz.version}+{cues}+{models}",
            "code": f"{code.VERSION}+{cues}+{models}"}


_PATHS: dict[int, tuple[Settings, tuple[Path, Path, Path]]] = {}


def _tag_paths(settings: Settings) -> tuple[Path, Path, Path]:
    """The gazetteer, user dictionary and models folders of `settings` (worked out once per settings object)."""
    hit = _PATHS.get(id(settings))
    if hit is None or hit[0] is not settings:
        hit = _PATHS[id(settings)] = (settings, (settings.path(settings.tag.gazetteer),
                                                 settings.path(settings.segment.user_dictionary),
                                                 settings.path(settings.tag.models)))
    return hit[1]


def tag_document(doc: Document, words: list[str] | tuple[str, ...], settings: Settings) -> Tagged:
    """Participants and codes of one document: candidates, class, participants (none for `other`), codes."""
    gaz_dir, user_dict, models_dir = _tag_paths(settings)
    models = load_models(models_dir)
    cands = candidates.find(doc, list(words), gaz_dir, user_dict)
    probs = tag.scores(doc, words, cands, models)
    cls = code.doc_class(doc, cands, probs, models)
    ps = tag.participants(doc, cands, probs, cls, models.threshold)
    return Tagged(doc.doc_id, ps, code.codes(doc, cls, ps, cands, models))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one source gave: a document with its tokens and tags, or a quarantine reason."""

    source: Source
    document: Document | None = None
    tokens: tuple[str, ...] = ()
    tagged: Tagged | None = None
    stage: str = ""
    reason: str = ""


def where(source: Source) -> str:
    """How a person finds the input: the file, and the line for a JSON Lines record."""
    if source.record is None:
        return source.path
    story = f" story {source.part + 1}" if source.part is not None else ""
    return f"{source.path} line {source.record + 1}{story}"


# -- one document, one batch ----------------------------------------------------------------------------

def _with_date(doc: Document, source: Source | None = None, date: str | None = None) -> Document:
    """The document with its date, where the date came from (`date_source`), and the URL, title and issuer a
    sidecar or the collector gives (`dates.document_date` decides; `date` given by the caller wins, as a
    sidecar's). PDF metadata is read only when nothing else dates the document."""
    meta = source.meta if source is not None else None
    if date:
        meta = SourceMeta("sidecar", date, *(meta.url, meta.title, meta.issuer) if meta else ())
    pdf_info = (lambda: read_pdf_info(doc.source)) if doc.kind == "pdf" and source is not None else None
    iso, how, warning = document_date(doc.text, doc.title, meta.date if meta else None,
                                      meta.origin if meta else None, doc.date, pdf_info)
    return replace(doc, date=iso, date_source=how, warnings=doc.warnings + ((warning,) if warning else ()),
                   source_url=(meta.url if meta else None) or doc.source_url,
                   title=(meta.title if meta and meta.title else doc.title),
                   issuer=(meta.issuer if meta else None) or doc.issuer)


_SPACE = re.compile(r"\s")


def _cjk_share(text: str) -> float:
    """extract.cjk_share, counted with regexes (twice as fast: it runs on every JSON Lines record)."""
    n = len(text) - len(_SPACE.findall(text))
    return len(extract._CJK_RE.findall(text)) / n if n else 0.0


def _not_chinese(source: Source, doc: Document, limits: ExtractSettings) -> str | None:
    share = _cjk_share(doc.text)
    if share >= limits.min_cjk_share:
        return None
    return (f"{where(source)}: not a Chinese document (only {share:.0%} of its characters are Chinese, "
            f"expected at least extract.min_cjk_share={limits.min_cjk_share:.0%}); it is not coded — remove it "
            f"from the inputs if it does not belong to the corpus")


def read(source: Source, settings: Settings, record: dict[str, Any] | None = None,
         date: str | None = None) -> Document:
    """Extract one source into its Document (a file in a helper process under the limits of `settings.extract`)
    and date it: `date` when given, else from its text. Raises PipelineError for a bad input."""
    if source.kind == "jsonl-record":
        doc = extract.document(source, record, settings=settings.extract)
    else:
        doc = isolate.document(source, settings.extract)
    return _with_date(doc, source, date)


def one(source: Source, settings: Settings, record: dict[str, Any] | None = None,
        date: str | None = None) -> Outcome:
    """Process one source; never raises for a bad document. `date` overrides the document date."""
    user_dict = settings.path(settings.segment.user_dictionary)
    stage = "extract"
    try:
        doc = read(source, settings, record, date)
        if reason := _not_chinese(source, doc, settings.extract):
            return Outcome(source, stage=stage, reason=reason)
        stage = "segment"
        words = segment.words(doc.text, user_dict)
        stage = "tag"
        tagged = tag_document(doc, words, settings)
        return Outcome(source, doc, tuple(words), tagged)
    except PipelineError as exc:
        reason = str(exc)
        return Outcome(source, stage=stage, reason=reason if source.path in reason else f"{where(source)}: {reason}")
    except Exception as exc:  # a library failing on a bad document must not stop the batch
        log.exception("%s: unexpected failure in %s", where(source), stage)
        return Outcome(source, stage=stage, reason=(
            f"{where(source)}: {stage} failed ({type(exc).__name__}: {exc}); this is a bug or a very unusual "
            f"document — report it with the file (its copy is kept in the raw store)"))


def batch(sources: list[Source], settings: Settings) -> list[Outcome]:
    """Process a batch of sources. JSON Lines records are re-read from their file by line number, so a batch
    carries only paths and hashes."""
    wanted: dict[str, dict[int, Source]] = {}
    for s in sources:
        if s.kind == "jsonl-record":
            wanted.setdefault(s.path, {})[s.record] = s  # type: ignore[index]
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for path, lines in wanted.items():
        try:
            for n, obj, _err in read_records(Path(path), only=lines):
                if obj is not None:
                    records[(path, n)] = obj
        except CollectError as exc:  # the records read so far go on; the others are quarantined below
            log.warning("%s", exc)
    parts_of: dict[tuple[str, int], list[dict[str, Any]]] = {}  # a bulletin's stories, split once a batch
    out = []
    for s in sources:
        if s.kind == "jsonl-record" and (s.path, s.record) not in records:
            out.append(Outcome(s, stage="extract", reason=(
                f"{where(s)}: the record could not be read again (the file changed or is damaged since the run "
                f"began); check the file and run again")))
            continue
        rec = records.get((s.path, s.record)) if s.kind == "jsonl-record" else None  # type: ignore[arg-type]
        if rec is not None and s.part is not None:
            key = (s.path, s.record)
            if key not in parts_of:
                parts_of[key] = stories(rec, settings.collect.bulletin_titles) or []
            parts = parts_of[key]
            if s.part >= len(parts):
                out.append(Outcome(s, stage="extract", reason=(
                    f"{where(s)}: the story is no longer in its record (the file or collect.bulletin_titles "
                    f"changed since the run began); run again")))
                continue
            rec = parts[s.part]
        out.append(one(s, settings, rec))
    return out


def retag(items: list[tuple[Document, tuple[str, ...], str]], settings: Settings) -> list[Outcome]:
    """Re-run segmentation (when `stage` is "segment" or no tokens are stored), tagging and coding on
    documents already extracted: (document, stored tokens, first stage to redo) each."""
    user_dict = settings.path(settings.segment.user_dictionary)
    out = []
    for doc, tokens, stage in items:
        source = Source(doc.doc_id, doc.source, doc.kind)
        try:
            words = segment.words(doc.text, user_dict) if stage == "segment" or not tokens else list(tokens)
            out.append(Outcome(source, doc, tuple(words), tag_document(doc, words, settings)))
        except PipelineError as exc:
            out.append(Outcome(source, stage=stage, reason=f"{doc.source}: {exc}"))
    return out
