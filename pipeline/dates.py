"""Chinese date expressions → ISO dates, with offsets, resolved against a reference date when relative."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.records import SourceMeta

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9, "两": 2}
_NUM = r"[0-9０-９〇零○一二三四五六七八九十两]"


def cn_number(s: str) -> int | None:
    """Read an integer written in Arabic or Chinese numerals (十九 → 19, 二〇一九 → 2019, 一百零二 → 102)."""
    s = s.strip()
    if not s:
        return None
    s = s.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if s.isdigit():
        return int(s)
    if all(c in _CN_DIGITS for c in s):  # digit by digit: 二〇一九
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    total, section, num = 0, 0, 0
    units = {"十": 10, "百": 100, "千": 1000}
    for c in s:
        if c in _CN_DIGITS:
            num = _CN_DIGITS[c]
        elif c in units:
            section += (num or 1) * units[c]
            num = 0
        elif c == "万":
            total += (section + num) * 10000
            section, num = 0, 0
        else:
            return None
    return total + section + num


@dataclass(frozen=True, slots=True)
class DateMention:
    iso: str
    start: int
    end: int
    text: str
    relative: bool = False


_FULL = re.compile(rf"({_NUM}{{4}})\s*年\s*({_NUM}{{1,3}})\s*月\s*({_NUM}{{1,3}})\s*[日号]")
_MONTH_DAY = re.compile(rf"(?<![年{_NUM[1:-1]}])({_NUM}{{1,3}})\s*月\s*({_NUM}{{1,3}})\s*[日号]")
_DAY = re.compile(r"(?<![月\d年])(\d{1,2})\s*[日号](?![本报])")
_RELATIVE = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1}
#: 去年10月5日, 今年3月2日 (a year named relative to the reference), 上月18日, 本月3日 (a month so named).
_REL_YEAR = re.compile(rf"(去年|今年|前年)\s*({_NUM}{{1,3}})\s*月\s*({_NUM}{{1,3}})\s*[日号]")
_REL_MONTH = re.compile(rf"(上月|上个月|本月|这个月)\s*({_NUM}{{1,3}})\s*[日号]")


def _valid(y: int | None, m: int | None, d: int | None) -> str | None:
    try:
        return dt.date(y, m, d).isoformat() if y and m and d else None
    except ValueError:
        return None


def find_dates(text: str, reference: str | None = None) -> list[DateMention]:
    """Find date expressions in order of appearance; month-day, day-only and relative forms (今天, 18日) are
    resolved against `reference` (ISO) when given, and skipped otherwise."""
    ref = dt.date.fromisoformat(reference) if reference else None
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _FULL.finditer(text):
        iso = _valid(cn_number(m.group(1)), cn_number(m.group(2)), cn_number(m.group(3)))
        if iso:
            found.append(DateMention(iso, m.start(), m.end(), m.group(0)))
            taken.append((m.start(), m.end()))
    if ref:
        for m in _REL_YEAR.finditer(text):
            back = {"今年": 0, "去年": 1, "前年": 2}[m.group(1)]
            iso = _valid(ref.year - back, cn_number(m.group(2)), cn_number(m.group(3)))
            if iso:
                found.append(DateMention(iso, m.start(), m.end(), m.group(0), True))
                taken.append((m.start(), m.end()))
        for m in _REL_MONTH.finditer(text):
            month = ref.replace(day=1) - dt.timedelta(days=1) if m.group(1).startswith("上") else ref
            iso = _valid(month.year, month.month, cn_number(m.group(2)))
            if iso:
                found.append(DateMention(iso, m.start(), m.end(), m.group(0), True))
                taken.append((m.start(), m.end()))
        for m in _MONTH_DAY.finditer(text):
            if not free(m.start(), m.end()):
                continue
            mo, d = cn_number(m.group(1)), cn_number(m.group(2))
            year = ref.year if mo and mo <= ref.month + 1 else ref.year - 1
            iso = _valid(year, mo, d)
            if iso:
                found.append(DateMention(iso, m.start(), m.end(), m.group(0), True))
                taken.append((m.start(), m.end()))
        for m in _DAY.finditer(text):
            if not free(m.start(), m.end()):
                continue
            d = int(m.group(1))
            iso = _valid(ref.year, ref.month, d) if d <= ref.day + 1 else None
            if iso is None and d > ref.day:  # a day later than the broadcast: last month
                prev = ref.replace(day=1) - dt.timedelta(days=1)
                iso = _valid(prev.year, prev.month, d)
            if iso:
                found.append(DateMention(iso, m.start(), m.end(), m.group(0), True))
                taken.append((m.start(), m.end()))
        for word, delta in _RELATIVE.items():
            for m in re.finditer(word, text):
                if free(m.start(), m.end()):
                    found.append(DateMention((ref + dt.timedelta(days=delta)).isoformat(), m.start(), m.end(),
                                             word, True))
                    taken.append((m.start(), m.end()))
    found.sort(key=lambda x: x.start)
    return found


# -- the date of a document ----------------------------------------------------------------------------------
#: A full date in digits with separators (2019-03-05, 2019.3.5, 2019/03/05): read only where a label announces a
#: date (发布日期：…) or alone on a line, never in running text (version numbers, figures).
_NUMERIC = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})(?!\d)")
#: Labels that announce the document's own date.
_LABEL = re.compile(r"(?:成文|印发|发布|发文|签发|公布|发稿)(?:日期|时间)\s*[:：]?\s*")
#: A date followed by what was done that day to the document itself (印发, 发布…).
_ISSUED_AFTER = re.compile(r"^\s*(?:印发|发布|公布|签发|通过|施行)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年")
#: What follows a year that names a plan for it: the text was written the year before.
_PLAN = re.compile(r"[^。；，,]{0,12}?(?:工作要点|重点工作|工作计划|工作安排|行动计划)")
_LINE_DATE_MAX_EXTRA = 6  # characters besides the date on a signature or header line (brackets, 印发)


@dataclass(frozen=True, slots=True)
class TextDate:
    """The date a document gives itself and how it was found: `how` is label (成文日期：…), signature (a date
    line among the last lines: the 落款), title (a date in brackets in or after the title), header (a date line
    under the red header), issued (a date followed by 印发/发布), lead (the first full date of the text) or year
    (only a year is named; `warning` says so)."""

    iso: str
    how: str
    warning: str | None = None


def _full_dates(text: str, numeric: bool) -> list[DateMention]:
    """Full dates in Chinese (二〇一九年十月十五日, 2019年3月5日) and, with `numeric`, digits (2019-03-05)."""
    found = find_dates(text)
    if numeric:
        for m in _NUMERIC.finditer(text):
            iso = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if iso and all(m.end() <= d.start or m.start() >= d.end for d in found):
                found.append(DateMention(iso, m.start(), m.end(), m.group(0)))
    return sorted(found, key=lambda d: d.start)


def _date_line(line: str) -> str | None:
    """The date of a line that is a date and little else (二〇一九年十月十五日, （2019年3月5日）, 2019年3月5日印发)."""
    stripped = line.strip().strip("（）()[]【】〔〕 ")
    dates = _full_dates(stripped, numeric=True)
    if len(dates) != 1:
        return None
    d = dates[0]
    return d.iso if len(stripped) - len(d.text) <= _LINE_DATE_MAX_EXTRA else None


def text_date(text: str, title: str = "") -> TextDate | None:
    """The date a document gives itself, from the most to the least telling place: a labelled date (成文日期：,
    发布时间：), the 落款 (a date line among the last eight lines), a date in brackets in or right after the title,
    a date line under the red header (the first eight lines), a date followed by 印发/发布, the first full date of
    the text (a news lead: the day of the event, near the day of the report); failing all, the year the text
    names most often (latest on a tie; when the text's first month-day is in September or later, a year that
    names a plan, 2019年工作要点, counts as the year before) with the first month-day it gives in that year, else
    1 January."""
    for m in _LABEL.finditer(text):
        d = _full_dates(text[m.end():m.end() + 24], numeric=True)
        if d and d[0].start == 0:
            return TextDate(d[0].iso, "label")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines[max(8, len(lines) - 8):]):  # after the head: a short text's date line is its header
        if (iso := _date_line(line)) is not None:
            return TextDate(iso, "signature")
    for place in (title, *lines[:3]):
        for m in re.finditer(r"[（(]([^（）()]{6,40})[)）]", place or ""):
            d = _full_dates(m.group(1), numeric=True)
            if d and d[0].start == 0:
                return TextDate(d[0].iso, "title")
    for line in lines[:8]:
        if (iso := _date_line(line)) is not None:
            return TextDate(iso, "header")
    dates = _full_dates(text, numeric=False)
    for d in dates:
        if _ISSUED_AFTER.match(text[d.end:d.end + 6]):
            return TextDate(d.iso, "issued")
    if dates:
        return TextDate(dates[0].iso, "lead")
    first_month = next((int(d.iso[5:7]) for d in find_dates(text, "2000-12-31") if d.relative), None)
    late = first_month is not None and first_month >= 9  # next year's plans are made in the last months
    years: dict[str, int] = {}
    for m in _YEAR.finditer(text):  # then a plan for a year (2019年工作要点) is written the year before
        y = str(int(m.group(1)) - 1) if late and _PLAN.match(text, m.end()) else m.group(1)
        years[y] = years.get(y, 0) + 1
    if not years:
        return None
    year = max(years, key=lambda y: (years[y], y))
    relative = find_dates(text, f"{year}-12-31")
    first = next((d.iso for d in relative if d.iso.startswith(year)), f"{year}-01-01")
    return TextDate(first, "year", f"no full date in the text: the document date {first} is inferred from the "
                                   f"year {year} it names")


#: PDF creation dates that tools write when asked for reproducible files, not the document's date.
_PLACEHOLDER_DATES = frozenset({"1970-01-01", "1980-01-01", "2000-01-01"})
_PDF_DATE = re.compile(r"^(?:D:)?((?:19|20)\d\d)(\d\d)(\d\d)")


def pdf_metadata_date(info: dict[str, str], text: str = "") -> str | None:
    """The creation date (else modification date) of a PDF's document information, as an ISO date; None for a
    placeholder (1 January 1970, 1980 or 2000: what reproducible-build tools write) or a date before every year
    the text names (a file made before the events it reports is not its own date)."""
    for key in ("CreationDate", "ModDate"):
        m = _PDF_DATE.match((info.get(key) or "").strip())
        if not m:
            continue
        iso = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso is None or iso in _PLACEHOLDER_DATES:
            continue
        named = [int(y) for y in _YEAR.findall(text) if int(y) <= int(iso[:4]) + 1]
        if _YEAR.findall(text) and not named:
            continue
        return iso
    return None


def read_pdf_info(path: str) -> dict[str, str]:
    """The document information dictionary of a PDF ({} when it cannot be read)."""
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        try:
            return {k: str(v) for k, v in pdf.get_metadata_dict().items() if v}
        finally:
            pdf.close()
    except Exception:  # noqa: BLE001 - the metadata is a last resort: an unreadable one is no date
        return {}


def document_date(text: str, title: str, meta_date: str | None = None, meta_origin: str | None = None,
                  record_date: str | None = None, pdf_info: Callable[[], dict[str, str]] | None = None
                  ) -> tuple[str | None, str, str | None]:
    """(date, date_source, warning) of a document, from the most to the least authoritative: a sidecar's date
    (metadata.csv: the researcher's own statement about the file), the date a JSON Lines record carries, the
    date the text gives itself (`text_date`), the web collector's page date, and as a last resort the PDF's
    creation date (`pdf_metadata_date`). `pdf_info` (reads the PDF's information dictionary) is only called when
    nothing else dates the document."""
    if meta_date and meta_origin == "sidecar":
        return meta_date, "sidecar", None
    if record_date:
        return record_date, "record", None
    found = text_date(text, title)
    if found is not None and found.how != "year":
        return found.iso, "text", None
    if meta_date and meta_origin == "collector":
        return meta_date, "collector", None
    if found is not None:
        return found.iso, "text", found.warning
    if pdf_info is not None and (iso := pdf_metadata_date(pdf_info(), text)):
        return iso, "pdf_metadata", f"no date in the text: the document date {iso} is the PDF's creation date"
    return None, "none", None


# -- sidecar metadata ---------------------------------------------------------------------------------------
#: The sidecar file `jmm run BATCH` reads from BATCH (or `--metadata FILE`).
SIDECAR = "metadata.csv"
#: Column names of a sidecar (any subset besides `file`), with the Chinese headers a collection may use.
_SIDECAR_COLUMNS = {"file": "file", "文件": "file", "文件名": "file", "date": "date", "日期": "date",
                    "发布日期": "date", "成文日期": "date", "url": "url", "网址": "url", "链接": "url",
                    "title": "title", "标题": "title", "issuer": "issuer", "发文机关": "issuer", "发布机构": "issuer"}


def iso_date(value: str) -> str | None:
    """An ISO date from 2019-03-05, 2019/3/5, 2019.03.05, 20190305 or 2019年3月5日 (None otherwise)."""
    value = value.strip()
    if not value:
        return None
    d = find_dates(value)
    if d:
        return d[0].iso
    m = re.match(r"^((?:19|20)\d\d)\s*[-./]?\s*(\d{1,2})\s*[-./]?\s*(\d{1,2})(?:[T\s].*)?$", value)
    return _valid(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def read_metadata(path: Path | str) -> tuple[dict[str, SourceMeta], list[str]]:
    """Read a sidecar metadata.csv (columns file, date, url, title, issuer — any subset besides file; UTF-8 with or
    without BOM, or GB18030 as Excel saves it on a Chinese system). Returns (rows keyed by the file's resolved
    path, problems): `file` is relative to the sidecar's folder (or absolute). A row with a date that cannot be
    read keeps its other fields and is named in the problems; the batch goes on."""
    import csv

    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        return {}, [f"{path}: empty metadata file"]
    names = [_SIDECAR_COLUMNS.get(h.strip().lower(), _SIDECAR_COLUMNS.get(h.strip())) for h in header]
    if "file" not in names:
        return {}, [f"{path}: no 'file' column (found {', '.join(header)}); expected file, date, url, title, issuer"]
    out: dict[str, SourceMeta] = {}
    problems = []
    for n, row in enumerate(reader, 2):
        cells = {k: v.strip() for k, v in zip(names, row) if k and v.strip()}
        if not cells.get("file"):
            continue
        date = None
        if cells.get("date"):
            date = iso_date(cells["date"])
            if date is None:
                problems.append(f"{path} line {n}: date {cells['date']!r} is not a date (expected 2019-03-05); "
                                f"{cells['file']} is dated from its text")
        target = Path(cells["file"])
        key = str((target if target.is_absolute() else path.parent / target).resolve())
        out[key] = SourceMeta("sidecar", date, cells.get("url"), cells.get("title"), cells.get("issuer"))
    return out, problems
