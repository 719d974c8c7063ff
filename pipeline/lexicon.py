"""Shared text patterns of Chinese government prose, and the cue-word lists kept as data.

The character classes (CJK, numerals), sentences, clauses and the headline are defined once here and used by every
stage. Cue words — the verbs that say a body acts, the words of each depth stage, the institutions — live in
`corpora/lexicons/cues.csv` (one row a word: its group, the word, where it comes from), so a researcher can correct a
cue without reading a regex; `load_cues` reads them once per process."""

from __future__ import annotations

import bisect
import csv
import functools
import hashlib
import re
from pathlib import Path

from pipeline.errors import PipelineError

CJK = "\u4e00-\u9fff"
#: Chinese and Arabic numerals as they appear in ordinals and counts (第十九次, 23部门, 两地)
NUM = "0-9０-９一二两三四五六七八九十百零〇"
NUMERAL = f"[{NUM}]+"
CJK_RE = re.compile(f"[{CJK}]")

_SENTENCE_END = re.compile(r"[。！？；\n]")
_CLAUSE_BOUNDARY = re.compile(r"[，。；：！？\n“”《》\s]")
_HEADLINE_END = re.compile(r"[。！？；：]$")

CUES_FILE = Path(__file__).resolve().parent.parent / "corpora" / "lexicons" / "cues.csv"


@functools.lru_cache(maxsize=8)
def _sentence_ends(text: str) -> list[int]:
    return [m.start() for m in _SENTENCE_END.finditer(text)]


def sentence(text: str, i: int) -> tuple[int, int]:
    """The sentence around position `i`: after the last end mark (。！？； or a line break) before `i`, up to the
    first at or after it (exclusive)."""
    ends = _sentence_ends(text)
    k = bisect.bisect_left(ends, i)
    return (ends[k - 1] + 1 if k else 0), (ends[k] if k < len(ends) else len(text))


def sentences(text: str) -> list[tuple[int, int]]:
    """Every sentence of `text` as (start, end), end marks excluded, empty ones skipped."""
    out, a = [], 0
    for e in _sentence_ends(text) + [len(text)]:
        if text[a:e].strip():
            out.append((a, e))
        a = e + 1
    return out


def clause_start(text: str, i: int) -> int:
    """Where the clause holding position `i` starts (after the last comma, stop, colon, quote or space)."""
    j = i - 1
    while j >= 0 and not _CLAUSE_BOUNDARY.match(text[j]):
        j -= 1
    return j + 1


def clause_end(text: str, i: int) -> int:
    """Where the clause holding position `i` ends (the next comma, stop, colon, quote or space, exclusive)."""
    m = _CLAUSE_BOUNDARY.search(text, i)
    return m.start() if m else len(text)


@functools.lru_cache(maxsize=64)
def headline_end(text: str, title: str = "") -> int:
    """Where the headline ends: the first line when it is short (≤ 40 characters) and ends no sentence; below a
    banner of short lines (the issuer, the 文号) the line or lines that carry `title`. 0 when there is none."""
    nl = text.find("\n")
    if not (0 < nl <= 40 and not _HEADLINE_END.search(text[:nl])):
        return 0
    if len(title) >= 6 and not text.startswith(title):
        m = re.compile("\n?".join(map(re.escape, title))).search(text, nl + 1, 400)
        if m and text[m.start() - 1] == "\n" and all(len(x) <= 40 for x in text[:m.start() - 1].split("\n")):
            return m.end()
    return nl


@functools.lru_cache(maxsize=64)
def lead_end(text: str, title: str = "") -> int:
    """The end of the lead: the headline and the first sentence after it (where news states its main event)."""
    h = headline_end(text, title)
    start = h + 1 if h else 0
    while start < len(text) and text[start] in "\n ":
        start += 1
    _, b = sentence(text, start)
    if b - start < 30:  # a lead-in line (央视网消息（新闻联播）：) or a short dateline: take one more sentence
        _, b = sentence(text, min(len(text), b + 1))
    return b


@functools.cache
def load_cues(path: Path | str = CUES_FILE) -> dict[str, tuple[str, ...]]:
    """The cue words by group from `cues.csv` (columns group, word, source; `#` lines are comments)."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: cue-word file not found")
    groups: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for n, row in enumerate(rows, start=2):
            group, word = (row.get("group") or "").strip(), (row.get("word") or "").strip()
            if not group or not word:
                raise PipelineError(f"{path}: row {n}: expected a group and a word, got {row!r}")
            groups.setdefault(group, []).append(word)
    return {g: tuple(ws) for g, ws in groups.items()}


def cue_pattern(group: str, path: Path | str = CUES_FILE) -> re.Pattern[str]:
    """One regex alternation of a cue group's words, longest first (a word may itself be a regex)."""
    return _cue_pattern(group, str(path))


@functools.cache
def _cue_pattern(group: str, path: str) -> re.Pattern[str]:
    cues = load_cues(path)
    if group not in cues:
        raise PipelineError(f"{path}: no cue group {group!r} (groups: {', '.join(sorted(cues))})")
    return re.compile("|".join(sorted(cues[group], key=len, reverse=True)))


def cues_version(path: Path | str = CUES_FILE) -> str:
    """A hash of the cue file: part of the versions of the stages that read it."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
