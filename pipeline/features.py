"""Features that the learned models read: of each candidate participant in its context, and of a whole document.

Features are plain dicts of name → value, so a fitted model's weights can be read feature by feature (the models
are saved as JSON tables of weights). Context is read around the list a candidate stands in (A、B和C…): the
characters and words right before and after it, the cue words (`corpora/lexicons/cues.csv`, by group) in the
same clause and sentence before and after it, where in the document it stands (headline, lead, signature), how
often the document names it, and what kind of body it is."""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pipeline import lexicon
from pipeline.candidates import Candidate
from pipeline.records import Document

VERSION = "1"

#: the cue groups read around a candidate
CONTEXT_GROUPS = ("attend", "chair", "host", "sign", "joint", "convene", "speak", "speech", "directive", "guide",
                  "source", "venue", "member", "person", "aid", "act", "meeting", "company")
_VERB_GROUPS = ("attend", "chair", "host", "sign", "joint", "convene", "speak", "speech", "directive", "guide",
                "act", "aid", "person", "member")
_SYSTEM = re.compile(r"成员单位|联席会议制度|联席会议由")


@dataclass(frozen=True, slots=True)
class _Index:
    """Where each cue group matches in a text (sorted starts) and the word boundaries."""

    text: str
    cues: dict[str, list[int]]
    word_starts: list[int]
    words: tuple[str, ...]

    cum: dict[str, list[int]]

    def has(self, group: str, a: int, b: int) -> bool:
        cum = self.cum[group]
        return a < b and cum[b] > cum[a]

    def first_after(self, group: str, a: int, b: int) -> int | None:
        starts = self.cues[group]
        k = bisect.bisect_left(starts, a)
        return starts[k] - a if k < len(starts) and starts[k] < b else None

    def word_before(self, i: int) -> str:
        k = bisect.bisect_right(self.word_starts, i - 1) - 1
        return self.words[k] if 0 <= k < len(self.words) and self.word_starts[k] < i else ""

    def word_at(self, i: int) -> tuple[int, str]:
        """The word holding position `i`: (its start, the word)."""
        k = bisect.bisect_right(self.word_starts, i) - 1
        return (self.word_starts[k], self.words[k]) if 0 <= k < len(self.words) else (i, "")


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    return {g: lexicon.cue_pattern(g) for g in CONTEXT_GROUPS}


def _index(text: str, words: tuple[str, ...]) -> _Index:
    cues = {g: [m.start() for m in p.finditer(text)] for g, p in _patterns().items()}
    cum = {}
    for g, starts_ in cues.items():  # cum[i]: how many matches start before position i
        marks = np.zeros(len(text) + 1, dtype=np.int32)
        np.add.at(marks, np.asarray(starts_, dtype=np.int64) + 1, 1)
        cum[g] = np.cumsum(marks).tolist()
    starts = list(itertools.accumulate(map(len, words), initial=0))[:-1]
    if "".join(words) != text:  # words from another segmentation: fall back to characters
        words = tuple(text)
        starts = list(range(len(text)))
    return _Index(text, cues, starts, tuple(words), cum)


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    for e in edges:
        if n <= e:
            return str(e)
    return f">{edges[-1]}"


@functools.lru_cache(maxsize=1 << 16)
def _tidy(s: str) -> str:
    """A context string as a feature value: digits folded (第19次 and 第3次 read alike)."""
    return re.sub(r"[0-9０-９]+", "0", s.replace("\n", "¶"))


def _words_between(ix: _Index, a: int, b: int, n: int) -> list[str]:
    """Up to `n` words starting in [a, b), punctuation skipped."""
    k = bisect.bisect_left(ix.word_starts, a)
    out = []
    while k < len(ix.words) and ix.word_starts[k] < b and len(out) < n:
        if lexicon.CJK_RE.search(ix.words[k]):
            out.append(ix.words[k])
        k += 1
    return out


