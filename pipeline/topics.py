"""Topic models of the segmented corpus: static topics (gensim LDA) and their prevalence over periods with
bootstrap intervals. Fits follow the estimator contract: `TopicModel(settings).fit(corpus)` returns self;
learned state ends in `_`."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import TopicError
from pipeline.settings import TopicSettings

log = logging.getLogger(__name__)

VERSION = "1"

_WORD = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True, slots=True)
class TopicDoc:
    doc_id: str
    date: str | None
    tokens: tuple[str, ...]


def read_stopwords(path: Path) -> frozenset[str]:
    """Read a stopword list (one word a line, `#` comments)."""
    if not path.exists():
        return frozenset()
    words = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w)


def clean_tokens(tokens: Iterable[str], stopwords: frozenset[str], min_length: int) -> list[str]:
    """Keep Chinese words of at least `min_length` characters that are not stopwords."""
    return [t for t in tokens if len(t) >= min_length and _WORD.match(t) and t not in stopwords]


def period_of(date: str | None, period: str) -> str:
    if not date:
        return "unknown"
    return date[:4] if period == "year" else date[:7]


class TopicModel:
    """LDA topics and their prevalence by period. `fit` takes TopicDocs; tables are pandas DataFrames."""

    def __init__(self, settings: TopicSettings, stopwords: frozenset[str] = frozenset()) -> None:
        self.settings = settings
        self.stopwords = stopwords

    def fit(self, corpus: Iterable[TopicDoc]) -> TopicModel:
        from gensim.corpora import Dictionary
        from gensim.models import LdaModel

        s = self.settings
        docs = [d for d in corpus]
        texts = [clean_tokens(d.tokens, self.stopwords, s.min_token_length) for d in docs]
        keep = [i for i, t in enumerate(texts) if t]
        docs = [docs[i] for i in keep]
        texts = [texts[i] for i in keep]
        if len(docs) < s.min_docs:
            raise TopicError(f"only {len(docs)} documents with words; at least {s.min_docs} are needed "
                             f"(topics.min_docs)")
        dictionary = Dictionary(texts)
        no_below = min(s.no_below, max(1, len(docs) // 10))
        dictionary.filter_extremes(no_below=no_below, no_above=s.no_above, keep_n=s.keep_n)
        if len(dictionary) < s.k:
            raise TopicError(f"vocabulary of {len(dictionary)} words after filtering is smaller than k={s.k}")
        bows = [dictionary.doc2bow(t) for t in texts]
        k = min(s.k, max(2, len(docs) // 2))
        lda = LdaModel(bows, id2word=dictionary, num_topics=k, passes=s.passes, iterations=s.iterations,
                       random_state=s.seed, alpha="auto", eta="auto", chunksize=2000)
        theta = np.zeros((len(docs), k))
        for i, bow in enumerate(bows):
            for t, w in lda.get_document_topics(bow, minimum_probability=0.0):
                theta[i, t] = w
        self.dictionary_, self.lda_, self.docs_, self.theta_, self.k_ = dictionary, lda, docs, theta, k
        self.fit_id_ = self._fit_id()
        return self

    def _fit_id(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps(self.settings.model_dump(mode="json"), sort_keys=True).encode())
        for d in self.docs_:
            h.update(d.doc_id.encode())
        return f"lda-k{self.k_}-{h.hexdigest()[:10]}"

    # -- tables --------------------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """The fit's tables keyed by store table name."""
        fid = self.fit_id_
        topic_rows, term_rows = [], []
        periods = [period_of(d.date, self.settings.period) for d in self.docs_]
        for t in range(self.k_):
            terms = self.lda_.show_topic(t, topn=20)
            topic_rows.append({"fit_id": fid, "topic_id": t, "label": " ".join(w for w, _ in terms[:3]),
                               "top_terms": " ".join(w for w, _ in terms)})
        # top terms of each topic by period: word weights reweighted by the period's documents
        for period in sorted(set(periods)):
            idx = [i for i, p in enumerate(periods) if p == period]
            for t in range(self.k_):
                counts: dict[int, float] = {}
                for i in idx:
                    for wid, c in self._bow(i):
                        counts[wid] = counts.get(wid, 0.0) + c * self.theta_[i, t]
                phi = self.lda_.get_topics()[t]
                scored = sorted(((v * phi[w], w) for w, v in counts.items()), reverse=True)[:20]
                total = sum(v for v, _ in scored) or 1.0
                for rank, (v, w) in enumerate(scored, 1):
                    term_rows.append({"fit_id": fid, "topic_id": t, "period": period, "rank": rank,
                                      "term": self.dictionary_[w], "weight": round(v / total, 6)})
        doc_rows = [{"fit_id": fid, "doc_id": d.doc_id, "topic_id": t, "weight": round(float(self.theta_[i, t]), 6)}
                    for i, d in enumerate(self.docs_) for t in range(self.k_) if self.theta_[i, t] >= 0.01]
        prev = self.prevalence({"period": periods})
        return {"topics": pd.DataFrame(topic_rows), "topic_terms_by_period": pd.DataFrame(term_rows),
                "doc_topics": pd.DataFrame(doc_rows), "topic_prevalence": prev}

    def _bow(self, i: int) -> list[tuple[int, int]]:
        toks = clean_tokens(self.docs_[i].tokens, self.stopwords, self.settings.min_token_length)
        return self.dictionary_.doc2bow(toks)

    def prevalence(self, groupings: dict[str, list[str]]) -> pd.DataFrame:
        """Mean topic share per group with bootstrap 95% intervals (resampling documents, seeded)."""
        rng = np.random.default_rng(self.settings.seed)
        rows = []
        for group_type, labels in groupings.items():
            labels_arr = np.array(labels)
            for group in sorted(set(labels)):
                idx = np.flatnonzero(labels_arr == group)
                sub = self.theta_[idx]
                share = sub.mean(axis=0)
                if self.settings.bootstrap and len(idx) > 1:
                    draws = rng.integers(0, len(idx), size=(self.settings.bootstrap, len(idx)))
                    boots = sub[draws].mean(axis=1)
                    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
                else:
                    lo, hi = share, share
                for t in range(self.k_):
                    rows.append({"fit_id": self.fit_id_, "topic_id": t, "group_type": group_type, "group": group,
                                 "share": round(float(share[t]), 6), "ci_low": round(float(lo[t]), 6),
                                 "ci_high": round(float(hi[t]), 6), "n_docs": int(len(idx))})
        return pd.DataFrame(rows)

    def metrics(self) -> dict[str, float]:
        tops = [[w for w, _ in self.lda_.show_topic(t, topn=25)] for t in range(self.k_)]
        diversity = len({w for ws in tops for w in ws}) / max(1, sum(len(ws) for ws in tops))
        return {"k": self.k_, "n_docs": len(self.docs_), "vocabulary": len(self.dictionary_),
                "topic_diversity": round(diversity, 4)}
