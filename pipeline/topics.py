"""Topic models of the segmented corpus: how strategic goals rise and fall over periods, regions, levels and
meeting series.

- `Vocabulary` turns jieba tokens into topic words: Chinese words only, a length window, the versioned stopword
  list, bigram phrases (`gensim.models.Phrases`, NPMI scoring) and `Dictionary.filter_extremes`.
- `TopicModel` fits either a dynamic topic model over periods (tomotopy `DTModel`, one timepoint per period) or
  static gensim LDA with guided (seeded) topics through the `eta` prior; either gives each topic's top words per
  period, each document's topic mix, and prevalence by period / region / level / series with bootstrap 95%
  intervals. `transform` scores new documents without refitting.
- Top words (the topics table, the words per period, the labels, and the words NPMI and topic diversity are
  computed on) are ranked by relevance, λ·log p(w|t) + (1-λ)·log(p(w|t)/p(w)) (Sievert & Shirley 2014, LDAvis;
  `topics.top_words_lambda`, 0.6 by default, 1.0 ranks by probability): words frequent in every topic of news
  prose (习近平_总书记, 人员, 达到 …) no longer fill the top of many topics. Their weights stay p(w|t).
- Unguided topics are anchored (`topics.anchor_words`): `nmf_anchors` factorises the documents' TF-IDF (sklearn
  NMF, NNDSVD start) and gives each unguided topic the top words of one theme as word priors, so chains with
  different seeds settle in the same mode (3-seed top-10 stability on the whole news archive 0.487 → 0.707).
- `sweep` fits gensim LDA over a range of K and scores each by NPMI, c_v and topic diversity.
- `write_model` / `read_model` keep a fit under `models/<fit_id>/`: settings, metrics, readable tables, and the
  fitted objects.

Everything follows the estimator contract (`__init__` stores parameters, `fit` returns self, learned state ends
in `_`). Same corpus, settings and seed give identical tables: tomotopy trains with one worker (its results are
then repeatable on one machine, though not across CPU instruction sets), gensim LDA runs in one process with
`random_state`, bootstrap draws come from a seeded generator, and every table is sorted and rounded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import TopicError
from pipeline.settings import TopicModel as ModelKind
from pipeline.settings import TopicSettings

log = logging.getLogger(__name__)

# 3: top words ranked by relevance (topics.top_words_lambda); 4: a guided topic whose seed words are not among
# its top words is labelled by its top words; 5: unguided topics anchored to NMF themes (topics.anchor_words)
VERSION = "5"

#: A fit's progress callback: (step, done, total); total 0 when the step has no count.
StepProgress = Callable[[str, int, int], None]

_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
_VERSION_LINE = re.compile(r"\(version\s+([^)\s]+)\)")
UNKNOWN_PERIOD = "unknown"
#: doc_topics keeps a document's topics with at least this weight (the full mix is in the model folder).
MIN_DOC_TOPIC = 0.01
#: NPMI and diversity use these many top words per topic.
TOP_NPMI, TOP_DIVERSITY, TOP_TERMS = 10, 25, 20


@dataclass(frozen=True, slots=True)
class TopicDoc:
    """One document for the topic model: its id, ISO date (or None) and segmented tokens."""

    doc_id: str
    date: str | None
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Stopwords:
    """A stopword list and the version written on its first line."""

    words: frozenset[str]
    version: str


def read_stopwords(path: Path) -> Stopwords:
    """Read a stopword list (one word a line, `#` comments, "(version N)" in the header)."""
    if not path.is_file():
        raise TopicError(f"{path}: stopword list not found (topics.stopwords)")
    text = path.read_text(encoding="utf-8")
    m = _VERSION_LINE.search(text.split("\n", 1)[0])
    version = m.group(1) if m else hashlib.sha256(text.encode()).hexdigest()[:8]
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return Stopwords(frozenset(w for w in words if w), version)


def clean_tokens(tokens: Iterable[str], stopwords: frozenset[str], min_length: int,
                 max_length: int = 12) -> list[str]:
    """Keep Chinese words of `min_length`..`max_length` characters that are not stopwords (interned)."""
    return [sys.intern(t) for t in tokens
            if min_length <= len(t) <= max_length and t not in stopwords and _WORD.match(t)]


def period_of(date: str | None, period: str) -> str:
    """The period label of an ISO date: "2019" for years, "2019-03" for months, "unknown" without a date."""
    if not date or len(date) < 4 or not date[:4].isdigit():
        return UNKNOWN_PERIOD
    period = getattr(period, "value", period)
    return date[:4] if period == "year" else date[:7]


# -- corpus preparation --------------------------------------------------------------------------------------
class Vocabulary:
    """Words of the topic corpus: phrases and a filtered dictionary learnt from cleaned token lists (seed words
    of guided topics are kept whatever their frequency)."""

    def __init__(self, settings: TopicSettings) -> None:
        self.settings = settings

    def fit(self, texts: Sequence[Sequence[str]]) -> Vocabulary:
        """Learn bigram phrases (if enabled) and the dictionary of words kept by `filter_extremes`."""
        from gensim.corpora import Dictionary
        from gensim.models.phrases import Phrases

        s = self.settings
        self.phrases_ = None
        if s.phrases:
            self.phrases_ = Phrases(texts, min_count=s.phrase_min_count, threshold=s.phrase_threshold,
                                    scoring="npmi", connector_words=frozenset(), delimiter="_").freeze()
        dictionary = Dictionary(self._phrased(t) for t in texts)
        no_below = min(s.no_below, max(1, len(texts) // 10))
        seeds = [w for words in s.seed_topics.values() for w in words if w in dictionary.token2id]
        dictionary.filter_extremes(no_below=no_below, no_above=s.no_above, keep_n=s.keep_n,
                                   keep_tokens=seeds)  # guided topics keep their seed words
        dictionary.compactify()
        self.dictionary_ = dictionary
        self.n_phrases_ = len(self.phrases_.phrasegrams) if self.phrases_ is not None else 0
        return self

    def _phrased(self, text: Sequence[str]) -> list[str]:
        if self.phrases_ is None:
            return list(text)
        return [sys.intern(w) for w in self.phrases_[list(text)]]

    def words(self, text: Sequence[str]) -> list[str]:
        """The topic words of one cleaned token list: phrases joined with "_", only dictionary words."""
        t2i = self.dictionary_.token2id
        return [w for w in self._phrased(text) if w in t2i]


# -- quality measures ----------------------------------------------------------------------------------------
def npmi(topics: Sequence[Sequence[str]], texts: Sequence[Sequence[str]], eps: float = 1e-12) -> list[float]:
    """Mean NPMI of each topic's word pairs, with document co-occurrence on `texts`.

    Same formula as gensim's `c_npmi` with a window as long as the document: log((p_ij+eps)/(p_i p_j)) /
    -log(p_ij+eps), averaged over the pairs of each topic."""
    from scipy import sparse

    vocab = sorted({w for t in topics for w in t})
    index = {w: i for i, w in enumerate(vocab)}
    rows, cols = [], []
    for d, text in enumerate(texts):
        for j in {index[w] for w in text if w in index}:
            rows.append(d)
            cols.append(j)
    n = max(1, len(texts))
    x = sparse.csc_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, len(vocab)))
    out = []
    for t in topics:
        idx = [index[w] for w in t]
        sub = x[:, idx]
        co = (sub.T @ sub).toarray() / n
        p = np.diag(co).copy()
        vals = []
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                pij = co[a, b]
                denom = p[a] * p[b]
                if denom == 0:
                    vals.append(0.0)
                    continue
                vals.append(np.log((pij + eps) / denom) / -np.log(pij + eps))
        out.append(float(np.mean(vals)) if vals else 0.0)
    return out


def relevance(phi: np.ndarray, p_w: np.ndarray, lam: float) -> np.ndarray:
    """Relevance of each word to a topic (Sievert & Shirley 2014, LDAvis): λ·log p(w|t) + (1-λ)·log(p(w|t)/p(w)).

    λ = 1 ranks by probability; lower λ lifts words specific to the topic over words frequent everywhere (the
    words that make topics look alike). Sievert & Shirley found λ ≈ 0.6 best for interpretation. Words with
    p(w) = 0 (absent from the fitted corpus) rank last."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_phi = np.log(phi)
        score = lam * log_phi + (1.0 - lam) * (log_phi - np.log(p_w))
    return np.where(np.isfinite(score), score, -np.inf)


