"""Names in a document's text: where the gazetteer's names, short forms and blocs occur.

A spaCy `blank("zh")` pipeline whose tokenizer is `segment.words` with the user dictionary (patterns are tokenised
exactly as documents are segmented) and whose EntityRuler holds the gazetteer's names, aliases, qualified short
forms and blocs finds them among the words; names hidden inside a longer word that jieba's own dictionary joined
(上海市政府, 北京市委) and strings of one-character abbreviations (“滇黔川渝藏”) are found besides. Each match is a
`Span`: (start, end, label GOV | QUAL | BLOC, id, text), offsets into the text. `pipeline.candidates` turns them
into candidate participants."""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import segment
from pipeline.gazetteer import Gazetteer, load_gazetteer
from pipeline.lexicon import CJK as _CJK, NUM as _NUM

Span = tuple[int, int, str, str, str]

_ABBR_SEQ = re.compile(r"[京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔滇藏陕甘青宁新港澳]{2,6}")


class _WordTokenizer:
    """spaCy tokenizer: the words of `segment.words`, without spaces between them."""

    def __init__(self, vocab, user_dictionary: Path | str | None) -> None:  # noqa: ANN001
        self.vocab = vocab
        self._cut = segment.load_segmenter(user_dictionary)

    def __call__(self, text: str) -> Doc:
        words = self._cut(text)
        return Doc(self.vocab, words=words, spaces=[False] * len(words))


@functools.cache
def load_pipeline(gazetteer_dir: Path | str, user_dictionary: Path | str | None) -> Language:
    """Build the spaCy pipeline once per process: a tokenizer that is `segment.words` with the user dictionary
    (patterns are tokenised exactly as documents are segmented) and an EntityRuler whose patterns are the
    gazetteer's names, aliases, qualified short forms and blocs."""
    gaz = load_gazetteer(gazetteer_dir)
    segment.load_segmenter(user_dictionary)  # before any pattern is tokenised
    nlp = spacy.blank("zh")
    nlp.tokenizer = _WordTokenizer(nlp.vocab, user_dictionary)
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    patterns = [{"label": "GOV", "pattern": alias, "id": name} for alias, name in gaz.aliases.items()]
    patterns += [{"label": "QUAL", "pattern": short, "id": short} for short in gaz.qualified]
    patterns += [{"label": "BLOC", "pattern": bloc, "id": bloc} for bloc in gaz.blocs]
    ruler.add_patterns(patterns)
    return nlp


def spans(text: str, words: list[str], gaz: Gazetteer, nlp: Language) -> list[Span]:
    """Every name of the gazetteer in `text` (cut into `words`), sorted by position."""
    found = _ruler_spans(words, nlp)
    found += _uncovered(words, found, gaz)
    found += _abbreviation_blocs(text, gaz, found)
    return sorted(found)


@functools.cache
def _pattern_index(nlp: Language) -> tuple[frozenset[str], int]:
    """The first tokens of the EntityRuler's phrase patterns and the longest pattern in tokens."""
    ruler = nlp.get_pipe("entity_ruler")
    docs = [d for ds in ruler.phrase_patterns.values() for d in ds]
    return frozenset(d[0].text for d in docs if len(d)), max((len(d) for d in docs), default=1)


#: a token no pattern contains: separates the windows handed to the EntityRuler
_SEP = "\n"


def _ruler_spans(words: list[str], nlp: Language) -> list[tuple[int, int, str, str, str]]:
    """The EntityRuler's matches, run only over windows that start at a token some pattern starts with:
    a document without such a token builds no spaCy Doc at all. Offsets are characters of the joined words."""
    first, longest = _pattern_index(nlp)
    hits = list(itertools.compress(range(len(words)), map(first.__contains__, words)))
    if not hits:
        return []
    offsets = list(itertools.accumulate(map(len, words), initial=0))
    if longest == 1:
        ents = [_token_entity(nlp, words[i]) for i in hits]
        if None not in ents:
            return [(offsets[i], offsets[i + 1], *ent, words[i]) for i, ent in zip(hits, ents, strict=True)]
    return _window_spans(words, hits, offsets, longest, nlp)


@functools.lru_cache(maxsize=1 << 16)
def _token_entity(nlp: Language, word: str) -> tuple[str, str] | None:
    """The EntityRuler's (label, id) for a one-token pattern word where that does not depend on the word's
    neighbours: None for a word that several patterns give different labels or ids (南昌: GOV 南昌市 and QUAL
    南昌县), whose label the ruler picks by the word's position among the window's matches."""
    ruler = nlp.get_pipe("entity_ruler")
    doc = Doc(nlp.vocab, words=[word], spaces=[False])
    if len({m for m, _, _ in ruler.phrase_matcher(doc)}) != 1 or ruler.token_patterns:
        return None
    spans = _window_spans([word], [0], [0, len(word)], 1, nlp)
    return (spans[0][2], spans[0][3]) if spans else None


