"""Turn an input (PDF, text, HTML, DOCX, or a JSON Lines record) into a Document with clean Chinese text.

Guarantees: every page keeps its text, the method that produced it and a quality verdict; `Document.text`
is the normalised text of the pages joined by blank lines; unreadable input raises ExtractionError naming the
file and the reason.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from pipeline.errors import ExtractionError
from pipeline.records import Document, Page, Source

log = logging.getLogger(__name__)

VERSION = "1"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】—…·「」『』〔〕"
_SENTENCE_END = "。！？；：…」』”）》"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}{_CJK_PUNCT}])[ \t\u3000]+(?=[{_CJK}{_CJK_PUNCT}])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PAGE_NUMBER = re.compile(r"^\s*[—\-–－]*\s*(第\s*)?\d{1,4}\s*(页)?\s*[—\-–－]*\s*$")


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the non-space characters of `text`."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK_RE.match(c)) / len(chars)


def _fullwidth_ascii(text: str) -> str:
    """NFKC only for full-width Latin letters, digits and space (keeps CJK punctuation full width)."""
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
            out.append(unicodedata.normalize("NFKC", ch))
        else:
            out.append(ch)
    return "".join(out)


def normalise(text: str) -> str:
    """Clean extracted text: drop control characters and page-number lines, strip spaces between CJK
    characters, join lines broken inside a sentence, keep paragraph breaks (a line that ends a sentence)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _fullwidth_ascii(text))
    lines = []
    for raw in text.split("\n"):
        line = _SPACE_BETWEEN_CJK.sub("", raw.strip(" \t\u3000\u00a0"))
        if _PAGE_NUMBER.match(line):
            continue
        lines.append(line)
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
                current = ""
            continue
        if current and _joins(current, line):
            current += line
        else:
            if current:
                paragraphs.append(current)
            current = line
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def _joins(previous: str, line: str) -> bool:
    """Whether `line` continues the sentence that `previous` broke off."""
    last = previous[-1]
    if last in _SENTENCE_END:
        return False
    if _CJK_RE.match(last) or last in "，、（“《" or last.isdigit():
        return bool(_CJK_RE.match(line[0]) or line[0] in _CJK_PUNCT or line[0].isalnum())
    return False


# -- PDF ---------------------------------------------------------------------------------------------------

def pages(path: Path | str) -> tuple[Page, ...]:
    """Extract the text of each page of a PDF with pypdfium2 (content-stream order)."""
    import pypdfium2 as pdfium

    path = Path(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise ExtractionError(f"{path}: encrypted PDF (password required); decrypt it and add it again") from exc
        raise ExtractionError(f"{path}: not a readable PDF ({msg})") from exc
    try:
        n = len(pdf)
        if n == 0:
            raise ExtractionError(f"{path}: PDF has no pages")
        out = []
        for i in range(n):
            page = pdf[i]
            textpage = page.get_textpage()
            raw = textpage.get_text_range()
            textpage.close()
            page.close()
            out.append(_page_verdict(i + 1, raw))
        return tuple(out)
    finally:
        pdf.close()


def _page_verdict(n: int, raw: str) -> Page:
    text = normalise(raw)
    stripped = re.sub(r"\s", "", text)
    if not stripped:
        return Page(n, "", "none", "empty")
    if "(cid:" in text or "\ufffd" in text or cjk_share(text) < 0.2 or _mostly_one_char(stripped):
        return Page(n, text, "text", "junk")
    return Page(n, text, "text", "ok")


def _mostly_one_char(s: str) -> bool:
    if len(s) < 20:
        return False
    from collections import Counter

    return Counter(s).most_common(1)[0][1] / len(s) > 0.5


# -- other formats -----------------------------------------------------------------------------------------

def read_text_file(path: Path | str) -> str:
    """Read a text file, detecting UTF-8, GB18030/GBK or another encoding."""
    path = Path(path)
    data = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError(f"{path}: cannot detect the text encoding (not UTF-8 or GB18030)")
    return str(best)


def _html_text(path: Path) -> tuple[str, str]:
    import trafilatura

    html = read_text_file(path)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=True) or ""
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    return text, title


def _docx_text(path: Path) -> str:
    import docx

    try:
        d = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for broken files
        raise ExtractionError(f"{path}: not a readable DOCX ({type(exc).__name__}: {exc})") from exc
    return "\n".join(p.text for p in d.paragraphs)


_TITLE_MAX = 80


def _title_from(text: str, fallback: str) -> str:
    for line in text.split("\n"):
        line = line.strip()
        if 4 <= len(line) <= _TITLE_MAX:
            return line
    return fallback


def document(source: Source, record: dict[str, Any] | None = None) -> Document:
    """Extract one source into a Document. `record` is the parsed JSON object of a JSON Lines source."""
    path = Path(source.path)
    if source.kind == "jsonl-record":
        if record is None:
            raise ExtractionError(f"{path}:{source.record}: JSON Lines record missing")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ExtractionError(f"{path}: record {source.record}: no 'text' field with content")
        body = normalise(text)
        return Document(
            doc_id=source.doc_id, source=str(path), title=str(record.get("title") or _title_from(body, "")),
            date=_iso_date(record.get("date")), text=body, pages=(Page(1, body),), kind=source.kind,
            external_id=str(record["id"]) if record.get("id") is not None else None,
        )
    if not path.exists():
        raise ExtractionError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ExtractionError(f"{path}: empty file (0 bytes)")
    if source.kind == "pdf":
        pgs = pages(path)
        text = "\n".join(p.text for p in pgs if p.quality == "ok")
        if not text.strip():
            raise ExtractionError(
                f"{path}: no usable text layer on any page ({', '.join(sorted({p.quality for p in pgs}))}); "
                f"scanned or broken fonts, OCR needed"
            )
        methods = {p.method for p in pgs if p.text}
        extraction = "mixed" if len(methods) > 1 else (methods.pop() if methods else "none")
        warnings = tuple(f"page {p.n}: {p.quality}" for p in pgs if p.quality not in ("ok", "ocr"))
        return Document(source.doc_id, str(path), _title_from(text, path.stem), None, text, pgs, "pdf",
                        extraction, warnings)
    if source.kind == "html":
        raw, title = _html_text(path)
    elif source.kind == "docx":
        raw, title = _docx_text(path), ""
    elif source.kind == "txt":
        raw, title = read_text_file(path), ""
    else:
        raise ExtractionError(f"{path}: unsupported kind {source.kind!r}")
    text = normalise(raw)
    if not text.strip():
        raise ExtractionError(f"{path}: no text found")
    return Document(source.doc_id, str(path), title or _title_from(text, path.stem), None, text,
                    (Page(1, text),), source.kind)


_DATE = re.compile(r"(\d{4})\D?(\d{1,2})\D?(\d{1,2})")


def _iso_date(value: Any) -> str | None:
    if not value:
        return None
    m = _DATE.search(str(value))
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}"
