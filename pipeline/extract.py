"""Turn an input (PDF, text, HTML, DOCX, or a JSON Lines record) into a Document with clean Chinese text.

Guarantees: every page keeps its text, the method that produced it (`text`, `ocr`, `none`) and a quality verdict
(`ok`, `ocr`, `needs_ocr`, `empty`, `junk`); no page text contains `(cid:`, U+FFFD, private-use or control
characters; a page whose text layer fails the quality gates is re-done by OCR, or marked `needs_ocr` with a
warning when OCR is unavailable (its junk text is not kept); `Document.text` is the normalised text of the pages
joined by newlines (a sentence broken across a page break is joined); unreadable input raises ExtractionError
naming the file and the reason, never another exception type.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from pipeline import convert
from pipeline.errors import ExtractionError
from pipeline.records import Document, Page, Source, Table
from pipeline.settings import ExtractSettings, OcrEngine, TableReader

log = logging.getLogger(__name__)

VERSION = "6"  # 6: ruled tables read from PDFium (cells in content order), RapidOCR; 5: a title wrapped onto the next lines is joined; 4: news-release headline chosen as title over the issuer line; 3: ruled-table detector (grids drawn as one path found), full-width (cid: dropped

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】—…·「」『』〔〕"
_SENTENCE_END = "。！？；：…」』”）》"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}{_CJK_PUNCT}])[ \u3000\u00a0]+(?=[{_CJK}{_CJK_PUNCT}])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\uffff\u200b-\u200f\u2028\u2029]")
_UNMAPPED = re.compile("[\ufffd\ufffe]")  # U+FFFD replacement, U+FFFE: pdfium's mark for a glyph without Unicode
_PUA = re.compile(r"[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_CID = re.compile(r"\(cid:\d+\)")
_DROP = re.compile("|".join((_CID.pattern, _UNMAPPED.pattern, _CONTROL.pattern, _PUA.pattern)))
# page numbers decorated the 公文 way (— 3 —, - 3 -, 第 3 页, 第3页 共10页): dropped from any text
_PAGE_NUMBER = re.compile(r"^[—\-–－ ]*(第\s*\d{1,4}\s*页(\s*[，,/]?\s*共\s*\d{1,4}\s*页)?|[—\-–－]+\s*\d{1,4}\s*[—\-–－]+"
                          r"|\d{1,4}\s*/\s*\d{1,4})[—\-–－ ]*$")
_BARE_NUMBER = re.compile(r"^[—\-–－ ]*\d{1,4}[—\-–－ ]*$")  # dropped only inside a PDF page's margin band
# characters that are neither letters nor signs of garbling: digits, spaces, leaders and common punctuation
_NEUTRAL = set("0123456789.,-/%()[]:×·…—–－_=+" + _CJK_PUNCT + "．，：；（）％")
# ASCII signs that fill the text of a font without a usable ToUnicode map (Custom-encoded Type1C etc.)
_GARBLE = set("!\"#$&'*;<=>?@\\^`{|}~")
_GARBLE_RE = re.compile("[" + re.escape("".join(sorted(_GARBLE))) + "]")
_NEUTRAL_RE = re.compile("[\\s" + re.escape("".join(sorted(_NEUTRAL))) + "]+")
_SPACES = re.compile(r"\s+")
_FULLWIDTH_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SYMBOL_PUA = re.compile("[\uf020-\uf0ff]")


# -- text normalisation --------------------------------------------------------------------------------------

def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the non-space characters of `text`."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK_RE.match(c)) / len(chars)


def _fullwidth_ascii(text: str) -> str:
    """NFKC only for full-width Latin letters, digits and the ideographic space (keeps CJK punctuation)."""
    return _FULLWIDTH_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _width(line: str) -> float:
    return len(line) - 0.5 * len(line.encode("ascii", "ignore"))


def _open_brackets(text: str) -> bool:
    return text.count("《") > text.count("》") or text.count("（") > text.count("）")


def _clean(text: str) -> str:
    """Drop control, private-use and unmapped characters, NFKC full-width Latin/digits, drop spaces between CJK."""
    if _FULLWIDTH_RE.search(text):
        text = _fullwidth_ascii(text)
    if _DROP.search(text):
        text = _DROP.sub("", text)
    return _SPACE_BETWEEN_CJK.sub("", text)


def normalise(text: str, drop_page_numbers: bool = True) -> str:
    """Clean extracted text: drop control and private-use characters and decorated page-number lines, strip
    spaces between CJK characters, NFKC full-width Latin/digits only, join lines broken inside a sentence (a
    full-width line that does not end a sentence, or a line inside an open 《…》/（…）), keep paragraph breaks."""
    text = _clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines, widths = [], []
    for raw in text.split("\n"):
        line = raw.strip(" \u3000\u00a0").strip("\t")
        if drop_page_numbers and len(line) <= 40 and _PAGE_NUMBER.match(line):
            continue
        lines.append(line)
        widths.append(_width(line))
    full_widths = sorted(w for w in widths if w >= 8)
    full = full_widths[int(len(full_widths) * 0.75)] if len(full_widths) >= 2 else 0.0
    paragraphs: list[str] = []
    current, last_width = "", 0.0
    for line, width in zip(lines, widths):
        if not line:
            if current:
                paragraphs.append(current)
                current = ""
            continue
        if current and _joins(current, last_width, line, full):
            current += line if _CJK_RE.match(current[-1]) or _CJK_RE.match(line[0]) else " " + line
        else:
            if current:
                paragraphs.append(current)
            current = line
        last_width = width
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def _joins(paragraph: str, previous: float, line: str, full: float) -> bool:
    """Whether `line` continues the sentence that `paragraph` broke off (`previous`: the width of its last line)."""
    last = paragraph[-1]
    if last in _SENTENCE_END and not _open_brackets(paragraph):
        return False
    first = line[0]
    continues = bool(_CJK_RE.match(first) or first in _CJK_PUNCT or first.isalnum())
    if not continues:
        return False
    if _open_brackets(paragraph) and len(paragraph) < 200:
        return True
    if not full:  # too few lines to tell a full line from a short one: lines are paragraphs
        return last in "，、（“《〈"
    # a full-width line that does not end a sentence goes on; a short one ends its paragraph
    return previous >= 0.8 * full or last in "，、（“《"


# -- page quality gates --------------------------------------------------------------------------------------

def _letters(text: str) -> str:
    """The characters that carry words or garbling: no spaces, digits or common punctuation."""
    return _NEUTRAL_RE.sub("", text)


def _gate(raw: str) -> str | None:
    """Why a page's raw text is junk (None when it passes the gates that need no document context)."""
    chars = _SPACES.sub("", raw)
    n = len(chars)
    if not n:
        return None
    if _DROP.search(raw):
        cids = len(_CID.findall(raw))
        if cids >= 3 or (cids and cids * 6 > n * 0.05):
            return f"{cids} (cid:) codes"
        bad = len(_UNMAPPED.findall(raw))
        if bad > max(3, 0.05 * n):
            return f"{bad} glyphs without Unicode (U+FFFD/U+FFFE)"
        ctrl = len(_CONTROL.findall(raw))
        if ctrl > max(2, 0.01 * n):
            return f"{ctrl} control characters"
        pua = len(_PUA.findall(raw))
        if pua > max(5, 0.05 * n):
            return f"{pua} private-use characters"
    letters = _letters(raw) if _GARBLE_RE.search(raw) else ""
    if len(letters) >= 20:
        garble = len(_GARBLE_RE.findall(letters))
        if garble > 0.2 * len(letters):
            return f"garbled glyphs ({garble / len(letters):.0%} ASCII signs)"
    if n >= 20:
        ch, count = Counter(chars).most_common(1)[0]
        if ch in ".…·-—_":
            count = 0
        if count > 0.5 * n:
            return f"mostly one repeated character ({ch!r} {count / n:.0%})"
    return None


