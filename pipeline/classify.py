"""A text classifier for the stream filter: is a document inter-governmental coordination material at all,
or `other` (CODEBOOK §1)? A spaCy `textcat` on `spacy.blank("zh")` (character tokens, bag of character
n-grams) over the title and lead of a document.

`pipeline.code` decides the class by rules; this model vetoes weakly evidenced coordination classes it is
confident are `other`. The fitted model ships in `corpora/classifier/doc_class/` (no download at run time);
`corpora/training/make_doc_class.py` rebuilds it."""

from __future__ import annotations

import functools
import json
import logging
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.training import Example

from pipeline.errors import PipelineError
from pipeline.records import Document

log = logging.getLogger(__name__)

#: The shipped model, relative to the repository root.
MODEL_DIR = Path(__file__).resolve().parent.parent / "corpora" / "classifier" / "doc_class"
LABELS = ("coordination", "other")
#: P(other) at or above which a weakly evidenced coordination class becomes `other`.
VETO_THRESHOLD = 0.9
LEAD_CHARS = 300


def lead(title: str, text: str) -> str:
    """What the classifier reads: the title and the first `LEAD_CHARS` characters of the text."""
    text = text.strip()
    if title and not text.startswith(title):
        text = title + "\n" + text
    return text[:LEAD_CHARS]


class DocClassifier:
    """Binary textcat (coordination vs other). Estimator contract: `__init__` stores parameters,
    `fit` trains and returns self, learned state ends in `_`."""

    def __init__(self, epochs: int = 8, seed: int = 0, ngram_size: int = 2) -> None:
        self.epochs = epochs
        self.seed = seed
        self.ngram_size = ngram_size

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> DocClassifier:
        if len(texts) != len(labels) or not texts:
            raise PipelineError(f"classifier: {len(texts)} texts and {len(labels)} labels; expected equal, > 0")
        bad = set(labels) - set(LABELS)
        if bad:
            raise PipelineError(f"classifier: unknown labels {sorted(bad)}; expected {LABELS}")
        spacy.util.fix_random_seed(self.seed)
        nlp = spacy.blank("zh")  # character segmenter: no dictionary, deterministic
        textcat = nlp.add_pipe("textcat", config={"model": {
            "@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": self.ngram_size,
            "no_output_layer": False, "nO": None}})
        for label in LABELS:
            textcat.add_label(label)
        examples = [Example.from_dict(nlp.make_doc(t), {"cats": {c: float(c == y) for c in LABELS}})
                    for t, y in zip(texts, labels, strict=True)]
        optimizer = nlp.initialize(lambda: examples)
        rng = random.Random(self.seed)
        for epoch in range(self.epochs):
            rng.shuffle(examples)
            losses: dict[str, float] = {}
            for batch in spacy.util.minibatch(examples, size=64):
                nlp.update(batch, sgd=optimizer, losses=losses)
            log.info("classifier epoch %d loss %.3f", epoch, losses.get("textcat", 0.0))
        self.nlp_ = nlp
        return self

    def probability_other(self, texts: Iterable[str]) -> list[float]:
        return [d.cats["other"] for d in self.nlp_.pipe(texts, batch_size=256)]

    def save(self, folder: Path, metrics: dict | None = None) -> None:
        """Write the spaCy model and, beside it, its settings and metrics as JSON."""
        folder.mkdir(parents=True, exist_ok=True)
        self.nlp_.to_disk(folder / "model")
        meta = {"epochs": self.epochs, "seed": self.seed, "ngram_size": self.ngram_size, "labels": LABELS,
                "lead_chars": LEAD_CHARS, "veto_threshold": VETO_THRESHOLD, "metrics": metrics or {}}
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")


@functools.cache
def load_classifier(folder: Path | str = MODEL_DIR) -> Language | None:
    """Load the shipped model once per process; None (rules only) when it is absent."""
    path = Path(folder) / "model"
    if not path.is_dir():
        log.warning("%s: no doc_class model; classifying by rules only", path)
        return None
    return spacy.load(path)


def probability_other(doc: Document, folder: Path | str = MODEL_DIR) -> float | None:
    """P(other) for one document from the shipped model, or None when there is no model."""
    nlp = load_classifier(folder)
    if nlp is None:
        return None
    return float(nlp(lead(doc.title, doc.text)).cats["other"])