def participant_features(doc: Document, words: tuple[str, ...] | list[str],
                         candidates: tuple[Candidate, ...]) -> list[dict[str, float]]:
    """One feature dict per candidate, in order."""
    text = doc.text
    ix = _index(text, tuple(words))
    where = _Where(text, doc.title or "", candidates)
    return [{**_kind_features(c), **where.features(c), **_context_features(text, ix, c)} for c in candidates]


def _kind_features(c: Candidate) -> dict[str, float]:
    """What kind of body the candidate is and how it was found."""
    f: dict[str, float] = {"bias": 1.0, f"kind={c.kind}": 1, f"via={c.via}": 1, f"level={c.level}": 1,
                           f"kind_level={c.kind}:{c.level}": 1}
    if c.title:
        f[f"title={c.title}"] = 1
    if c.in_name:
        f["in_name"] = 1
        f[f"in_name:{c.kind}"] = 1
    f[f"list_size={_bucket(c.list_size, (1, 2, 5))}"] = 1
    if c.list_size > 1:
        f["list_first" if c.list_pos == 0 else "list_last" if c.list_pos == c.list_size - 1 else "list_mid"] = 1
    return f


class _Where:
    """Where a candidate stands in its document: headline, lead, sentence, signature lines, its mentions."""

    def __init__(self, text: str, title: str, candidates: tuple[Candidate, ...]) -> None:
        self.text = text
        self.head = lexicon.headline_end(text, title)
        self.lead = lexicon.lead_end(text, title)
        self.sent_starts = [a for a, _ in lexicon.sentences(text)]
        lines = [m.span() for m in re.finditer(r"[^\n]+", text)]
        self.last_lines = {s for s, e in lines[-2:] if e - s <= 30} if len(lines) > 2 else set()
        self.counts = Counter(c.name for c in candidates)
        self.first_of: dict[str, int] = {}
        for c in candidates:
            self.first_of.setdefault(c.name, c.start)
        self.title_names = {c.name for c in candidates if c.start < self.head}
        self.system = bool(_SYSTEM.search(text))

    def features(self, c: Candidate) -> dict[str, float]:
        s = c.start
        f: dict[str, float] = {}
        if s < self.head:
            f["headline"] = 1
        elif s < self.lead:
            f["lead"] = 1
        k = bisect.bisect_right(self.sent_starts, s) - 1
        f[f"sentence={_bucket(max(k, 0), (0, 1, 2, 4))}"] = 1
        f[f"rel_pos={min(4, int(5 * s / max(1, len(self.text))))}"] = 1
        if any(a <= s < a + 30 for a in self.last_lines):
            f["last_lines"] = 1
        f[f"mentions={_bucket(self.counts[c.name], (1, 2, 4))}"] = 1
        if self.first_of[c.name] == s:
            f["first_mention"] = 1
        if c.name in self.title_names:
            f["named_in_title"] = 1
        f[f"doc_names={_bucket(len(self.counts), (1, 3, 8))}"] = 1
        if self.system:
            f["doc_system"] = 1
        f["log_chars"] = math.log1p(len(self.text)) / 10
        return f


