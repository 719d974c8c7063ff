"""Benchmark: the default topic fit (config.yaml `topics:`) on the tokens of an existing corpus store, at scale.

Reads (doc_id, date, tokens) from a corpus store (DuckDB, opened read-only, nothing re-segmented), optionally a
seeded sample of `--docs` documents, fits `pipeline.topics.TopicModel` with the project's topic settings and
prints one JSON line: seconds (corpus preparation + fit, and the fit alone), npmi (mean over topics, top 10
reported words, document co-occurrence on the fitted corpus), c_v, topic diversity (unique share of the top 25
reported words) and, with `--seeds 3`, the seed stability (mean top-10 Jaccard of topics matched one-to-one
between the fits with seeds s, s+1, s+2 on the same corpus and vocabulary).

    .venv/bin/python bench/topics_scale.py --store /tmp/xwlb/data/corpus.duckdb --docs 15000 --seeds 3 --jobs 2
    .venv/bin/python bench/topics_scale.py --store DB --set top_words_lambda=1.0   # raw-probability top words

With top_words_lambda < 1 it also prints npmi_by_probability / diversity_by_probability: the same fit scored
on its top words ranked by probability (what the fit reported before the relevance ranking).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import topics  # noqa: E402
from pipeline.settings import read_settings  # noqa: E402
from pipeline.store import Store  # noqa: E402


_STATE: dict = {}


def _tops(m: topics.TopicModel) -> tuple[list[list[str]], list[list[str]]]:
    """Top-10 words of a fit, ranked as configured and by probability."""
    return ([[w for w, _ in ws] for ws in m.top_words(topics.TOP_NPMI)],
            [[w for w, _ in ws] for ws in m.top_words(topics.TOP_NPMI, lam=1.0)])


def _refit_tops(j: int) -> tuple[list[list[str]], list[list[str]]]:
    """Refit the prepared corpus of `_STATE["model"]` with seed s+j (same K and vocabulary); its top words."""
    model, settings, stop = _STATE["model"], _STATE["settings"], _STATE["stop"]
    m = topics.TopicModel(settings, stop, k=model.k_, seed=model.seed_ + j)
    m.fit((), prepared=(model.docs_, [list(t) for t in model.texts_]), vocabulary=topics._identity(model.vocabulary_))
    return _tops(m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True, type=Path, help="corpus store (DuckDB) of a finished run")
    ap.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    ap.add_argument("--docs", type=int, default=0, help="seeded sample of this many documents (0: all)")
    ap.add_argument("--seeds", type=int, default=1, help="fits with seeds s..s+N-1 for the stability (≥ 2)")
    ap.add_argument("--jobs", type=int, default=1, help="refits for the stability run in this many processes")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a topics setting (YAML value), e.g. top_words_lambda=1.0")
    args = ap.parse_args()

    overrides = {f"topics__{k}": yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    settings = read_settings(args.config, **overrides).topics
    stop = topics.read_stopwords(settings.stopwords)

    t0 = time.perf_counter()
    with Store(args.store, read_only=True) as store:
        corpus = [topics.TopicDoc(i, d, tuple(t)) for i, d, t in store.iter_tokens()]
    n_all = len(corpus)
    if args.docs and n_all > args.docs:
        idx = np.sort(np.random.default_rng(settings.seed).choice(n_all, size=args.docs, replace=False))
        corpus = [corpus[i] for i in idx]
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = topics.TopicModel(settings, stop)
    prepared = model.prepare(corpus)
    del corpus
    t1 = time.perf_counter()
    model.fit((), prepared=prepared)
    t_fit = time.perf_counter() - t1
    seconds = time.perf_counter() - t0
    met = model.metrics()
    out = {
        "bench": "topics_scale", "model": met["model"], "n_docs": met["n_docs"], "n_docs_store": n_all,
        "k": met["k"], "vocabulary": met["vocabulary"], "top_words_lambda": settings.top_words_lambda,
        "stopwords_version": met["stopwords_version"],
        "seconds": round(seconds, 1), "seconds_fit": round(t_fit, 1), "seconds_read": round(t_read, 1),
        "npmi": met["npmi"], "c_v": met["c_v"], "diversity": met["topic_diversity"],
    }
    if settings.top_words_lambda < 1.0:  # the same fit, top words ranked by probability (λ = 1), for comparison
        top10 = [[w for w, _ in ws] for ws in model.top_words(topics.TOP_NPMI, lam=1.0)]
        top25 = [[w for w, _ in ws] for ws in model.top_words(topics.TOP_DIVERSITY, lam=1.0)]
        out["npmi_by_probability"] = round(float(np.mean(topics.npmi(top10, model.texts_))), 4)
        out["diversity_by_probability"] = round(topics.diversity(top25), 4)
    if args.seeds >= 2:  # what topics.seed_stability does, keeping the refits to score both rankings
        t0 = time.perf_counter()
        _STATE.update(model=model, settings=settings, stop=stop)
        if args.jobs > 1:  # forked workers share the prepared corpus; each fit is one tomotopy worker, as alone
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                refits = list(pool.map(_refit_tops, range(1, args.seeds)))
        else:
            refits = [_refit_tops(j) for j in range(1, args.seeds)]
        rel, prob = _tops(model)
        runs = [rel] + [r for r, _p in refits]
        out["stability"] = round(topics.stability(runs), 4)
        out["stability_by_topic"] = {f"{t} {model.labels_[t]}": round(v, 2)
                                     for t, v in enumerate(topics.stability_by_topic(runs))}
        if settings.top_words_lambda < 1.0:
            out["stability_by_probability"] = round(topics.stability([prob] + [p for _r, p in refits]), 4)
        out["stability_seeds"] = args.seeds
        out["seconds_stability"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
