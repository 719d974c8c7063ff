"""Chinese word segmentation: jieba's dictionary and algorithm (precise mode, no HMM) with the project's user
dictionary, run by jieba-rs (`rjieba`) where it is installed and by jieba itself otherwise.

The user dictionary is generated from the gazetteer (every name, alias and bloc stays one token) plus the
domain terms in `corpora/lexicons/domain_terms.txt`. Both segmenters give the same words: jieba-rs is loaded
with jieba's own dictionary file and the same user entries, and its word-frequency total is made equal to
jieba's (jieba adds the frequency of a re-added word to its total, jieba-rs replaces it), so that even exact
ties between two segmentations (和平/平和, both user entries) are broken the same way."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import jieba

from pipeline.gazetteer import Gazetteer

try:
    import rjieba
except ImportError:  # the project still works, at jieba's speed
    rjieba = None

log = logging.getLogger(__name__)

VERSION = "1"

jieba.setLogLevel(logging.WARNING)

#: jieba frequency given to dictionary entries: high enough to win over the default segmentation.
_FREQ = 200000

#: a word no text block can contain (jieba segments only runs of Han, Latin letters, digits and +#&._%-):
#: carries the frequency that jieba-rs leaves out of its total
_TOTAL_PAD = "\x00"


def dictionary_version(user_dictionary: Path | str | None) -> str:
    """A hash of the user dictionary (part of the segment stage's version): a changed gazetteer re-segments."""
    p = Path(user_dictionary) if user_dictionary else None
    if p is None or not p.is_file():
        return "none"
    return hashlib.sha256(p.read_bytes()).hexdigest()[:12]


def dictionary_terms(gazetteer: Gazetteer, domain_terms: Path | None = None) -> list[str]:
    """Every term that must stay one token: gazetteer names and aliases, blocs, department names, domain terms."""
    terms = set(gazetteer.aliases) | set(gazetteer.blocs) | set(gazetteer.qualified)
    for dep in gazetteer.departments:
        terms.update(dep.pattern.split("|"))
        terms.update(t for t in (dep.provincial, dep.municipal) if "{" not in t)
    if domain_terms is not None and domain_terms.exists():
        for line in domain_terms.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                terms.add(line.split()[0])
    return sorted(t for t in terms if len(t) >= 2)


def write_user_dictionary(gazetteer: Gazetteer, path: Path, domain_terms: Path | None = None) -> Path:
    """Write a jieba user dictionary (word freq tag per line) for the gazetteer; return its path."""
    lines = [f"{t} {_FREQ} nt" for t in dictionary_terms(gazetteer, domain_terms)]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        # atomically: a concurrent reader (another run, a worker) never sees a half-written dictionary
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


def _main_entries() -> Iterator[tuple[str, int | None, str | None]]:
    """jieba's main dictionary, read as jieba reads it (word freq [tag] per line)."""
    with jieba.get_dict_file() as f:
        for raw in f:
            parts = raw.strip().decode("utf-8").split(" ")
            if parts[0]:
                yield parts[0], int(parts[1]), parts[2] if len(parts) > 2 else None


def _user_entries(path: Path | str) -> Iterator[tuple[str, int | None, str | None]]:
    """A user dictionary, parsed with jieba's own line pattern (`jieba.load_userdict`)."""
    with open(path, "rb") as f:
        for raw in f:
            line = raw.strip().decode("utf-8").lstrip("\ufeff")
            if line:
                word, freq, tag = jieba.re_userdict.match(line).groups()
                yield word, int(freq) if freq is not None else None, tag.strip() if tag else None


def _rjieba_cut(user_dictionary: Path | str | None) -> Callable[[str], list[str]] | None:
    """jieba-rs holding exactly jieba's dictionary, user entries and total; None where a user entry has no
    positive frequency (jieba then suggests or forces one, which jieba-rs does differently)."""
    user = list(_user_entries(user_dictionary)) if user_dictionary is not None else []
    if any(freq is None or freq <= 0 for _, freq, _ in user):
        return None
    seg = rjieba.Jieba.empty()
    freqs: dict[str, int] = {}
    left_out = 0  # frequencies jieba keeps in its total and jieba-rs drops (a word added twice)
    for word, freq, tag in [*_main_entries(), *user]:
        left_out += freqs.get(word, 0)
        freqs[word] = freq  # type: ignore[assignment]
        seg.add_word(word, freq, tag)
    if left_out:
        seg.add_word(_TOTAL_PAD, left_out, None)
    return functools.partial(seg.cut, hmm=False)


@functools.cache
def _warn_fallback(reason: str) -> None:
    log.warning("segmenting with plain jieba (%s): same words, several times slower", reason)


@functools.cache
def load_segmenter(user_dictionary: Path | str | None) -> Callable[[str], list[str]]:
    """A function text → words for jieba's dictionary plus `user_dictionary`, built once per process."""
    if rjieba is not None:
        cut = _rjieba_cut(user_dictionary)
        if cut is not None:
            return cut
        _warn_fallback(f"{user_dictionary} has entries without a positive frequency")
    else:
        _warn_fallback("the rjieba package is not installed")
    return load_jieba(user_dictionary)


@functools.cache
def load_jieba(user_dictionary: Path | str | None) -> Callable[[str], list[str]]:
    """Plain jieba with the user dictionary: the reference segmenter and the fallback."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dictionary is not None:
        tokenizer.load_userdict(str(user_dictionary))
    return functools.partial(tokenizer.lcut, HMM=False)


def words(text: str, user_dictionary: Path | str | None = None) -> list[str]:
    """Segment `text` into words (jieba's precise mode, no HMM for unknown words); joined, they give back `text`."""
    return load_segmenter(user_dictionary)(text)