def _letter_cjk(text: str) -> tuple[int, int]:
    letters = _letters(text)
    return len(_CJK_RE.findall(letters)), len(letters)


# -- PDF -----------------------------------------------------------------------------------------------------

# Adobe Symbol encoding (as mapped to U+F020–U+F0FF by fonts without a Unicode cmap) → Unicode
_SYMBOL = dict(zip(range(0xF020, 0xF07F),
                   " !∀#∃%&∋()∗+,−./0123456789:;<=>?≅ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ[∴]⊥_‾αβχδεφγηιϕκλμνοπθρστυϖωξψζ{|}∼"))
_SYMBOL.update(zip(range(0xF0A0, 0xF100),
                   "€ϒ′≤⁄∞ƒ♣♦♥♠↔←↑→↓°±″≥×∝∂•÷≠≡≈…⏐⎯↵ℵℑℜ℘⊗⊕∅∩∪⊃⊇⊄⊂⊆∈∉∠∇®©™∏√⋅¬∧∨⇔⇐⇑⇒⇓◊〈®©™∑⎛⎜⎝⎡⎢⎣⎧⎨⎩⎪ 〉∫⌠⎮⌡⎞⎟⎠⎤⎥⎦⎫⎬⎭ "))


@dataclass
class _Line:
    text: str
    top: float
    bottom: float


@dataclass
class _RawPage:
    n: int
    lines: list[_Line]
    height: float
    image_share: float = 0.0
    table: bool = False  # ruled lines that may form a table
    tables: list[tuple[tuple[str | None, ...], ...]] = field(default_factory=list)  # read from PDFium (rows)
    reason: str | None = None  # why the text layer is junk
    removed: list[str] = field(default_factory=list)

    @property
    def raw(self) -> str:
        return "\n".join(x.text for x in self.lines)


def _char_index(textpage: Any, text_index: int) -> int:
    import pypdfium2.raw as pdfium_c

    return pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)


def _font_name(textpage: Any, char_index: int) -> str:
    import pypdfium2.raw as pdfium_c

    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage, char_index, buf, 128, ctypes.byref(flags))
    return buf.value.decode("latin-1", "replace")


def _map_symbols(textpage: Any, raw: str, utf16: list[int] | None) -> str:
    """Map Symbol-font private-use codes (U+F020–U+F0FF) to Unicode; Wingdings-like bullets become •."""
    out = list(raw)
    fonts: dict[int, str] = {}
    for i, ch in enumerate(raw):
        o = ord(ch)
        if 0xF020 <= o <= 0xF0FF:
            ci = _char_index(textpage, utf16[i] if utf16 else i)
            if ci not in fonts:
                fonts[ci] = _font_name(textpage, ci) if ci >= 0 else ""
            out[i] = "•" if "ding" in fonts[ci].lower() else _SYMBOL.get(o, " ")
    return "".join(out)


