"""Chinese date expressions → ISO dates, with offsets, resolved against a reference date when relative."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

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