def _context_features(text: str, ix: _Index, c: Candidate) -> dict[str, float]:
    """The characters, words and cue groups around the candidate's list, in its clause and sentence."""
    s, ls, le = c.start, c.list_start, c.list_end
    sa, sb = lexicon.sentence(text, s)
    ca, cb = lexicon.clause_start(text, ls), lexicon.clause_end(text, le)
    f: dict[str, float] = {
        f"left1={_tidy(text[ls - 1:ls]) or '^'}": 1, f"left2={_tidy(text[max(0, ls - 2):ls]) or '^'}": 1,
        f"right1={_tidy(text[le:le + 1]) or '$'}": 1, f"right2={_tidy(text[le:le + 2]) or '$'}": 1,
        f"prevw={_tidy(ix.word_before(ls)) or '^'}": 1}
    ws, w = ix.word_at(le)
    if ws < le:  # the mention ends inside a word (京津冀|协同 … within a longer name)
        f["splits_word"] = 1
    f[f"nextw={_tidy(w) or '$'}"] = 1
    if ws >= le and w and lexicon.CJK_RE.match(w) and not any(ix.has(g, le, le + 1) for g in _VERB_GROUPS):
        f["before_noun"] = 1  # 京津冀|协同发展: the name qualifies what follows
    for g in CONTEXT_GROUPS:
        if ix.has(g, ca, ls):
            f[f"clause_before:{g}"] = 1
        elif ix.has(g, sa, ca):
            f[f"sentence_before:{g}"] = 1
        d = ix.first_after(g, le, cb)
        if d is not None:
            f[f"clause_after:{g}"] = 1
            f[f"clause_after:{g}:{_bucket(d, (0, 3, 8))}"] = 1
        elif ix.has(g, cb, sb):
            f[f"sentence_after:{g}"] = 1
    if ca == ls:
        f["clause_initial"] = 1
    for w in _words_between(ix, le, cb, 4):
        f[f"after_w={_tidy(w)}"] = 1
    for w in _words_between(ix, max(ca, ls - 8), ls, 2):
        f[f"before_w={_tidy(w)}"] = 1
    if text.count("《", sa, s) > text.count("》", sa, s):
        f["in_book_title"] = 1
    if text.count("“", sa, s) > text.count("”", sa, s):
        f["in_quotes"] = 1
    return f


#: the cue groups read in a document's title, lead and body
DOCUMENT_GROUPS = ("jm", "jm_system", "jm_office", "group_meeting", "coord_meeting", "agreement", "mechanism",
                   "region", "departments", "foreign", "nongov", "press", "diplomatic", "commemoration", "policy",
                   "attend", "chair", "host", "sign", "joint", "convene", "speech", "directive", "guide", "source",
                   "aid", "act", "meeting", "company")


@functools.cache
def _document_patterns() -> dict[str, re.Pattern[str]]:
    return {g: lexicon.cue_pattern(g) for g in DOCUMENT_GROUPS}


_JM_SYSTEM = re.compile(r"建立|设立|成立|组建|调整|增补|同意|制度|成员单位|召集人")
_JM_HELD = re.compile(r"召开|举行|召集|会议(?:第[^。]{1,4}次)?(?:在|于)")
_OFFICE_ACTS = re.compile(r"召集|部署|通报|发布|公布|推出|上线|印发|组织|督导|约谈|挂牌")


def _joint_meeting_features(text: str, lead: int) -> dict[str, float]:
    """What each 联席会议 mention is (CODEBOOK §1): foreign or not governmental by its sentence, a session held,
    a system set up or changed, its office acting; and where it is (lead or body)."""
    f: dict[str, float] = {}
    pats = _document_patterns()
    for m in pats["jm"].finditer(text):
        a, b = lexicon.sentence(text, m.start())
        part = "lead" if m.start() < lead else "body"
        if pats["foreign"].search(text, a, b):
            f[f"jm_foreign:{part}"] = 1
        elif pats["nongov"].search(text, a, b) or pats["company"].search(text, a, b):
            f[f"jm_nongov:{part}"] = 1
        else:
            f[f"jm_gov:{part}"] = 1
            if _JM_SYSTEM.search(text, a, b):
                f[f"jm_system_sentence:{part}"] = 1
            if _JM_HELD.search(text, a, b):
                f[f"jm_held:{part}"] = 1
    for m in pats["jm_office"].finditer(text):
        if _OFFICE_ACTS.search(text, m.end(), min(len(text), m.end() + 30)):
            f["jm_office_acts"] = 1
    return f


