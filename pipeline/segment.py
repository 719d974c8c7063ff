"""Chinese word segmentation with jieba and the project's user dictionary.

The user dictionary is generated from the gazetteer (every name, alias and bloc stays one token) plus the
domain terms in `corpora/lexicons/domain_terms.txt`; it must be loaded before any spaCy pattern is built."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import jieba

from pipeline.gazetteer import Gazetteer

log = logging.getLogger(__name__)

VERSION = "1"

jieba.setLogLevel(logging.WARNING)

#: jieba frequency given to dictionary entries: high enough to win over the default segmentation.
_FREQ = 200000


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
        path.write_text(text, encoding="utf-8")
    return path


@functools.cache
def load_segmenter(user_dictionary: Path | str | None) -> jieba.Tokenizer:
    """Initialise jieba's default tokenizer once per process with the user dictionary loaded.

    The module-level tokenizer is used because spaCy's Chinese tokenizer calls `jieba.cut` directly."""
    jieba.initialize()
    if user_dictionary is not None:
        jieba.load_userdict(str(user_dictionary))
    return jieba.dt


def words(text: str, user_dictionary: Path | str | None = None) -> list[str]:
    """Segment `text` into words (precise mode, no HMM for unknown words); joined, they give back `text`."""
    return load_segmenter(user_dictionary).lcut(text, HMM=False)
