"""Typed, frozen records that flow between stages.

Each stage takes records and returns new ones; nothing is changed in place. Offsets (`start`, `end`) always
index into `Document.text` (Python string indices, end exclusive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Values of `Page.method`.
PAGE_METHODS = ("text", "ocr", "none")
#: Values of `Page.quality`.
PAGE_QUALITIES = ("ok", "ocr", "needs_ocr", "empty", "junk")

DOC_CLASSES = (
    "joint_meeting",
    "joint_meeting_system_document",
    "joint_meeting_office_activity",
    "coordination_meeting_other",
    "cooperation_agreement_or_mechanism",
    "joint_meeting_international",
    "other",
)
JOINT_MEETING_CLASSES = DOC_CLASSES[:3]
LEVELS = ("national", "provincial", "prefectural", "county", "township")
COLLAB_TYPES = ("cross_regional", "cross_level", "cross_departmental")
ROLES = ("host", "chair", "member", "signatory", "superior")
SECTORS = (
    "general", "development_reform", "transport", "environment", "public_security", "emergency", "water",
    "natural_resources", "agriculture", "commerce", "industry_it", "finance", "health", "education",
    "human_resources", "civil_affairs", "justice", "culture_tourism", "science_technology", "housing",
    "market_regulation", "customs_ports", "party", "legislature", "other",
)
INSTITUTIONS = ("secretariat", "rotation", "charter", "agreement", "fund", "working_groups")
#: Values of `Document.date_source`: where the document date came from (pipeline/dates.py, `document_date`).
DATE_SOURCES = ("sidecar", "record", "text", "collector", "pdf_metadata", "none")


@dataclass(frozen=True, slots=True)
class SourceMeta:
    """What is known about an input besides its bytes: a row of the batch's metadata.csv (`origin` "sidecar")
    or what the web collector saw (`origin` "collector": the page's URL and date). Any field may be None."""

    origin: str  # sidecar | collector
    date: str | None = None  # ISO date
    url: str | None = None
    title: str | None = None
    issuer: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of extracted text. `n` is 1-based; `method` is how the text was got; `quality` the verdict."""

    n: int
    text: str
    method: str = "text"
    quality: str = "ok"


@dataclass(frozen=True, slots=True)
class Table:
    """A table found on a page: rows of cell strings (None for an empty cell)."""

    page: int
    rows: tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True, slots=True)
class Source:
    """One input as found: a file, or one record inside a JSON Lines file.

    `doc_id` is the SHA-256 of the document's bytes (for a JSON Lines record: of its canonical JSON)."""

    doc_id: str
    path: str
    kind: str  # pdf, txt, html, docx, jsonl-record
    record: int | None = None  # line number (0-based) inside a JSON Lines file
    url: str | None = None
    part: int | None = None  # the story's index inside a multi-story record (collect.stories)
    meta: SourceMeta | None = None  # a sidecar row or the collector's page date and URL


@dataclass(frozen=True, slots=True)
class Document:
    """A document's text and metadata. `text` is the normalised text of all pages joined by a blank line;
    `pages` keep the per-page text; `original_text` is kept when normalisation changed characters
    (e.g. traditional → simplified)."""

    doc_id: str
    source: str
    title: str
    date: str | None
    text: str
    pages: tuple[Page, ...] = ()
    kind: str = "txt"
    extraction: str = "text"  # text / ocr / mixed / none
    warnings: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    original_text: str | None = None
    external_id: str | None = None  # the id a JSON Lines record carried
    date_source: str = "none"  # where `date` came from: one of DATE_SOURCES
    source_url: str | None = None  # the URL the document was published at (sidecar or collector)
    issuer: str | None = None  # the issuing body a sidecar names


@dataclass(frozen=True, slots=True)
class Participant:
    """A government body that takes part, normalised per CODEBOOK §2, with its evidence span."""

    name: str
    mention: str
    start: int
    end: int
    level: str
    region_code: str
    province: str
    sector: str
    role: str = "member"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A span of `Document.text` that supports a code: `code` names the field, `value` the value it supports."""

    code: str
    value: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Codes:
    """Document-level codes of CODEBOOK §1 and §3."""

    doc_class: str = "other"
    levels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    collab_type: tuple[str, ...] = ()
    series: str | None = None
    session: int | None = None
    meeting_date: str | None = None
    location: str | None = None
    depth: int | None = None
    institutions: tuple[str, ...] = ()
    vertical_guidance: bool = False
    goals: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Tagged:
    """The tagging result of one document: its participants and codes."""

    doc_id: str
    participants: tuple[Participant, ...] = ()
    codes: Codes = field(default_factory=Codes)


def as_dict(record: Any) -> dict[str, Any]:
    """Return a record as plain JSON-able dicts and lists (tuples become lists)."""
    return _plain(asdict(record))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