def document_features(doc: Document, candidates: tuple[Candidate, ...]) -> dict[str, float]:
    """Features of a whole document: the cue groups in its title, lead and rest, the kinds, levels and
    provinces of the bodies it names (in the lead and in all), and its length."""
    text, title = doc.text, doc.title or ""
    lead = lexicon.lead_end(text, title)
    parts = {"title": title, "lead": text[:lead], "body": text[lead:]}
    f: dict[str, float] = {"bias": 1.0, "log_chars": math.log1p(len(text)) / 10}
    for g, p in _document_patterns().items():
        for part, s in parts.items():
            n = len(p.findall(s))
            if n:
                f[f"{part}:{g}"] = 1
                if part == "body":
                    f[f"body_n:{g}"] = math.log1p(n)
    f.update(_joint_meeting_features(text, lead))
    for n in (1, 2):  # the title's characters and character pairs: the headline says what happened
        for i in range(len(title) - n + 1):
            if lexicon.CJK_RE.match(title[i]):
                f[f"title_chars:{title[i:i + n]}"] = 1
    for scope, cs in (("lead", [c for c in candidates if c.start < lead]), ("all", candidates)):
        names = {c.name for c in cs}
        f[f"{scope}_names={_bucket(len(names), (0, 1, 2, 4, 8))}"] = 1
        for lv in {c.level for c in cs}:
            f[f"{scope}_level={lv}"] = 1
        provinces = {c.province for c in cs if c.province}
        f[f"{scope}_provinces={_bucket(len(provinces), (0, 1, 2, 4))}"] = 1
        national = {c.name for c in cs if c.level == "national" and c.kind == "body"}
        f[f"{scope}_national={_bucket(len(national), (0, 1, 2, 4))}"] = 1
        for kind in {c.kind for c in cs} | {c.via for c in cs}:
            f[f"{scope}_kind={kind}"] = 1
    return f


DEPTH_GROUPS = ("depth1", "depth2", "depth3", "depth4")


def depth_features(doc: Document, doc_class: str) -> dict[str, float]:
    """Features for the depth of collaboration (CODEBOOK §3): each stage's cue words in the title, lead and
    body, whether the clause before a cue marks it planned (将, 要, 力争) or done (已, 累计), and the class."""
    text, title = doc.text, doc.title or ""
    lead = lexicon.lead_end(text, title)
    future, done = lexicon.cue_pattern("future"), lexicon.cue_pattern("done")
    f: dict[str, float] = {"bias": 1.0, f"class={doc_class}": 1}
    for g in DEPTH_GROUPS:
        pattern = lexicon.cue_pattern(g)
        if pattern.search(title):
            f[f"title:{g}"] = 1
        n = 0
        for m in pattern.finditer(text):
            n += 1
            part = "lead" if m.start() < lead else "body"
            f[f"{part}:{g}"] = 1
            ca = lexicon.clause_start(text, m.start())
            ce = lexicon.clause_end(text, m.end())
            if future.search(text, ca, m.start()):
                f[f"{part}:{g}:planned"] = 1
            elif done.search(text, ca, ce):
                f[f"{part}:{g}:done"] = 1
        if n:
            f[f"n:{g}"] = math.log1p(n)
    for g in ("meeting", "agreement", "mechanism", "joint", "aid", "group_meeting", "coord_meeting"):
        if lexicon.cue_pattern(g).search(text, 0, lead) or lexicon.cue_pattern(g).search(title):
            f[f"lead:{g}"] = 1
    return f


def participation_features(candidates: tuple[Candidate, ...], probs: list[float], threshold: float,
                           lead: int) -> dict[str, float]:
    """Features of a document from the participant model's scores: how sure its best mention is, and how many
    bodies, provinces and central bodies take part (in all and in the lead)."""
    from pipeline.tag import decide

    if not candidates:
        return {"parts:none": 1}
    best = max(probs)
    kept = [c for c, _ in decide(candidates, probs, threshold)]
    provinces = {c.province for c in kept if c.province}
    central = {c.name for c in kept if c.level == "national"}
    return {"parts:max": best, f"parts:max={int(best * 5)}": 1, f"parts:n={min(len(kept), 4)}": 1,
            f"parts:provinces={min(len(provinces), 3)}": 1, f"parts:central={min(len(central), 3)}": 1,
            f"parts:lead={min(sum(c.start < lead for c in kept), 3)}": 1}