def _window_spans(words: list[str], hits: list[int], offsets: list[int], longest: int, nlp: Language
                  ) -> list[tuple[int, int, str, str, str]]:
    """The EntityRuler over one spaCy Doc of the windows of `longest` tokens that start at `hits`."""
    toks: list[str] = []
    where: list[int] = []  # token → index in `words` (-1 for separators)
    end = -1
    for i in hits:
        a, b = max(i, end), min(len(words), i + longest)
        if a > end and toks:
            toks.append(_SEP)
            where.append(-1)
        for k in range(a, b):
            toks.append(words[k])
            where.append(k)
        end = max(end, b)
    ruler = nlp.get_pipe("entity_ruler")
    sdoc = Doc(nlp.vocab, words=toks, spaces=[False] * len(toks))
    # the ruler's own phrase matcher and annotation (longest match first), without its per-call pattern count
    found = list(ruler.phrase_matcher(sdoc)) + (list(ruler.matcher(sdoc)) if ruler.token_patterns else [])
    matches = sorted({(m, a, b) for m, a, b in found if a != b},
                     key=lambda m: (m[2] - m[1], -m[1]), reverse=True)
    ruler.set_annotations(sdoc, matches)
    out = []
    for ent in sdoc.ents:
        a, b = where[ent.start], where[ent.end - 1]
        if a < 0 or b < 0:
            continue
        out.append((offsets[a], offsets[b + 1], ent.label_, ent.ent_id_, "".join(words[a:b + 1])))
    return out


def _uncovered(words: list[str], spans: list[tuple[int, int, str, str, str]], gaz: Gazetteer
               ) -> list[tuple[int, int, str, str, str]]:
    """Gazetteer names inside tokens that jieba's own dictionary joined with a neighbour (上海市政府, 北京市委)."""
    covered: set[int] = set()
    for a, b, *_ in spans:
        covered.update(range(a, b))
    out = []
    lengths = list(map(len, words))
    offsets = list(itertools.accumulate(lengths, initial=0))
    for i in itertools.compress(range(len(words)), map((2).__lt__, lengths)):  # words of 3 or more characters
        if offsets[i] not in covered and (names := _names_inside(gaz, words[i])):
            t_idx, w = offsets[i], words[i]
            out.extend((t_idx + pos, t_idx + pos + n, label, ent_id, w[pos:pos + n])
                       for pos, n, label, ent_id in names)
    return out


@functools.lru_cache(maxsize=1 << 16)
def _names_inside(gaz: Gazetteer, w: str) -> tuple[tuple[int, int, str, str], ...]:
    """Gazetteer names inside word `w` (not `w` itself), longest first from the left:
    (offset, length, label, id)."""
    out = []
    pos = 0
    while pos < len(w) - 1:
        for n in range(len(w) - pos, 1, -1):
            part = w[pos:pos + n]
            if part == w:
                continue
            label = "GOV" if part in gaz.aliases else "BLOC" if part in gaz.blocs else \
                "QUAL" if part in gaz.qualified else None
            if label:
                out.append((pos, n, label, gaz.aliases.get(part, part)))
                pos += n
                break
        else:
            pos += 1
    return tuple(out)


def _abbreviation_blocs(text: str, gaz: Gazetteer, spans: list[tuple[int, int, str, str, str]]
                        ) -> list[tuple[int, int, str, str, str]]:
    """Strings of one-character abbreviations (“滇黔川渝藏”, 赣鄂湘) that are not a known bloc, when quoted or
    followed by plural or department words."""
    taken = {(a, b) for a, b, *_ in spans}
    out = []
    for m in _ABBR_SEQ.finditer(text):
        seq = m.group(0)
        if (m.start(), m.end()) in taken or seq in gaz.blocs or len(set(seq)) != len(seq):
            continue
        quoted = text[m.start() - 1:m.start()] == "“" and text[m.end():m.end() + 1] == "”"
        follows = re.match(rf"”?(?:[{_NUM}]+|两|三|四|五)(?:省|地|方)|”?[{_CJK}]{{0,4}}(?:部门|主管部门)", text[m.end():])
        if not (quoted or follows):
            continue
        members = "|".join(gaz.abbreviations[c] for c in seq)
        end = m.end() + (1 if quoted else 0)
        out.append((m.start(), m.end(), "BLOC", members, seq))
        del end
    return out
