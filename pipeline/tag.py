"""Participants (CODEBOOK §2): which government bodies take part, normalised, with level, region, sector,
role and the evidence span.

A spaCy `blank("zh")` pipeline (jieba segmenter) with an EntityRuler fed from the gazetteer finds mentions;
rules expand blocs, attach departments to jurisdictions, resolve names as of the document's date, and drop
what is not a participant (the news source, venues, foreign or company names)."""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import segment
from pipeline.gazetteer import Entry, Gazetteer, load_gazetteer
from pipeline.records import Document, Participant, Tagged

log = logging.getLogger(__name__)

VERSION = "1"

_ROLE_CUES = (
    ("chair", re.compile(r"主持")),
    ("host", re.compile(r"主办|承办|召集|东道")),
    ("signatory", re.compile(r"签署|签订|签约|共同发布|联合印发|联合发布")),
    ("superior", re.compile(r"指导|批示|批复|同意建立")),
)
_SOURCE_CUE = re.compile(r"(记者从|据|来自)$")
_SOURCE_AFTER = re.compile(r"^(了解到|获悉|消息|今天表示|表示|发布|透露)")


@functools.cache
def load_pipeline(gazetteer_dir: Path | str, user_dictionary: Path | str | None) -> Language:
    """Build the spaCy pipeline once per process: jieba (with the user dictionary already loaded) and an
    EntityRuler whose patterns are the gazetteer's names, aliases and blocs."""
    gaz = load_gazetteer(gazetteer_dir)
    segment.load_segmenter(user_dictionary)  # before any pattern is tokenised
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    patterns = []
    for alias, name in gaz.aliases.items():
        patterns.append({"label": "GOV", "pattern": alias, "id": name})
    for bloc in gaz.blocs:
        patterns.append({"label": "BLOC", "pattern": bloc, "id": bloc})
    ruler.add_patterns(patterns)
    return nlp


def _dept_regex(gaz: Gazetteer) -> re.Pattern[str]:
    alts = sorted({a for d in gaz.departments for a in d.pattern.split("|")}, key=len, reverse=True)
    return re.compile("(?:省|市|自治区)?(" + "|".join(map(re.escape, alts)) + ")")


def _role(text: str, start: int, end: int) -> str:
    sentence_start = max(text.rfind("。", 0, start), text.rfind("\n", 0, start)) + 1
    sentence_end_candidates = [i for i in (text.find("。", end), text.find("\n", end)) if i >= 0]
    sentence_end = min(sentence_end_candidates) if sentence_end_candidates else len(text)
    window = text[max(sentence_start, start - 12):min(sentence_end, end + 12)]
    for role, cue in _ROLE_CUES:
        if cue.search(window):
            return role
    return "member"


def _participant(entry: Entry, mention: str, start: int, end: int, role: str, name: str | None = None,
                 sector: str | None = None) -> Participant:
    return Participant(name or entry.name, mention, start, end, entry.level, entry.region_code,
                       entry.province if entry.level != "national" else "", sector or entry.sector, role)


def participants(doc: Document, words: list[str], gazetteer_dir: Path | str,
                 user_dictionary: Path | str | None = None) -> tuple[Participant, ...]:
    """Find the participants of one document; offsets index into `doc.text`."""
    nlp = load_pipeline(gazetteer_dir, user_dictionary)
    gaz = load_gazetteer(gazetteer_dir)
    dept_re = _dept_regex(gaz)
    text = doc.text
    sdoc = Doc(nlp.vocab, words=words, spaces=[False] * len(words))
    sdoc = nlp.get_pipe("entity_ruler")(sdoc)
    found: dict[str, Participant] = {}
    for ent in sdoc.ents:
        start, end = ent.start_char, ent.end_char
        before = text[max(0, start - 4):start]
        if _SOURCE_CUE.search(before) or _SOURCE_AFTER.match(text[end:end + 4]):
            continue
        role = _role(text, start, end)
        if ent.label_ == "BLOC":
            for member in gaz.blocs[ent.ent_id_]:
                e = gaz.entries[member]
                found.setdefault(e.name, _participant(e, ent.text, start, end, role))
            continue
        entry = gaz.lookup(ent.text)
        if entry is None:
            continue
        entry = gaz.as_of(entry, doc.date)
        if entry.kind == "jurisdiction":
            m = dept_re.match(text, end)
            if m:
                dep = gaz.department(entry, m.group(1), doc.date)
                if dep:
                    name, sector = dep
                    found.setdefault(name, _participant(entry, text[start:m.end()], start, m.end(), role,
                                                        name, sector))
                    continue
        found.setdefault(entry.name, _participant(entry, ent.text, start, end, role))
    return tuple(found.values())


def document(doc: Document, words: list[str], gazetteer_dir: Path | str,
             user_dictionary: Path | str | None = None) -> Tagged:
    """Participants and document codes of one document."""
    from pipeline import code

    ps = participants(doc, words, gazetteer_dir, user_dictionary)
    return Tagged(doc.doc_id, ps, code.codes(doc, ps))