def _page_lines(textpage: Any, raw: str, positions: bool) -> list[_Line]:
    """The lines of a page's text in content-stream order, each with the top and bottom of its first glyph."""
    import pypdfium2.raw as pdfium_c

    utf16 = None
    if _ASTRAL.search(raw):  # text indices count UTF-16 units
        utf16, k = [], 0
        for c in raw:
            utf16.append(k)
            k += 2 if ord(c) > 0xFFFF else 1
    if _SYMBOL_PUA.search(raw):
        raw = _map_symbols(textpage, raw, utf16)
    crlf = "\r\n" in raw
    parts = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not positions or (crlf and "\n" in raw.replace("\r\n", "")):
        # no layout, or mixed line ends (indices unreliable): content order and no positions
        return [_Line(part, 0.0, 0.0) for part in parts]
    char_index = pdfium_c.FPDFText_GetCharIndexFromTextIndex
    units = len(utf16) + sum(1 for c in raw if ord(c) > 0xFFFF) if utf16 else len(raw)
    n = pdfium_c.FPDFText_CountChars(textpage)
    if n == units and all(char_index(textpage, k) == k for k in (n // 3, 2 * n // 3, n - 1)):
        char_index = _same_index  # no char inserted or left out: text and char indices agree
    char_box = pdfium_c.FPDFText_GetCharBox
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    refs = ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
    step = 2 if crlf else 1
    lines = []
    pos = 0
    for part in parts:
        t = b = 0.0
        stripped = len(part) - len(part.lstrip())
        if stripped < len(part):
            ti = pos + stripped
            ci = char_index(textpage, utf16[ti] if utf16 and ti < len(utf16) else ti)
            if ci >= 0 and char_box(textpage, ci, *refs):
                t, b = top.value, bottom.value
        lines.append(_Line(part, t, b))
        pos += len(part) + step
    return lines


def _same_index(_textpage: Any, index: int) -> int:
    return index


def _reading_order(lines: list[_Line], tol: float = 2.0) -> list[_Line]:
    """Reorder runs of lines so that a run drawn later but lying wholly above earlier runs (a red-header
    banner drawn last) comes before them, and a run drawn first below everything (a footer) goes after.
    Columns and tables (runs side by side) keep their content-stream order."""
    runs: list[list[_Line]] = []
    prev_top = None
    for line in lines:
        if not line.text.strip():
            if runs:
                runs[-1].append(line)
            continue
        if prev_top is None or line.top > prev_top + tol:
            runs.append([line])
        else:
            runs[-1].append(line)
        prev_top = line.top
    if len(runs) < 2:
        return lines
    out: list[tuple[float, float, list[_Line]]] = []
    for run in runs:
        tops = [x.top for x in run if x.text.strip()] or [0.0]
        bottoms = [x.bottom for x in run if x.text.strip()] or [0.0]
        top, bottom = max(tops), min(bottoms)
        i = len(out)
        while i > 0 and out[i - 1][0] < bottom - tol:
            i -= 1
        out.insert(i, (top, bottom, run))
    return [x for _t, _b, run in out for x in run]


def _margin_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _strip_margins(pages: list[_RawPage], running: bool = True, band: float = 0.09) -> None:
    """Drop page numbers and running headers/footers: lines in the top or bottom band of the page that are
    bare page numbers, or whose text (digits aside) repeats in that band on at least half the pages (≥ 3)."""
    def where(p: _RawPage, x: _Line) -> str | None:
        if not p.height or not x.text.strip() or (x.top == 0.0 and x.bottom == 0.0):
            return None
        if x.bottom >= p.height * (1 - band):
            return "top"
        if x.top <= p.height * band:
            return "bottom"
        return None

    counts: Counter[tuple[str, str]] = Counter()
    for p in pages:
        seen = {(b, _margin_key(x.text)) for x in p.lines if (b := where(p, x))}
        counts.update(seen)
    texted = sum(1 for p in pages if p.raw.strip())
    need = max(3, texted // 2)
    for p in pages:
        keep = []
        for x in p.lines:
            b = where(p, x)
            if b and (_BARE_NUMBER.match(x.text.strip()) or _PAGE_NUMBER.match(x.text.strip())
                      or (running and counts[(b, _margin_key(x.text))] >= need)):
                p.removed.append(x.text.strip())
                continue
            keep.append(x)
        p.lines = keep


_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
#: A rule: a horizontal (x0, x1, top) or vertical (x, top, bottom) line, in points from the page's top left.
_Edge = tuple[float, float, float]


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix that applies `inner`, then `outer` (PDF matrices a b c d e f)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


@functools.cache
def _calls() -> Any:
    """The PDFium calls of the object scan, typed with plain pointers (handles as ints): the scan calls them
    for every object of every page (hundreds of text objects a page), and pypdfium2's typed handles cost a
    third more a call."""
    from types import SimpleNamespace

    import pypdfium2.raw as pdfium_c

    ptr, num, flt = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)

    def proto(fn: Any, restype: Any, *args: Any) -> Any:
        return ctypes.CFUNCTYPE(restype, *args)(ctypes.cast(fn, ctypes.c_void_p).value)

    return SimpleNamespace(
        count=proto(pdfium_c.FPDFPage_CountObjects, num, ptr),
        get=proto(pdfium_c.FPDFPage_GetObject, ptr, ptr, num),
        form_count=proto(pdfium_c.FPDFFormObj_CountObjects, num, ptr),
        form_get=proto(pdfium_c.FPDFFormObj_GetObject, ptr, ptr, ctypes.c_ulong),
        kind=proto(pdfium_c.FPDFPageObj_GetType, num, ptr),
        bounds=proto(pdfium_c.FPDFPageObj_GetBounds, num, ptr, flt, flt, flt, flt),
        matrix=proto(pdfium_c.FPDFPageObj_GetMatrix, num, ptr, ctypes.POINTER(pdfium_c.FS_MATRIX)),
        segments=proto(pdfium_c.FPDFPath_CountSegments, num, ptr),
        segment=proto(pdfium_c.FPDFPath_GetPathSegment, ptr, ptr, num),
        point=proto(pdfium_c.FPDFPathSegment_GetPoint, num, ptr, flt, flt),
        segment_kind=proto(pdfium_c.FPDFPathSegment_GetType, num, ptr),
        closes=proto(pdfium_c.FPDFPathSegment_GetClose, num, ptr),
        text=pdfium_c.FPDF_PAGEOBJ_TEXT, image=pdfium_c.FPDF_PAGEOBJ_IMAGE, path=pdfium_c.FPDF_PAGEOBJ_PATH,
        form=pdfium_c.FPDF_PAGEOBJ_FORM,
        line_to=pdfium_c.FPDF_SEGMENT_LINETO, FS_MATRIX=pdfium_c.FS_MATRIX)


def _matrix(obj: int) -> tuple[float, ...]:
    api = _calls()
    m = api.FS_MATRIX()
    if not api.matrix(obj, ctypes.byref(m)):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _scan_objects(page: Any, width: float, height: float, images: bool, rules: bool
                  ) -> tuple[float, list[_Edge], list[_Edge]]:
    """One pass over a page's objects (raw pdfium handle, form XObjects to depth 3): the share of the page area
    covered by images (capped at 1; when `images`), and the page's rules (when `rules`): horizontal and
    vertical lines at least 8 pt long — thin path objects, and the straight segments of other paths (rectangle
    edges, grids drawn as one path) — as (x0, x1, top) and (x, top, bottom) from the page's top left."""
    api = _calls()
    get_type, get_bounds = api.kind, api.bounds
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    refs = ctypes.byref(left), ctypes.byref(bottom), ctypes.byref(right), ctypes.byref(top)
    text, image, path, form = api.text, api.image, api.path, api.form
    area, budget = 0.0, 4000
    h_edges: list[_Edge] = []
    v_edges: list[_Edge] = []

    def bounds(m: tuple[float, ...]) -> tuple[float, float, float, float]:
        """The object's bounds (as read into left…top) in page space: x0, x1, y0, y1 (PDF y, bottom up)."""
        if m is _IDENTITY:
            return left.value, right.value, bottom.value, top.value
        xs, ys = [], []
        for x, y in ((left.value, bottom.value), (left.value, top.value), (right.value, bottom.value),
                     (right.value, top.value)):
            xs.append(m[0] * x + m[2] * y + m[4])
            ys.append(m[1] * x + m[3] * y + m[5])
        return min(xs), max(xs), min(ys), max(ys)

    def visit(count: int, get: Any, parent: int, depth: int, m: tuple[float, ...]) -> None:
        nonlocal area, budget
        objects = list(map(get, repeat(parent, count), range(count)))  # map: no bytecode loop per object
        for obj, kind in zip(objects, map(get_type, objects)):
            if kind == text:
                continue
            if kind == path:
                if rules and budget > 0 and get_bounds(obj, *refs):
                    x0, x1, y0, y1 = bounds(m)
                    w, h = x1 - x0, y1 - y0
                    budget -= 1
                    if h <= 2.5 and w >= 8:
                        h_edges.append((x0, x1, height - (y0 + y1) / 2))
                    elif w <= 2.5 and h >= 8:
                        v_edges.append(((x0 + x1) / 2, height - y1, height - y0))
                    elif w >= 8 and h >= 8:
                        budget = _path_rules(obj, _compose(_matrix(obj), m), height, h_edges, v_edges, budget)
            elif kind == image:
                if images and get_bounds(obj, *refs):
                    x0, x1, y0, y1 = bounds(m)
                    area += max(0.0, min(x1, width) - max(x0, 0.0)) * max(0.0, min(y1, height) - max(y0, 0.0))
            elif kind == form and depth < 3:
                inner = _compose(_matrix(obj), m) if m is not _IDENTITY else _matrix(obj)
                visit(api.form_count(obj), api.form_get, obj, depth + 1, _IDENTITY if inner == _IDENTITY else inner)

    handle = ctypes.cast(page, ctypes.c_void_p).value
    visit(api.count(handle), api.get, handle, 0, _IDENTITY)
    share = min(1.0, area / (width * height)) if width and height else 0.0
    return share, h_edges, v_edges


def _path_rules(obj: int, m: tuple[float, ...], height: float, h_edges: list[_Edge], v_edges: list[_Edge],
                budget: int) -> int:
    """Add the horizontal and vertical straight segments (≥ 8 pt) of a path object to the rules (`m`: the
    path's matrix to page space). Returns what is left of the budget of segments."""
    api = _calls()
    n = api.segments(obj)
    budget -= n
    if n <= 0 or budget < 0:
        return budget
    get_segment, get_point, get_kind, closes = api.segment, api.point, api.segment_kind, api.closes
    line_to = api.line_to
    x, y = ctypes.c_float(), ctypes.c_float()
    rx, ry = ctypes.byref(x), ctypes.byref(y)
    a, b, c, d, e, f = m
    start = prev = None
    for k in range(n):
        seg = get_segment(obj, k)
        if not get_point(seg, rx, ry):
            continue
        point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        ends = [point]
        if closes(seg) and start is not None:
            ends.append(start)
        if get_kind(seg) != line_to:
            start = prev = point
            continue
        for end in ends:
            if prev is not None:
                dx, dy = abs(end[0] - prev[0]), abs(end[1] - prev[1])
                if dy < 0.5 and dx >= 8:
                    h_edges.append((min(end[0], prev[0]), max(end[0], prev[0]), height - (end[1] + prev[1]) / 2))
                elif dx < 0.5 and dy >= 8:
                    v_edges.append(((end[0] + prev[0]) / 2, height - max(end[1], prev[1]),
                                    height - min(end[1], prev[1])))
            prev = end
    return budget


# -- ruled tables from PDFium: the lattice of pdfplumber (snap, join, intersect, cells, tables) on the rules
# above, and the cells' text from the text page's character boxes -------------------------------------------

_SNAP = 3.0  # pdfplumber's snap, join and intersection tolerances and minimum edge length (points)
_Cell = tuple[float, float, float, float]  # x0, top, x1, bottom


def _snap(values: list[float], tol: float) -> dict[float, float]:
    """Map each value to the mean of its cluster (values chained within `tol` of the previous one)."""
    out: dict[float, float] = {}
    group: list[float] = []
    for v in sorted(set(values)):
        if group and v > group[-1] + tol:
            mean = sum(group) / len(group)
            out.update((g, mean) for g in group)
            group = []
        group.append(v)
    if group:
        mean = sum(group) / len(group)
        out.update((g, mean) for g in group)
    return out


def _merge(edges: list[_Edge], tol: float = _SNAP) -> list[_Edge]:
    """Snap edges lying within `tol` of one line (their third value) onto it, join the collinear ones that
    overlap or nearly touch, and keep those at least `tol` long: (start, end, position) each."""
    where = _snap([e[2] for e in edges], tol)
    lines: dict[float, list[tuple[float, float]]] = {}
    for lo, hi, at in edges:
        lines.setdefault(where[at], []).append((lo, hi))
    out = []
    for at, spans in lines.items():
        spans.sort()
        lo, hi = spans[0]
        for a, b in spans[1:]:
            if a <= hi + tol:
                hi = max(hi, b)
            else:
                out.append((lo, hi, at))
                lo, hi = a, b
        out.append((lo, hi, at))
    return [e for e in out if e[1] - e[0] >= tol]


def _grid_tables(h_edges: list[_Edge], v_edges: list[_Edge], tol: float = _SNAP) -> list[list[_Cell]]:
    """The tables a page's rules draw (pdfplumber's "lines" strategy): each a list of cells — the smallest
    rectangles whose four corners are rule crossings joined by rules — grouped by shared corners, tables
    sorted top to bottom, each with at least two cells."""
    hs = _merge(h_edges, tol)  # (x0, x1, y)
    vs = [(t, b, x) for t, b, x in _merge([(t, b, x) for x, t, b in v_edges], tol)]  # (top, bottom, x)
    crossings: dict[tuple[float, float], tuple[set[int], set[int]]] = {}
    for vi, (top, bottom, x) in enumerate(vs):
        for hi, (x0, x1, y) in enumerate(hs):
            if top - tol <= y <= bottom + tol and x0 - tol <= x <= x1 + tol:
                v_set, h_set = crossings.setdefault((x, y), (set(), set()))
                v_set.add(vi)
                h_set.add(hi)
    if len(crossings) < 4:
        return []
    by_x: dict[float, list[float]] = {}
    by_y: dict[float, list[float]] = {}
    for x, y in crossings:
        by_x.setdefault(x, []).append(y)
        by_y.setdefault(y, []).append(x)
    for values in (*by_x.values(), *by_y.values()):
        values.sort()

    def joined(p: tuple[float, float], q: tuple[float, float]) -> bool:
        """Whether one rule runs through both crossings (same x: a vertical one; same y: a horizontal one)."""
        k = 0 if p[0] == q[0] else 1
        return bool(crossings[p][k] & crossings[q][k])

    cells: list[_Cell] = []
    for x, y in sorted(crossings):
        below = [(x, y2) for y2 in by_x[x] if y2 > y]
        right = [(x2, y) for x2 in by_y[y] if x2 > x]
        found = None
        for b in below:
            if not joined((x, y), b):
                continue
            for r in right:
                if not joined((x, y), r):
                    continue
                corner = (r[0], b[1])
                if corner in crossings and joined(corner, r) and joined(corner, b):
                    found = (x, y, r[0], b[1])
                    break
            if found:
                break
        if found:
            cells.append(found)
    tables: list[list[_Cell]] = []
    rest = cells
    while rest:  # group cells that share a corner
        corners: set[tuple[float, float]] = set()
        group: list[_Cell] = []
        grew = True
        while grew:
            grew = False
            left = []
            for c in rest:
                mine = ((c[0], c[1]), (c[0], c[3]), (c[2], c[1]), (c[2], c[3]))
                if not group or any(k in corners for k in mine):
                    group.append(c)
                    corners.update(mine)
                    grew = True
                else:
                    left.append(c)
            rest = left
        tables.append(group)
    tables.sort(key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in tables if len(t) > 1]


#: A character of the text page: text, x0, x1, top, bottom (points from the page's top left, loose box).
_Char = tuple[str, float, float, float, float]


def _page_chars(textpage: Any, height: float, area: _Cell) -> list[_Char]:
    """The characters of a text page whose centres lie in `area`, in the text page's order (the content
    stream's), without spaces and line ends (`_cell_text` puts spaces where the gaps are)."""
    import pypdfium2.raw as pdfium_c

    loose_box = pdfium_c.FPDFText_GetLooseCharBox
    rect = pdfium_c.FS_RECTF()
    ref = ctypes.byref(rect)
    ax0, atop, ax1, abottom = area
    n = pdfium_c.FPDFText_CountChars(textpage)
    buf = (ctypes.c_ushort * (n + 1))()
    got = pdfium_c.FPDFText_GetText(textpage, 0, n, buf)
    codes: Any = buf[:max(0, got - 1)]  # UTF-16: one unit a character unless some lie outside the BMP
    if len(codes) != n or any(0xD800 <= u < 0xE000 for u in codes):
        codes = [pdfium_c.FPDFText_GetUnicode(textpage, i) for i in range(n)]
    out: list[_Char] = []
    for i, u in enumerate(codes):
        if u in (0x0D, 0x0A, 0x00, 0x20) or not loose_box(textpage, i, ref):
            continue
        x0, x1, top, bottom = rect.left, rect.right, height - rect.top, height - rect.bottom
        if ax0 <= (x0 + x1) / 2 < ax1 and atop <= (top + bottom) / 2 < abottom:
            out.append((chr(u), x0, x1, top, bottom))
    return out


def _cell_text(chars: list[_Char]) -> str:
    """The text of one cell's characters in content order: a new line where a character is not beside the
    previous one (no vertical overlap with its line, or back to the left), a space for a gap over 3 pt."""
    parts: list[str] = []
    line_top = line_bottom = prev_x1 = 0.0
    for k, (ch, x0, x1, top, bottom) in enumerate(chars):
        cy = (top + bottom) / 2
        if k and (cy < line_top or cy > line_bottom or x1 < prev_x1 - 1.0):
            parts.append("\n")
            line_top, line_bottom = top, bottom
        elif not k:
            line_top, line_bottom = top, bottom
        elif x0 - prev_x1 > _SNAP and ch != " " and parts[-1] != " ":
            parts.append(" ")
        parts.append(ch)
        prev_x1 = x1
    return "".join(parts)


def _page_tables(textpage: Any, height: float, h_edges: list[_Edge], v_edges: list[_Edge]
                 ) -> list[tuple[tuple[str | None, ...], ...]]:
    """Read the ruled tables of a page (see `_grid_tables`): rows top to bottom, columns left to right, a cell
    spanning several columns or rows given once (None where it continues), cells normalised (see `_cell`),
    rows without text dropped; tables with at least two rows and two columns."""
    from bisect import bisect_right

    found = _grid_tables(h_edges, v_edges)
    if not found:
        return []
    area = (min(c[0] for t in found for c in t), min(c[1] for t in found for c in t),
            max(c[2] for t in found for c in t), max(c[3] for t in found for c in t))
    chars = _page_chars(textpage, height, area)
    out = []
    for cells in found:
        xs = sorted({c[0] for c in cells} | {c[2] for c in cells})
        ys = sorted({c[1] for c in cells} | {c[3] for c in cells})
        slot: dict[tuple[int, int], int] = {}
        for k, (x0, top, x1, bottom) in enumerate(cells):
            for i in range(xs.index(x0), xs.index(x1)):
                for j in range(ys.index(top), ys.index(bottom)):
                    slot.setdefault((i, j), k)
        inside: list[list[_Char]] = [[] for _ in cells]
        for c in chars:
            cx, cy = (c[1] + c[2]) / 2, (c[3] + c[4]) / 2
            if xs[0] <= cx < xs[-1] and ys[0] <= cy < ys[-1]:
                k = slot.get((bisect_right(xs, cx) - 1, bisect_right(ys, cy) - 1))
                if k is not None:
                    inside[k].append(c)
        columns = sorted({c[0] for c in cells})
        rows: dict[float, dict[float, int]] = {}
        for k, c in enumerate(cells):
            rows.setdefault(c[1], {})[c[0]] = k
        table = []
        for top in sorted(rows):
            row = tuple(_cell(_cell_text(inside[k])) if (k := rows[top].get(x)) is not None else None
                        for x in columns)
            if any(row):
                table.append(row)
        if len(table) >= 2 and max(len(r) for r in table) >= 2:
            out.append(tuple(table))
    return out


def _open_pdf(path: Path) -> Any:
    import pypdfium2 as pdfium

    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as exc:
        raise ExtractionError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        raise ExtractionError(f"{path}: empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise ExtractionError(f"{path}: not a PDF (no %PDF- header in the first 1 KB; starts with {head[:8]!r})")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise ExtractionError(f"{path}: encrypted PDF (password required); decrypt it and add it again") from exc
        if "security" in msg.lower():
            raise ExtractionError(f"{path}: encrypted PDF with an unsupported security handler") from exc
        raise ExtractionError(f"{path}: corrupt or unreadable PDF ({msg})") from exc


@dataclass(frozen=True)
class PdfText:
    """What `read_pdf` found: the pages, warnings, the pages whose ruled lines may form a table, per page the
    margin lines removed from its text (page numbers, running headers/footers; for measuring fidelity), and the
    ruled tables read from PDFium (with `extract.tables: pdfium`)."""

    pages: tuple[Page, ...]
    warnings: tuple[str, ...]
    table_pages: tuple[int, ...]
    margins: tuple[tuple[str, ...], ...]
    tables: tuple[Table, ...] = ()


def pages(path: Path | str, settings: ExtractSettings | None = None) -> tuple[Page, ...]:
    """Extract each page of a PDF: pypdfium2 text in reading order, page numbers and running headers removed,
    quality gates, OCR for pages that fail them or are images (see the module docstring)."""
    return read_pdf(Path(path), settings or ExtractSettings()).pages


def read_pdf(path: Path, settings: ExtractSettings) -> PdfText:
    """Read a PDF's pages (see `pages`) and what else extraction found on them (see PdfText)."""
    import pypdfium2 as pdfium

    pdf = _open_pdf(path)
    try:
        try:
            n = len(pdf)
        except pdfium.PdfiumError as exc:
            raise ExtractionError(f"{path}: corrupt PDF ({exc})") from exc
        if n == 0:
            raise ExtractionError(f"{path}: PDF has no pages")
        held: list[Any] = []  # the previous page stays loaded: its fonts stay parsed for the next page (~10%)
        try:
            raws = [_raw_page(pdf, i, settings, held) for i in range(n)]
        finally:
            _close_pages(held)
        if settings.layout:
            _strip_margins(raws, settings.drop_running_headers)
        cjk = letters = 0
        for p in raws:
            if p.reason is None:
                c, t = _letter_cjk(p.raw)
                cjk, letters = cjk + c, letters + t
        chinese = letters > 0 and cjk / letters >= 0.5
        done: dict[int, tuple[Page, str | None]] = {}
        todo = []
        for p in raws:
            text, reason = _text_verdict(p, chinese, settings)
            if reason is None:
                done[p.n] = Page(p.n, text, "text", "ok" if text else "empty"), None
            else:
                todo.append((p.n, text, reason))
        for page, warning in _ocr_pages(path, todo, settings):
            done[page.n] = page, warning
        out = [done[p.n][0] for p in raws]
        warnings = [w for p in raws if (w := done[p.n][1])]
        table_pages = tuple(p.n for p in raws if p.table and p.reason is None)
        found = tuple(Table(p.n, rows) for p in raws if p.reason is None for rows in p.tables)
        return PdfText(tuple(out), tuple(warnings), table_pages, tuple(tuple(p.removed) for p in raws), found)
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - pdfium/ctypes on a damaged file: translate at the boundary
        raise ExtractionError(f"{path}: corrupt PDF ({type(exc).__name__}: {exc})") from exc
    finally:
        pdf.close()


def _few_cjk(text: str, n: int) -> bool:
    """Whether `text` has fewer than `n` CJK ideographs (stops counting at `n`)."""
    for k, _m in enumerate(_CJK_RE.finditer(text), 1):
        if k >= n:
            return False
    return True


def _close_pages(held: list[Any]) -> None:
    import pypdfium2.raw as pdfium_c

    while held:
        pdfium_c.FPDF_ClosePage(held.pop())


def _raw_page(pdf: Any, i: int, settings: ExtractSettings, held: list[Any]) -> _RawPage:
    """Read one page with raw pdfium calls (no helper objects: this is the hot loop of extraction). The page is
    left loaded in `held` (the one held before is closed); the caller closes the last one."""
    import pypdfium2.raw as pdfium_c

    page = pdfium_c.FPDF_LoadPage(pdf.raw, i)
    _close_pages(held)
    if not page:
        return _RawPage(i + 1, [], 0.0, reason=f"page cannot be loaded (PDFium error {pdfium_c.FPDF_GetLastError()})")
    held.append(page)
    try:
        width, height = pdfium_c.FPDF_GetPageWidthF(page), pdfium_c.FPDF_GetPageHeightF(page)
        layout = settings.layout and pdfium_c.FPDFPage_GetRotation(page) == 0
        textpage = pdfium_c.FPDFText_LoadPage(page)
        if not textpage:
            return _RawPage(i + 1, [], 0.0, reason="text of the page cannot be read (PDFium text page failed)")
        try:
            n = pdfium_c.FPDFText_CountChars(textpage)
            raw = ""
            if n > 0:
                buf = (ctypes.c_ushort * (2 * n + 2))()  # slack: pdfium may write more units than chars
                got = pdfium_c.FPDFText_GetText(textpage, 0, n, buf)
                raw = ctypes.string_at(buf, 2 * max(0, got - 1)).decode("utf-16-le", "ignore")
            lines = _page_lines(textpage, raw, positions=layout)
            if layout:
                lines = _reading_order(lines)
            p = _RawPage(i + 1, lines, height if layout else 0.0)
            p.reason = _gate(p.raw)
            images = p.reason is None and _few_cjk(raw, 10)
            rules = settings.tables != TableReader.none and p.reason is None
            if images or rules:
                p.image_share, h_edges, v_edges = _scan_objects(page, width, height, images, rules)
                p.table = len(h_edges) >= 3 and len(v_edges) >= 3
                if p.table and settings.tables == TableReader.pdfium:
                    p.tables = _page_tables(textpage, height, h_edges, v_edges)
        finally:
            pdfium_c.FPDFText_ClosePage(textpage)
        return p
    except BaseException:
        _close_pages(held)
        raise


@functools.cache
def _ocr_available(engine: OcrEngine, language: str) -> bool:
    from pipeline import ocr

    ok = ocr.available(engine, language)
    if not ok:
        log.warning("%s: pages that need OCR are marked needs_ocr", ocr.missing(engine, language))
    return ok


def _text_verdict(p: _RawPage, chinese: bool, settings: ExtractSettings) -> tuple[str, str | None]:
    """A page's normalised text layer and why it needs OCR (None: it does not), with the document-level gate
    (too few CJK letters on a page of a Chinese document) and the image-only test."""
    text = normalise(p.raw) if p.reason is None else ""
    reason = p.reason
    if reason is None and chinese and text:
        c, t = _letter_cjk(text)
        if t >= 20 and c / t < settings.min_cjk_share:
            reason = f"only {c / t:.0%} CJK letters on a page of a Chinese document"
            text = ""
    if reason is None and p.image_share >= settings.ocr_min_image_share:
        reason = f"image-only page ({p.image_share:.0%} of the page is images, {len(text)} characters of text)"
    return text, reason


def _needs_ocr(n: int, text: str) -> Page:
    """A page that needed OCR and did not get it: its text layer, if any passed the gates, marked needs_ocr."""
    return Page(n, text, "text" if text else "none", "needs_ocr")


def _ocr_pages(path: Path, todo: list[tuple[int, str, str]], settings: ExtractSettings
               ) -> list[tuple[Page, str | None]]:
    """OCR the pages that need it — (page number, text-layer text, reason) each — in parallel (pipeline/ocr.py);
    each becomes a Page and a warning (None when all went well). OCR output is normalised like a text layer."""
    if settings.ocr == OcrEngine.none or not _ocr_available(settings.ocr, settings.ocr_language):
        from pipeline import ocr

        why = "off (extract.ocr: none)" if settings.ocr == OcrEngine.none else \
            f"unavailable: {ocr.missing(settings.ocr, settings.ocr_language)}"
        return [(_needs_ocr(n, text), f"page {n}: {reason}; needs OCR but OCR is {why}") for n, text, reason in todo]
    from pipeline import ocr

    out = []
    found = ocr.pages_text(str(path), [n for n, _t, _r in todo], settings)
    for (n, text, reason), got in zip(todo, found):
        if isinstance(got, ExtractionError):
            out.append((_needs_ocr(n, text), f"page {n}: {reason}; OCR failed: {got}"))
            continue
        got = normalise(got)
        if _gate(got) or not got.strip():
            if text:
                out.append((Page(n, text, "text", "ok"),
                            f"page {n}: {reason}; OCR found no usable text, text layer kept"))
            else:
                out.append((Page(n, "", "ocr", "empty"), f"page {n}: {reason}; OCR found no text"))
            continue
        log.info("page %d OCR'd: %s", n, reason)
        out.append((Page(n, got, "ocr", "ocr"), None))
    return out


def tables(path: Path | str, page_numbers: tuple[int, ...] | None = None) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    """Read ruled tables with pdfplumber from the given pages (1-based; all when None). Returns the tables
    (≥ 2 rows and ≥ 2 columns, cells normalised, None for empty cells) and warnings for pages that failed."""
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # pdfminer warns once per glyph of a broken font
    path = Path(path)
    out: list[Table] = []
    warnings: list[str] = []
    try:  # only the pages asked for are parsed
        pdf = pdfplumber.open(str(path), pages=list(page_numbers) if page_numbers is not None else None)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types; tables are optional, say why
        return (), (f"tables not read: {type(exc).__name__}: {exc}",)
    with pdf:
        try:
            plumber_pages = pdf.pages
        except Exception as exc:  # noqa: BLE001 - as above
            return (), (f"tables not read: {type(exc).__name__}: {exc}",)
        for page in plumber_pages:
            n = page.page_number
            try:
                found = page.extract_tables()
            except Exception as exc:  # noqa: BLE001 - as above, per page
                warnings.append(f"page {n}: tables not read ({type(exc).__name__}: {exc})")
                continue
            for rows in found:
                clean = tuple(tuple(_cell(c) for c in row) for row in rows if any(c and c.strip() for c in row))
                if len(clean) >= 2 and max(len(r) for r in clean) >= 2:
                    out.append(Table(n, clean))
    return tuple(out), tuple(warnings)


def _cell(value: str | None) -> str | None:
    if value is None:
        return None
    if "\n" not in value and "\r" not in value:  # one line: what normalise would do to it, without its line work
        return _clean(value).strip() or None
    text = normalise(value, drop_page_numbers=False)
    joined = re.sub(f"(?<=[{_CJK}])\n(?=[{_CJK}])", "", text).replace("\n", " ").strip()
    return joined or None


# -- other formats -------------------------------------------------------------------------------------------

def read_text_file(path: Path | str) -> str:
    """Read a text file, detecting UTF-8, UTF-16 (with a BOM), GB18030/GBK/GB2312 or, failing those, the best
    guess of charset-normalizer. Binary data raises ExtractionError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"{path}: UTF-16 byte-order mark but invalid UTF-16 ({exc.reason})") from exc
    if b"\x00" in data[:4096]:
        raise ExtractionError(f"{path}: binary data (NUL bytes), not a text file")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig" or not _implausible(text):
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError(f"{path}: cannot detect the text encoding (not UTF-8, GB18030 or another known one)")
    return str(best)


def _implausible(text: str) -> bool:
    """Whether GB18030-decoded text looks like a wrong guess (rare CJK blocks, private-use, controls)."""
    sample = text[:20000]
    if not sample:
        return False
    odd = sum(1 for c in sample if "\u3400" <= c <= "\u4dbf" or _PUA.match(c) or _CONTROL.match(c))
    return odd > 0.02 * len(sample)


def _html_text(path: Path) -> tuple[str, str]:
    import trafilatura

    html = read_text_file(path)
    try:
        text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=True) or ""
        if not text.strip():  # a short page trafilatura does not trust: take its plain text instead
            text = trafilatura.extract(html, include_comments=False, include_tables=True,
                                       favor_recall=True) or trafilatura.html2txt(html) or ""
        meta = trafilatura.extract_metadata(html)
    except Exception as exc:  # noqa: BLE001 - lxml/trafilatura raise many types on broken markup
        raise ExtractionError(f"{path}: HTML cannot be parsed ({type(exc).__name__}: {exc})") from exc
    title = (meta.title if meta and meta.title else "") or ""
    return text, title


def _docx_text(path: Path) -> str:
    """Paragraphs and table rows of a DOCX in body order (table cells joined by tabs)."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExtractionError(f"{path}: encrypted DOCX or legacy .doc (OLE container); save it as .docx without "
                              f"a password")
    if not head.startswith(b"PK"):
        raise ExtractionError(f"{path}: not a DOCX (not a ZIP container; starts with {head!r})")
    import docx
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    try:
        d = docx.Document(str(path))
        parts = []
        for block in d.iter_inner_content():
            if isinstance(block, Paragraph):
                parts.append(block.text)
            elif isinstance(block, DocxTable):
                for row in block.rows:
                    parts.append("\t".join(c.text.replace("\n", " ") for c in row.cells))
        return "\n".join(parts)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractionError(f"{path}: corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many unrelated types for broken files
        raise ExtractionError(f"{path}: not a readable DOCX ({type(exc).__name__}: {exc})") from exc


_TITLE_MAX = 80
#: What an official document calls itself at the end of its title.
_DOC_TYPES = "通知|意见|办法|决定|规定|方案|报告|通报|批复|函|公告|规则|细则|纪要"
_TITLE_HINT = re.compile(rf"^(?:[^，。：；\s]{{2,30}}?)?关于.{{2,90}}({_DOC_TYPES})$")
_NOT_TITLE = re.compile(r"(文件|〔\d{4}〕\d+号|\[\d{4}\]\d+号)$|^附件\d*$|^[\d\s\-—年月日]+$")


#: A news-release headline: no sentence end, names an event (the first such line among the first few).
_HEADLINE = re.compile(r"^[^。！？；]{6,60}$")
_HEADLINE_EVENT = re.compile(r"会议|召开|举行|举办|签署|签订|联席|座谈|协议|备忘录|启动|发布|成立|部署|通知|公报")
#: An issuer line above the headline (a body's name alone), not a title.
_ISSUER = re.compile(r"^.{2,20}(部|委员会|委|办公室|办|厅|局|署|政府|秘书处|编辑部|新闻中心|公司|集团|中心|小组)$")


#: The end of a complete title: its document type or a closing bracket.
_TITLE_END = re.compile(rf"({_DOC_TYPES}|条例|规划|清单|标准|指南|表|）|\)|》|”)$")
#: A heading that starts the body (第一章 总则, 一、, （一）, 1.).
_SECTION_HEAD = re.compile(r"^(?:第[一二三四五六七八九十百\d]+[章节条部分]|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.、])")
#: A line that cannot be part of a title: sentence punctuation, an addressee (住房城乡建设部：), a date line.
_NOT_TITLE_PART = re.compile(r"[。；：:，]|^[\d\s〇零一二三四五六七八九十年月日号]+$")


def _title_lines(text: str) -> list[str]:
    """The first lines of a document with a wrapped title joined: a title set in a large font breaks where the
    line is full (长三角城市经济协调会第十二次市长联席会议在台 / 州举行), so a line without sentence punctuation is
    joined with the next when that one is no longer and neither is an issuer, 文号 or date line."""
    lines = [x.strip() for x in text.split("\n")[:30] if x.strip()]
    out: list[str] = []
    last = ""  # the last physical line of out[-1]
    for line in lines:
        if out and _wraps(last, line) and len(out[-1]) + len(line) <= _TITLE_MAX:
            out[-1] += line
        else:
            out.append(line)
        last = line
    return out


def _wraps(last: str, line: str) -> bool:
    """Whether `line` continues a title line `last` that broke where it was full."""
    if len(last) < 12 or len(line) > len(last) + 2 or cjk_share(last) < 0.6 or cjk_share(line) < 0.6:
        return False
    if any(_NOT_TITLE_PART.search(x) or _NOT_TITLE.search(x) for x in (last, line)) or _ISSUER.match(last) \
            or _ISSUER.match(line) or _SECTION_HEAD.match(line):
        return False
    if _TITLE_END.search(last):  # 管理办法 / （征求意见稿）: only a bracketed addition goes on
        return line.startswith("（")
    return True


def _title_from(text: str, fallback: str) -> str:
    lines = _title_lines(text)
    for line in lines:
        if _TITLE_HINT.match(line):
            return line
    for line in lines[:5]:
        if _HEADLINE.match(line) and _HEADLINE_EVENT.search(line) and not _NOT_TITLE.search(line) \
                and not _ISSUER.match(line):
            return line
    for line in lines:
        if 4 <= len(line) <= _TITLE_MAX and not _NOT_TITLE.search(line):
            return line
    for line in lines:
        if len(line) > _TITLE_MAX and not _NOT_TITLE.search(line):
            return line[:_TITLE_MAX]
    return fallback


@functools.cache
def load_converter(config: str = "t2s") -> Any:
    """The OpenCC converter (traditional → simplified by default), built once per process."""
    from opencc import OpenCC

    return OpenCC(config)


@functools.cache
def load_traditional_characters() -> frozenset[str]:
    """The characters OpenCC's t2s character table changes (read once per process from its dictionary)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _tab, values = line.partition("\t")
        if len(key) == 1 and values.split(" ")[0] != key:
            out.add(key)
    return frozenset(out)


def is_traditional(text: str, sample: int = 4000) -> bool:
    """Whether `text` is mostly traditional Chinese: ≥ 5% of a sample of its CJK characters change under t2s."""
    cjk = "".join(_CJK_RE.findall(text))[:sample]
    if len(cjk) < 20:
        return False
    traditional = load_traditional_characters()
    if sum(1 for c in cjk if c in traditional) < 0.05 * len(cjk):
        return False  # t2s changes (almost) only these characters: skip the slow conversion
    converted = load_converter().convert(cjk)
    changed = sum(1 for a, b in zip(cjk, converted) if a != b)
    return changed >= 0.05 * len(cjk)


def _simplified(doc: Document, settings: ExtractSettings) -> Document:
    """Convert a mostly traditional document to simplified, keeping the original text."""
    if not settings.traditional_to_simplified or not is_traditional(doc.text):
        return doc
    conv = load_converter()
    pages = tuple(Page(p.n, conv.convert(p.text), p.method, p.quality) for p in doc.pages)
    tables = tuple(Table(t.page, tuple(tuple(conv.convert(c) if c else c for c in r) for r in t.rows))
                   for t in doc.tables)
    text = conv.convert(doc.text)
    return Document(doc.doc_id, doc.source, conv.convert(doc.title), doc.date, text, pages, doc.kind,
                    doc.extraction, doc.warnings + ("traditional Chinese converted to simplified (OpenCC t2s)",),
                    tables, doc.text, doc.external_id)


def _join_pages(texts: list[str]) -> str:
    out = ""
    for t in texts:
        if not t:
            continue
        if out and _joins(out.rsplit("\n", 1)[-1], 0.0, t, 0.0):
            out += t
        else:
            out = f"{out}\n{t}" if out else t
    return out


def document(source: Source, record: dict[str, Any] | None = None,
             settings: ExtractSettings | None = None) -> Document:
    """Extract one source into a Document. `record` is the parsed JSON object of a JSON Lines source."""
    settings = settings or ExtractSettings()
    path = Path(source.path)
    if source.kind == "jsonl-record":
        if not isinstance(record, dict):
            raise ExtractionError(f"{path}:{source.record}: JSON Lines record missing")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ExtractionError(f"{path}: record {source.record}: no 'text' field with content "
                                  f"(expected a non-empty string, got {type(text).__name__})")
        body = normalise(text)
        if not body.strip():
            raise ExtractionError(f"{path}: record {source.record}: 'text' has no readable characters")
        title = record.get("title")
        doc = Document(
            doc_id=source.doc_id, source=str(path),
            title=normalise(title) if isinstance(title, str) and title.strip() else _title_from(body, ""),
            date=_iso_date(record.get("date")), text=body, pages=(Page(1, body),), kind=source.kind,
            external_id=str(record["id"]) if record.get("id") is not None else None,
        )
        return _simplified(doc, settings)
    if not path.exists():
        raise ExtractionError(f"{path}: file not found")
    if path.is_dir():
        raise ExtractionError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise ExtractionError(f"{path}: empty file (0 bytes)")
    if source.kind == "pdf":
        return _simplified(_pdf_document(source, path, settings), settings)
    if source.kind == "html":
        raw, title = _html_text(path)
    elif source.kind == "docx":
        raw, title = _docx_text(path), ""
    elif source.kind == "txt":
        raw, title = read_text_file(path), ""
    elif source.kind in convert.KINDS:  # office formats, read from a converted copy (pipeline/convert.py)
        with convert.converted(path, source.kind, settings) as (kind, copy):
            raw, title = (_docx_text(copy) if kind == "docx" else read_text_file(copy)), ""
    else:
        raise ExtractionError(f"{path}: unsupported kind {source.kind!r} (expected pdf, html, docx, txt or "
                              f"jsonl-record)")
    reason = _gate(raw)
    if reason:
        raise ExtractionError(f"{path}: text is garbled ({reason})")
    text = normalise(raw)
    if not text.strip():
        raise ExtractionError(f"{path}: no text found")
    doc = Document(source.doc_id, str(path), normalise(title) or _title_from(text, path.stem), None, text,
                   (Page(1, text),), source.kind)
    return _simplified(doc, settings)


def _ocr_hint(settings: ExtractSettings) -> str:
    """What to do about a document whose pages all need OCR."""
    from pipeline import ocr

    if settings.ocr == OcrEngine.none:
        return "a scan or broken fonts: set extract.ocr: rapidocr (or tesseract) in config.yaml"
    return f"a scan or broken fonts and OCR is unavailable: {ocr.missing(settings.ocr, settings.ocr_language)}"


def _pdf_document(source: Source, path: Path, settings: ExtractSettings) -> Document:
    result = read_pdf(path, settings)
    pgs = result.pages
    text = _join_pages([p.text for p in pgs])
    if not text.strip():
        qualities = ", ".join(f"{q} {n}" for q, n in sorted(Counter(p.quality for p in pgs).items()))
        raise ExtractionError(
            f"{path}: no usable text on any of its {len(pgs)} pages ({qualities}); "
            + (_ocr_hint(settings) if any(p.quality == "needs_ocr" for p in pgs)
               else "the pages are blank or unreadable"))
    methods = {p.method for p in pgs if p.text}
    extraction = "mixed" if len(methods) > 1 else (methods.pop() if methods else "none")
    warnings = list(result.warnings)
    found = result.tables
    if settings.tables == TableReader.pdfplumber and result.table_pages:
        found, table_warnings = tables(path, result.table_pages)
        warnings.extend(table_warnings)
    return Document(source.doc_id, str(path), _title_from(text, path.stem), None, text, pgs, "pdf",
                    extraction, tuple(warnings), found)


_DATE = re.compile(r"(\d{4})\D?(\d{1,2})\D?(\d{1,2})")


def _iso_date(value: Any) -> str | None:
    if not value:
        return None
    m = _DATE.search(str(value))
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"