def top_indices(phi: np.ndarray, p_w: np.ndarray, lam: float, n: int) -> np.ndarray:
    """Indices of the `n` words of one topic-word distribution `phi` ranked by relevance with `lam` over the word
    shares `p_w` (λ = 1: by probability); ties go to the lower index."""
    score = relevance(phi, p_w, lam) if lam < 1.0 else phi
    return np.lexsort((np.arange(len(phi)), -score))[:n]


def diversity(topics: Sequence[Sequence[str]]) -> float:
    """Share of unique words among the topics' top words (1.0: no word shared by two topics)."""
    total = sum(len(t) for t in topics)
    return len({w for t in topics for w in t}) / total if total else 0.0


def _matched(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> np.ndarray:
    """For each topic of run `a`, the Jaccard overlap of its top words with the topic of run `b` it is matched to
    one-to-one (Hungarian assignment maximising the total overlap)."""
    from scipy.optimize import linear_sum_assignment

    sa, sb = [set(t) for t in a], [set(t) for t in b]
    jac = np.array([[len(x & y) / len(x | y) if x | y else 0.0 for y in sb] for x in sa])
    r, c = linear_sum_assignment(-jac)
    out = np.zeros(len(sa))
    out[r] = jac[r, c]
    return out


def stability(runs: Sequence[Sequence[Sequence[str]]]) -> float:
    """Mean Jaccard overlap of top words of topics matched one-to-one (Hungarian) between every pair of runs."""
    scores = [float(_matched(runs[a], runs[b]).mean()) for a in range(len(runs)) for b in range(a + 1, len(runs))]
    return float(np.mean(scores)) if scores else float("nan")


def stability_by_topic(runs: Sequence[Sequence[Sequence[str]]]) -> list[float]:
    """For each topic of the first run, the mean Jaccard overlap with its matched topic in each other run: which
    topics recur whatever the seed (near 1) and which a refit carves differently (near 0)."""
    if len(runs) < 2:
        return [float("nan")] * len(runs[0]) if runs else []
    return [float(v) for v in np.mean([_matched(runs[0], other) for other in runs[1:]], axis=0)]


# -- anchors -------------------------------------------------------------------------------------------------
def nmf_anchors(texts: Sequence[Sequence[str]], k: int, n_words: int, guided: Sequence[Sequence[str]] = (),
                seed: int = 0) -> list[list[str]]:
    """Anchor words for the `k - len(guided)` unguided topics of a fit with `k` topics, from the themes a
    non-negative matrix factorisation of the documents' TF-IDF finds (sklearn `NMF`, NNDSVD start; `seed` drives
    its randomised SVD).

    A Gibbs chain started at random settles in one of many modes: on the news archive, themes such as space
    flight or expos got a topic of their own under one seed and shared one under another. NMF's NNDSVD start
    follows the data's leading singular vectors, so its themes recur from seed to seed; anchoring each unguided
    topic to one theme (its `n_words` anchor words get a guided topic's word priors) makes the chains settle in
    the same mode. The factorisation has `k` components; a component with a seed word of a `guided` topic among
    its top five words is that guided topic's theme and anchors none; the others anchor topics, largest first
    (total document weight). Each word anchors at most one component, the one where its share of the
    component's weight is largest, and guided seed words anchor none."""
    n_topics = k - len(guided)
    if n_topics <= 0 or n_words <= 0:
        return []
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    seeds = frozenset(w for words in guided for w in words)
    vectorizer = TfidfVectorizer(analyzer=list, sublinear_tf=True, lowercase=False)
    x = vectorizer.fit_transform(texts)
    words = vectorizer.get_feature_names_out()
    nmf = NMF(n_components=min(k, *x.shape), init="nndsvd", random_state=seed, max_iter=400)
    w = nmf.fit_transform(x)
    h = nmf.components_
    ranked = np.argsort(-h, axis=1, kind="stable")  # each component's words, heaviest first
    comps = [c for c in np.argsort(-w.sum(axis=0), kind="stable")
             if not any(words[i] in seeds for i in ranked[c, :5])][:n_topics]
    if not comps:
        return []
    owner = (h[comps] / np.maximum(h[comps].sum(axis=1, keepdims=True), 1e-300)).argmax(axis=0)
    return [[str(words[i]) for i in ranked[c] if owner[i] == j and words[i] not in seeds][:n_words]
            for j, c in enumerate(comps)]


def c_v(topics: Sequence[Sequence[str]], texts: Sequence[Sequence[str]], dictionary: Any) -> float:
    """gensim's c_v coherence of the topics on `texts` (one process; topics it cannot score are left out)."""
    from gensim.models.coherencemodel import CoherenceModel

    cm = CoherenceModel(topics=[list(t) for t in topics], texts=[list(t) for t in texts], dictionary=dictionary,
                        coherence="c_v", processes=1)
    per_topic = np.array(cm.get_coherence_per_topic(), dtype=float)  # NaN: a top word absent from `texts`
    return float(np.nanmean(per_topic)) if np.isfinite(per_topic).any() else float("nan")


# -- the model -----------------------------------------------------------------------------------------------
class TopicModel:
    """Topics of a corpus and their prevalence. `fit` takes TopicDocs (streamed); tables are DataFrames."""

    def __init__(self, settings: TopicSettings, stopwords: Stopwords | frozenset[str] = frozenset(),
                 k: int | None = None, seed: int | None = None) -> None:
        self.settings = settings
        self.stopwords = stopwords
        self.k = k
        self.seed = seed

    # -- fitting -------------------------------------------------------------------------------------------
    @property
    def _stop(self) -> frozenset[str]:
        return self.stopwords.words if isinstance(self.stopwords, Stopwords) else frozenset(self.stopwords)

    def prepare(self, corpus: Iterable[TopicDoc]) -> tuple[list[TopicDoc], list[list[str]]]:
        """Clean every document's tokens (streaming); keep documents with at least one word."""
        s, stop = self.settings, self._stop
        docs, texts = [], []
        for d in corpus:
            toks = clean_tokens(d.tokens, stop, s.min_token_length, s.max_token_length)
            if toks:
                docs.append(TopicDoc(d.doc_id, d.date, ()))
                texts.append(toks)
        return docs, texts

    def fit(self, corpus: Iterable[TopicDoc], prepared: tuple[list[TopicDoc], list[list[str]]] | None = None,
            vocabulary: Vocabulary | None = None, progress: StepProgress | None = None) -> TopicModel:
        """Fit the vocabulary and the topic model on the documents (`prepared`/`vocabulary` reuse earlier work).
        `progress(step, done, total)` hears of each step (reading, vocabulary, anchors, sampling with its
        iterations, periods) as it goes; it does not change the fit."""
        s = self.settings
        note = progress or _no_progress
        note("reading", 0, 0)
        docs, cleaned = prepared if prepared is not None else self.prepare(corpus)
        note("vocabulary", 0, 0)
        if len(docs) < s.min_docs:
            raise TopicError(f"only {len(docs)} documents with topic words; at least {s.min_docs} are needed "
                             f"(topics.min_docs)")
        vocab = vocabulary if vocabulary is not None else Vocabulary(s).fit(cleaned)
        texts = [vocab.words(t) for t in cleaned]
        keep = [i for i, t in enumerate(texts) if t]
        docs, texts = [docs[i] for i in keep], [texts[i] for i in keep]
        if len(docs) < s.min_docs:
            raise TopicError(f"only {len(docs)} documents keep words after filtering; at least {s.min_docs} are "
                             f"needed (topics.min_docs, no_below, no_above)")
        k = effective_k(self.k or s.k, len(docs), len(s.seed_topics))
        if len(vocab.dictionary_) < k:
            raise TopicError(f"vocabulary of {len(vocab.dictionary_)} words after filtering is smaller than k={k}")
        self.seed_ = s.seed if self.seed is None else self.seed
        self.vocabulary_, self.docs_, self.k_ = vocab, docs, k
        self.periods_ = sorted({period_of(d.date, s.period) for d in docs} - {UNKNOWN_PERIOD})
        self.dtm_ = self.tlda_ = self.lda_ = None
        self.period_phi_ = self.word_share_ = self.top_terms_ = None
        guided = [words for _label, words in self._seed_words(warn=True)]
        note("anchors", 0, 0)
        self.anchors_ = nmf_anchors(texts, k, s.anchor_words, guided, self.seed_)
        if s.model is ModelKind.timelda:
            self._fit_timelda(texts, note)
        elif s.model is ModelKind.dtm:
            self._fit_dtm(texts, note)
        else:
            note("sampling", 0, 0)
            self._fit_lda(texts)
        self.labels_ = self._labels()
        self.fit_id_ = self._fit_id(texts)
        self.texts_ = texts
        for g in self.guided_topics():
            if g["seed_words"] and not g["seed_words_in_top"]:
                log.warning("guided topic %s (topic %d): none of its seed words %s is among its top %d words (%s): the "
                            "data gave the topic another theme, so it is labelled by its top words; choose more specific "
                            "seed words or raise topics.seed_prior", g["label"], g["topic_id"], g["seed_words"],
                            TOP_TERMS, " ".join(g["top_words"][:10]))
        return self

    def guided_topics(self) -> list[dict[str, Any]]:
        """For each guided topic: its label, its seed words in the vocabulary, its top `TOP_TERMS` words and the
        seed words among them. None among them: the seeds did not hold the topic (`fit` warns; `metrics` records
        it)."""
        tops = self._top_terms()
        return [{"topic_id": j, "label": label, "seed_words": words, "top_words": tops[j],
                 "seed_words_in_top": [w for w in words if w in tops[j]]}
                for j, (label, words) in enumerate(self._seed_words())]

    def anchored_topics(self) -> list[dict[str, Any]]:
        """For each anchored topic: its id, its NMF anchor words and those among its top `TOP_TERMS` words."""
        n_guided = len(self._seed_words())
        tops = self._top_terms()
        return [{"topic_id": n_guided + i, "anchor_words": list(words),
                 "anchor_words_in_top": [w for w in words if w in tops[n_guided + i]]}
                for i, words in enumerate(self.anchors_)]

    def _top_terms(self) -> list[list[str]]:
        """Each topic's top `TOP_TERMS` words, worked out once per fit: the labels, the guided and anchored
        topics, the warning and the metrics share them."""
        cached = getattr(self, "top_terms_", None)
        if cached is None:
            cached = self.top_terms_ = [[w for w, _ in ws] for ws in self.top_words(TOP_TERMS)]
        return cached

    def _seed_words(self, warn: bool = False) -> list[tuple[str, list[str]]]:
        """(label, seed words in the vocabulary) for each guided topic, in config order (`warn`: log the guided
        topics none of whose seed words is in the vocabulary)."""
        t2i = self.vocabulary_.dictionary_.token2id
        out = []
        for label, words in self.settings.seed_topics.items():
            found = [w for w in words if w in t2i]
            if not found and warn:
                log.warning("guided topic %s: none of its seed words %s is in the vocabulary", label, words)
            out.append((label, found))
        return out[: self.k_]

    def _prior_words(self) -> list[tuple[int, list[str]]]:
        """(topic, words) whose word priors pull them into that topic: each guided topic's seed words, then each
        anchored topic's anchor words (topics after the guided ones)."""
        guided = [words for _label, words in self._seed_words()]
        anchored = [(len(guided) + i, words) for i, words in enumerate(self.anchors_)]
        return list(enumerate(guided)) + anchored

    def _fit_lda(self, texts: list[list[str]]) -> None:
        from gensim.models import LdaModel

        s, dictionary = self.settings, self.vocabulary_.dictionary_
        bows = [dictionary.doc2bow(t) for t in texts]
        eta = np.full((self.k_, len(dictionary)), 1.0 / self.k_)
        cfs = np.zeros(len(dictionary))
        for wid, cf in dictionary.cfs.items():
            cfs[wid] = cf
        for j, words in self._prior_words():
            for w in words:
                wid = dictionary.token2id[w]
                eta[j, wid] += s.seed_weight * cfs[wid]  # pseudo-counts: a share of the word's corpus count
        lda = LdaModel(bows, id2word=dictionary, num_topics=self.k_, passes=s.passes, iterations=s.iterations,
                       random_state=self.seed_, alpha="asymmetric", eta=eta, chunksize=2000,
                       eval_every=None)
        self.lda_ = lda
        self.theta_ = _lda_theta(lda, bows, self.k_)

    def _fit_dtm(self, texts: list[list[str]], note: StepProgress) -> None:
        import tomotopy as tp

        s = self.settings
        n_t = max(1, len(self.periods_))
        mdl = tp.DTModel(k=self.k_, t=n_t, seed=self.seed_, alpha_var=s.dtm_alpha_var, eta_var=s.dtm_eta_var,
                         phi_var=s.dtm_phi_var)
        self._set_priors(mdl)
        dated, undated = [], []
        for i, (d, t) in enumerate(zip(self.docs_, texts)):
            p = period_of(d.date, s.period)
            if p == UNKNOWN_PERIOD:
                undated.append(i)
            else:
                mdl.add_doc(t, timepoint=self.periods_.index(p) if n_t > 1 else 0)
                dated.append(i)
        if not dated:  # no dates at all: one timepoint
            for i in undated:
                mdl.add_doc(texts[i], timepoint=0)
            dated, undated = undated, []
        mdl.train(0, workers=1)
        _train(mdl, s.iterations, note)
        theta = np.zeros((len(self.docs_), self.k_))
        for i, doc in zip(dated, mdl.docs):  # in the order added (indexing `docs[i]` fails in tomotopy 0.14)
            theta[i] = doc.get_topic_dist()
        self.dtm_ = mdl
        if undated:  # documents without a date: topic mix inferred at the middle timepoint
            theta[undated] = self._dtm_infer([texts[i] for i in undated], [n_t // 2] * len(undated))
        self.theta_ = theta

    def _set_priors(self, mdl: Any) -> None:
        """Guided and anchored topics in tomotopy: a seed or anchor word's prior is high in its topic and low in
        the others (tomotopy also draws each word's first topic from its prior, so the chain starts there)."""
        s = self.settings
        for j, words in self._prior_words():
            for w in words:
                prior = [s.seed_prior_other] * self.k_
                prior[j] = s.seed_prior
                mdl.set_word_prior(w, prior)

    def _fit_timelda(self, texts: list[list[str]], note: StepProgress) -> None:
        """tomotopy LDA (collapsed Gibbs sampling, one worker), then each topic's word distribution in each
        period from the words the sampler gave that topic in that period's documents, pooled with neighbouring
        periods by a Gaussian kernel (`time_bandwidth`) and shrunk toward the topic's overall distribution
        (`time_prior` pseudo-words)."""
        import tomotopy as tp

        s = self.settings
        mdl = tp.LDAModel(k=self.k_, alpha=s.alpha, eta=s.eta, seed=self.seed_)
        self._set_priors(mdl)
        for t in texts:
            mdl.add_doc(t)
        mdl.train(0, workers=1)
        _train(mdl, s.iterations, note)
        note("periods", 0, 0)
        self.tlda_ = mdl
        n_p, n_v = max(1, len(self.periods_)), len(mdl.used_vocabs)
        pindex = {p: i for i, p in enumerate(self.periods_)}
        counts = np.zeros((n_p, self.k_, n_v), dtype=np.float64)
        theta = np.zeros((len(self.docs_), self.k_))
        for i, (d, doc) in enumerate(zip(self.docs_, mdl.docs)):  # in the order added
            theta[i] = doc.get_topic_dist()
            p = pindex.get(period_of(d.date, s.period))
            if p is not None:
                z = np.asarray(doc.topics, dtype=np.int64)
                np.add.at(counts[p], (z, np.asarray(doc.words, dtype=np.int64)), 1.0)
        self.theta_ = theta
        phi = np.array([mdl.get_topic_word_dist(t) for t in range(self.k_)], dtype=np.float64)
        if s.time_bandwidth > 0 and n_p > 1:
            pos = np.arange(n_p)
            kernel = np.exp(-((pos[:, None] - pos[None, :]) ** 2) / (2 * s.time_bandwidth ** 2))
            counts = np.tensordot(kernel, counts, axes=(1, 0))
        smoothed = counts + s.time_prior * phi[None, :, :]
        self.period_phi_ = smoothed / smoothed.sum(axis=2, keepdims=True)

    def _dtm_infer(self, texts: list[list[str]], timepoints: list[int]) -> np.ndarray:
        theta = np.zeros((len(texts), self.k_))
        todo = [i for i, t in enumerate(texts) if t]
        if todo:
            docs = [self.dtm_.make_doc(texts[i], timepoint=timepoints[i]) for i in todo]
            dists, _ll = self.dtm_.infer(docs, iterations=self.settings.infer_iterations, workers=1)
            for i, dist in zip(todo, dists):
                theta[i] = dist
        return theta

    # -- scoring new documents -----------------------------------------------------------------------------
    def transform(self, corpus: Iterable[TopicDoc]) -> tuple[list[TopicDoc], np.ndarray]:
        """Topic mix of new documents under the fitted model (no refit); documents without words are dropped."""
        docs, cleaned = self.prepare(corpus)
        texts = [self.vocabulary_.words(t) for t in cleaned]
        keep = [i for i, t in enumerate(texts) if t]
        docs, texts = [docs[i] for i in keep], [texts[i] for i in keep]
        if self.tlda_ is not None:
            return docs, self._tlda_infer(texts)
        if self.dtm_ is not None:
            mid = max(1, len(self.periods_)) // 2
            tps = [self._timepoint(period_of(d.date, self.settings.period), mid) for d in docs]
            return docs, self._dtm_infer(texts, tps)
        bows = [self.vocabulary_.dictionary_.doc2bow(t) for t in texts]
        return docs, _lda_theta(self.lda_, bows, self.k_)

    def _tlda_infer(self, texts: list[list[str]]) -> np.ndarray:
        theta = np.zeros((len(texts), self.k_))
        if texts:
            docs = [self.tlda_.make_doc(t) for t in texts]
            dists, _ll = self.tlda_.infer(docs, iterations=self.settings.infer_iterations, workers=1)
            for i, dist in enumerate(dists):
                theta[i] = dist
        return theta

    def _timepoint(self, period: str, default: int) -> int:
        """Timepoint of a period; a period outside the fit goes to the nearest one."""
        if period == UNKNOWN_PERIOD or not self.periods_:
            return default
        return min(bisect_left(self.periods_, period), len(self.periods_) - 1)

    def scored(self, corpus: Iterable[TopicDoc]) -> TopicModel:
        """A copy of this fit whose documents include the new ones in `corpus` (scored by `transform`)."""
        known = {d.doc_id for d in self.docs_}
        docs, theta = self.transform(d for d in corpus if d.doc_id not in known)
        new = copy.copy(self)
        new.docs_ = self.docs_ + docs
        new.theta_ = np.vstack([self.theta_, theta]) if len(docs) else self.theta_
        return new

    # -- topic words ---------------------------------------------------------------------------------------
    def top_words(self, n: int = TOP_TERMS, topic: int | None = None, timepoint: int | None = None,
                  lam: float | None = None) -> list[list[tuple[str, float]]]:
        """Top words with weights of every topic (or one); for the dynamic model, overall (mean over
        timepoints) or at one timepoint. Ranked by relevance with `lam` (default `topics.top_words_lambda`;
        1.0: by probability)."""
        topics = range(self.k_) if topic is None else [topic]
        lam = self.settings.top_words_lambda if lam is None else lam
        lda_phi, out = None, []
        for t in topics:
            if self.tlda_ is not None:
                if timepoint is not None and self.period_phi_ is not None:
                    phi = self.period_phi_[timepoint, t]
                else:
                    phi = np.asarray(self.tlda_.get_topic_word_dist(t), dtype=np.float64)
                vocabs = self.tlda_.used_vocabs
            elif self.dtm_ is not None:
                if timepoint is not None:
                    phi = np.asarray(self.dtm_.get_topic_word_dist(t, timepoint=timepoint), dtype=np.float64)
                else:
                    phi = np.mean([self.dtm_.get_topic_word_dist(t, timepoint=tp_)
                                   for tp_ in range(self.dtm_.num_timepoints)], axis=0)
                vocabs = self.dtm_.used_vocabs
            else:
                if lda_phi is None:
                    lda_phi = self.lda_.get_topics().astype(np.float64)
                phi = lda_phi[t]
                vocabs = self.vocabulary_.dictionary_
            order = top_indices(phi, self._word_share(), lam, n)
            out.append([(vocabs[int(i)], float(phi[i])) for i in order])
        return out

    def _word_share(self) -> np.ndarray:
        """Each vocabulary word's share of all word tokens of the fitted corpus, p(w), in the model's word order
        (the marginal of the relevance ranking)."""
        cached = getattr(self, "word_share_", None)
        if cached is not None:
            return cached
        if self.tlda_ is not None or self.dtm_ is not None:
            freq = np.asarray((self.tlda_ or self.dtm_).used_vocab_freq, dtype=np.float64)
        else:
            dictionary = self.vocabulary_.dictionary_
            freq = np.zeros(len(dictionary))
            for wid, cf in dictionary.cfs.items():
                freq[wid] = cf
        self.word_share_ = freq / max(freq.sum(), 1.0)
        return self.word_share_

    def _labels(self) -> list[str]:
        """A guided topic's label where its seed words are among its top words; otherwise, and for the other
        topics, its top three words (a guided topic that took another theme must not carry the seeds' name)."""
        seeded = {g["topic_id"]: g["label"] for g in self.guided_topics() if g["seed_words_in_top"]}
        return [seeded.get(t, " ".join(self._top_terms()[t][:3])) for t in range(self.k_)]

    def _fit_id(self, texts: list[list[str]]) -> str:
        h = hashlib.sha256()
        cfg = self.settings.model_dump(mode="json", exclude={"models_dir", "enabled", "refit", "stability_seeds"})
        cfg.update(k=self.k_, seed=self.seed_, version=VERSION,
                   stopwords=self.stopwords.version if isinstance(self.stopwords, Stopwords) else None)
        h.update(json.dumps(cfg, sort_keys=True, ensure_ascii=False).encode())
        for d, t in zip(self.docs_, texts):
            h.update(d.doc_id.encode())
            h.update("\x1f".join(t).encode())
        return f"{self.settings.model.value}-k{self.k_}-{h.hexdigest()[:10]}"

    # -- tables --------------------------------------------------------------------------------------------
    def tables(self, groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> dict[str, pd.DataFrame]:
        """The fit's tables keyed by store table name; `groups` maps a group type (region, level, series) to
        each document's group labels (a document in several groups counts in each)."""
        fid = self.fit_id_
        words = self.top_words(TOP_TERMS)
        topic_rows = [{"fit_id": fid, "topic_id": t, "label": self.labels_[t],
                       "top_terms": " ".join(w for w, _ in words[t])} for t in range(self.k_)]
        doc_rows = [{"fit_id": fid, "doc_id": d.doc_id, "topic_id": t, "weight": round(float(self.theta_[i, t]), 6)}
                    for i, d in enumerate(self.docs_) for t in range(self.k_) if self.theta_[i, t] >= MIN_DOC_TOPIC]
        memberships: dict[str, Mapping[str, Sequence[str]]] = {
            "period": {d.doc_id: [period_of(d.date, self.settings.period)] for d in self.docs_}}
        memberships.update(groups or {})
        doc_topics = pd.DataFrame(doc_rows, columns=["fit_id", "doc_id", "topic_id", "weight"])
        doc_topics = doc_topics.sort_values(["doc_id", "topic_id"], kind="stable").reset_index(drop=True)
        return {"topics": pd.DataFrame(topic_rows), "topic_terms_by_period": self.terms_by_period(),
                "doc_topics": doc_topics, "topic_prevalence": self.prevalence(memberships)}

    def terms_by_period(self, n: int = TOP_TERMS) -> pd.DataFrame:
        """Top words of each topic in each period: the dynamic model's own word distributions per timepoint;
        for LDA, the topic's word weights re-weighted by the period's documents."""
        saved = getattr(self, "terms_by_period_", None)
        if saved is not None:  # a loaded fit keeps the period words it was fitted with
            return saved
        rows = []
        if self.dtm_ is not None or self.period_phi_ is not None:
            for tp_, period in enumerate(self.periods_ or ["all"]):
                for t in range(self.k_):
                    for rank, (w, p) in enumerate(self.top_words(n, t, tp_)[0], 1):
                        rows.append((t, period, rank, w, round(p, 6)))
        else:
            periods = [period_of(d.date, self.settings.period) for d in self.docs_]
            phi = self.lda_.get_topics()
            d2b = self.vocabulary_.dictionary_.doc2bow
            for period in sorted(set(periods)):
                idx = [i for i, p in enumerate(periods) if p == period]
                counts = np.zeros((self.k_, phi.shape[1]))
                for i in idx:
                    for wid, c in d2b(self.texts_[i]) if i < len(self.texts_) else []:
                        counts[:, wid] += c * self.theta_[i]
                scores = counts * phi
                for t in range(self.k_):
                    order = np.lexsort((np.arange(phi.shape[1]), -scores[t]))[:n]
                    total = scores[t, order].sum() or 1.0
                    for rank, w in enumerate(order, 1):
                        if scores[t, w] > 0:
                            rows.append((t, period, rank, self.vocabulary_.dictionary_[int(w)],
                                         round(float(scores[t, w] / total), 6)))
        df = pd.DataFrame(rows, columns=["topic_id", "period", "rank", "term", "weight"])
        df.insert(0, "fit_id", self.fit_id_)
        return df.sort_values(["topic_id", "period", "rank"], kind="stable").reset_index(drop=True)

    def prevalence(self, memberships: Mapping[str, Mapping[str, Sequence[str]]]) -> pd.DataFrame:
        """Mean topic share per group with bootstrap 95% percentile intervals (documents resampled with a
        seeded generator; `settings.bootstrap` draws). `memberships`: group type → doc_id → group labels."""
        s = self.settings
        rng = np.random.default_rng(self.seed_)
        row_of = {d.doc_id: i for i, d in enumerate(self.docs_)}
        rows = []
        for group_type in memberships:
            members: dict[str, list[int]] = {}
            for doc_id, labels in memberships[group_type].items():
                i = row_of.get(doc_id)
                if i is None:
                    continue
                for g in sorted(set(labels)):
                    if g:
                        members.setdefault(str(g), []).append(i)
            for group in sorted(members):
                idx = np.array(sorted(members[group]))
                sub = self.theta_[idx]
                share = sub.mean(axis=0)
                lo, hi = _bootstrap(sub, s.bootstrap, rng) if s.bootstrap and len(idx) > 1 else (share, share)
                for t in range(self.k_):
                    rows.append({"fit_id": self.fit_id_, "topic_id": t, "group_type": group_type, "group": group,
                                 "share": round(float(share[t]), 6), "ci_low": round(float(lo[t]), 6),
                                 "ci_high": round(float(hi[t]), 6), "n_docs": int(len(idx))})
        return pd.DataFrame(rows, columns=["fit_id", "topic_id", "group_type", "group", "share", "ci_low",
                                           "ci_high", "n_docs"])

    # -- quality -------------------------------------------------------------------------------------------
    def metrics(self, coherence_docs: int | None = None) -> dict[str, Any]:
        """NPMI (top 10, document co-occurrence on the fitted corpus), c_v on a seeded sample of documents,
        topic diversity (unique share of top 25) and the size of the fit."""
        tops10 = [[w for w, _ in ws] for ws in self.top_words(TOP_NPMI)]
        tops25 = [[w for w, _ in ws] for ws in self.top_words(TOP_DIVERSITY)]
        per_topic = npmi(tops10, self.texts_)
        n_cv = self.settings.coherence_docs if coherence_docs is None else coherence_docs
        sample = _sample(self.texts_, n_cv, self.seed_)
        out: dict[str, Any] = {
            "model": self.settings.model.value, "k": self.k_, "seed": self.seed_, "n_docs": len(self.docs_),
            "n_docs_undated": sum(period_of(d.date, self.settings.period) == UNKNOWN_PERIOD for d in self.docs_),
            "periods": len(self.periods_), "vocabulary": len(self.vocabulary_.dictionary_),
            "phrases": self.vocabulary_.n_phrases_,
            "npmi": round(float(np.mean(per_topic)), 4), "npmi_by_topic": [round(v, 4) for v in per_topic],
            "c_v": round(c_v(tops10, sample, self.vocabulary_.dictionary_), 4) if n_cv else None,
            "c_v_docs": len(sample) if n_cv else 0,
            "topic_diversity": round(diversity(tops25), 4),
            "guided_topics": [{k: v for k, v in g.items() if k != "top_words"} for g in self.guided_topics()],
            "anchored_topics": self.anchored_topics(),
            "stopwords_version": self.stopwords.version if isinstance(self.stopwords, Stopwords) else None,
        }
        return out


def _no_progress(_step: str, _done: int, _total: int) -> None:
    pass


def _train(mdl: Any, iterations: int, note: StepProgress) -> None:
    """Gibbs sampling of a tomotopy model, one worker (so a seed gives the same topics), telling `note` every
    ten iterations (tomotopy's callback: the same chain as without it)."""
    note("sampling", 0, iterations)
    mdl.train(iterations, workers=1, callback_interval=10,
              callback=lambda _m, done, total: note("sampling", done, total))
    note("sampling", iterations, iterations)


def effective_k(k: int, n_docs: int, n_seeded: int = 0) -> int:
    """The number of topics actually fitted: `k`, capped at one topic per ten documents on a small corpus
    (never fewer than two, nor fewer than the guided topics plus one)."""
    return max(2, min(k, max(n_seeded + 1, n_docs // 10)))


def _lda_theta(lda: Any, bows: list[list[tuple[int, int]]], k: int) -> np.ndarray:
    theta = np.zeros((len(bows), k))
    for i, bow in enumerate(bows):
        for t, w in lda.get_document_topics(bow, minimum_probability=0.0):
            theta[i, t] = w
    return theta


def _bootstrap(sub: np.ndarray, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2.5% and 97.5% percentiles of the mean of `sub`'s rows over `draws` resamples (in chunks, so memory
    stays at chunk × rows)."""
    n = len(sub)
    means = np.empty((draws, sub.shape[1]))
    chunk = max(1, min(draws, 2_000_000 // n))
    for start in range(0, draws, chunk):
        m = min(chunk, draws - start)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(np.float64)
        means[start:start + m] = counts @ sub / n
    lo, hi = np.percentile(means, [2.5, 97.5], axis=0)
    return lo, hi


def _sample(items: Sequence[Any], n: int, seed: int) -> list[Any]:
    if n <= 0 or len(items) <= n:
        return list(items)
    idx = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in idx]


# -- several fits --------------------------------------------------------------------------------------------
def sweep(settings: TopicSettings, stopwords: Stopwords, corpus: Iterable[TopicDoc], ks: Sequence[int],
          sample: int | None = None) -> pd.DataFrame:
    """Fit static gensim LDA (guided topics included) for each K on one prepared corpus (a seeded sample of
    `settings.sweep_docs` documents at most) and score it: NPMI, c_v, topic diversity. Rows sorted by k."""
    lda_settings = settings.model_copy(update={"model": ModelKind.lda})
    base = TopicModel(lda_settings, stopwords)
    docs, cleaned = base.prepare(corpus)
    n = settings.sweep_docs if sample is None else sample
    if n and len(docs) > n:
        idx = np.sort(np.random.default_rng(settings.seed).choice(len(docs), size=n, replace=False))
        docs, cleaned = [docs[i] for i in idx], [cleaned[i] for i in idx]
    vocab = Vocabulary(lda_settings).fit(cleaned)
    rows = []
    for k in ks:
        m = TopicModel(lda_settings, stopwords, k=k).fit((), prepared=(docs, cleaned), vocabulary=vocab)
        met = m.metrics()
        rows.append({"k": k, "k_fitted": m.k_, "npmi": met["npmi"], "c_v": met["c_v"],
                     "topic_diversity": met["topic_diversity"], "n_docs": met["n_docs"]})
        log.info("sweep k=%d: npmi %.4f, c_v %s, diversity %.3f", k, met["npmi"], met["c_v"], met["topic_diversity"])
    return pd.DataFrame(rows)


def choose_k(table: pd.DataFrame, min_diversity: float = 0.8) -> int:
    """The K with the highest NPMI among those whose topic diversity is at least `min_diversity` (all K when
    none is); ties go to the smaller K."""
    ok = table[table["topic_diversity"] >= min_diversity]
    pool = ok if len(ok) else table
    best = pool.sort_values(["npmi", "k"], ascending=[False, True], kind="stable").iloc[0]
    return int(best["k_fitted"])


def seed_stability(model: TopicModel, extra_seeds: int) -> dict[str, Any]:
    """Top-10 Jaccard stability of `model` against refits with `extra_seeds` other seeds (same corpus, same K):
    `stability` over all pairs of fits and `stability_by_topic` for each topic of `model`."""
    runs = [[[w for w, _ in ws] for ws in model.top_words(TOP_NPMI)]]
    for j in range(1, extra_seeds + 1):
        m = TopicModel(model.settings, model.stopwords, k=model.k_, seed=model.seed_ + j)
        m.fit((), prepared=(model.docs_, [list(t) for t in model.texts_]), vocabulary=_identity(model.vocabulary_))
        runs.append([[w for w, _ in ws] for ws in m.top_words(TOP_NPMI)])
    return {"stability": round(stability(runs), 4),
            "stability_by_topic": [round(v, 4) for v in stability_by_topic(runs)]}


def _identity(vocab: Vocabulary) -> Vocabulary:
    """A vocabulary with the same dictionary and no phrase step (for texts already phrased)."""
    v = copy.copy(vocab)
    v.phrases_ = None
    return v


# -- model folders -------------------------------------------------------------------------------------------
def write_model(model: TopicModel, folder: Path, metrics: Mapping[str, Any],
                tables: Mapping[str, pd.DataFrame], sweep_table: pd.DataFrame | None = None) -> Path:
    """Write a fit to `folder` (models/<fit_id>/): settings.json, metrics.json, the readable tables as CSV, the
    dictionary as text, the phrase list, the document-topic matrix and the fitted model; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = model.settings.model_dump(mode="json")
    settings.update(fit_id=model.fit_id_, k_fitted=model.k_, seed_fitted=model.seed_, periods=model.periods_,
                    version=VERSION, labels=model.labels_, anchors=model.anchors_)
    (folder / "settings.json").write_text(json.dumps(settings, ensure_ascii=False, indent=2, sort_keys=True),
                                          encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(dict(metrics), ensure_ascii=False, indent=2, sort_keys=True),
                                         encoding="utf-8")
    for name, df in tables.items():
        if name != "doc_topics":
            df.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    if sweep_table is not None:
        sweep_table.to_csv(folder / "sweep.csv", index=False, encoding="utf-8")
    model.vocabulary_.dictionary_.save_as_text(str(folder / "dictionary.txt"))
    phrases = model.vocabulary_.phrases_
    if phrases is not None:
        phrases.save(str(folder / "phrases.pkl"))
        (folder / "phrases.txt").write_text("".join(f"{p}\t{s:.4f}\n" for p, s in sorted(
            phrases.phrasegrams.items())), encoding="utf-8")
    np.savez_compressed(folder / "doc_topics.npz", doc_id=np.array([d.doc_id for d in model.docs_]),
                        date=np.array([d.date or "" for d in model.docs_]), theta=model.theta_)
    if model.tlda_ is not None:
        model.tlda_.save(str(folder / "model.lda.bin"), full=False)
    elif model.dtm_ is not None:
        model.dtm_.save(str(folder / "model.dtm.bin"), full=False)
    else:
        model.lda_.save(str(folder / "model.lda"))
    return folder


def read_model(folder: Path, stopwords: Stopwords) -> TopicModel:
    """Load a fit written by `write_model`, ready for `transform`/`scored`/`tables` (not for refitting)."""
    from gensim.corpora import Dictionary
    from gensim.models.phrases import FrozenPhrases

    folder = Path(folder)
    if not (folder / "settings.json").is_file():
        raise TopicError(f"{folder}: not a topic model folder (settings.json missing)")
    saved = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    extra = {k: saved.pop(k, None) for k in ("fit_id", "k_fitted", "seed_fitted", "periods", "version", "labels",
                                             "anchors")}
    if extra["version"] != VERSION:
        raise TopicError(f"{folder}: fitted by topics version {extra['version']}, this is {VERSION}; refit it")
    settings = TopicSettings.model_validate(saved)
    m = TopicModel(settings, stopwords, k=extra["k_fitted"], seed=extra["seed_fitted"])
    vocab = Vocabulary(settings)
    vocab.dictionary_ = Dictionary.load_from_text(str(folder / "dictionary.txt"))
    vocab.phrases_ = FrozenPhrases.load(str(folder / "phrases.pkl")) if (folder / "phrases.pkl").exists() else None
    vocab.n_phrases_ = len(vocab.phrases_.phrasegrams) if vocab.phrases_ is not None else 0
    z = np.load(folder / "doc_topics.npz")
    m.vocabulary_, m.k_, m.seed_, m.periods_ = vocab, extra["k_fitted"], extra["seed_fitted"], extra["periods"]
    m.fit_id_, m.labels_, m.theta_, m.anchors_ = extra["fit_id"], extra["labels"], z["theta"], extra["anchors"] or []
    m.docs_ = [TopicDoc(str(i), str(d) or None, ()) for i, d in zip(z["doc_id"], z["date"])]
    m.texts_ = []
    m.terms_by_period_ = pd.read_csv(folder / "topic_terms_by_period.csv", dtype={"period": str, "term": str},
                                     encoding="utf-8", keep_default_na=False)
    m.dtm_ = m.tlda_ = m.lda_ = m.period_phi_ = m.word_share_ = m.top_terms_ = None
    if (folder / "model.lda.bin").exists():
        import tomotopy as tp

        m.tlda_ = tp.LDAModel.load(str(folder / "model.lda.bin"))
    elif (folder / "model.dtm.bin").exists():
        import tomotopy as tp

        m.dtm_ = tp.DTModel.load(str(folder / "model.dtm.bin"))
    else:
        from gensim.models import LdaModel

        m.lda_ = LdaModel.load(str(folder / "model.lda"))
    return m
