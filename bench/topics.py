"""Benchmark: our dynamic topic model (pipeline.topics, `--model timelda` by default, or tomotopy's DTModel)
against gensim's LdaSeqModel,
on the same 1,000 xwlb news items over 5 years (200 a year), K=10, the same topic corpus for both.

Budget (stated, since LdaSeqModel does not converge in a usable time here): ours trains `topics.iterations`
Gibbs iterations (config.yaml: 600) with one worker; LdaSeqModel runs its default initialisation (gensim LDA,
10 passes) and then `--ldaseq-em` EM iterations (default 2 of its 20; each EM iteration is one full
variational pass over every time slice). LdaSeqModel is therefore stopped early, which makes the speedup a
lower bound. NPMI: top 10 words of every topic at every time slice, document co-occurrence on the benchmark
corpus, averaged over topics and slices, the same function for both models, with the top words ranked the same
way for both: by relevance with config.yaml's `topics.top_words_lambda` (`npmi_ours`, `npmi_ldaseq`; LdaSeqModel's
word distributions re-ranked over the same word shares p(w)) and by probability (`*_by_probability`, what
LdaSeqModel's `print_topic` gives). Before, its probability-ranked words were compared with our relevance-ranked
ones. On 1,000 documents it moves a lot
with the seed (ours: 0.12–0.19 over seeds 42–46), so `npmi_ours` is the mean over `--ours-seeds` seeds (each
listed in `npmi_ours_by_seed`; the time is one fit's); LdaSeqModel, at ~11 minutes a fit, runs once.

Prints one JSON line. Needs ../shared/corpora/xwlb/news.jsonl.gz (or --corpus)."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import segment, topics  # noqa: E402
from pipeline.settings import read_settings  # noqa: E402


def read_items(path: Path, years: list[str], per_year: int, seed: int) -> list[dict]:
    by_year: dict[str, list[dict]] = {y: [] for y in years}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            y = (r.get("date") or "")[:4]
            if y in by_year:
                by_year[y].append(r)
    rng = np.random.default_rng(seed)
    out = []
    for y in years:
        items = sorted(by_year[y], key=lambda r: r["id"])
        if len(items) < per_year:
            raise SystemExit(f"{path}: only {len(items)} items in {y}, {per_year} needed")
        out.extend(items[i] for i in sorted(rng.choice(len(items), size=per_year, replace=False)))
    return out


def slice_topics(model: topics.TopicModel, lam: float | None = None) -> list[list[str]]:
    """The top 10 words of every topic at every time slice, ranked as configured (or with relevance `lam`)."""
    return [[w for w, _ in model.top_words(10, t, tp, lam=lam)[0]] for tp in range(len(model.periods_))
            for t in range(model.k_)]


def ldaseq_topics(ldaseq, dictionary, n_slices: int, k: int, p_w: np.ndarray, lam: float) -> list[list[str]]:
    """LdaSeqModel's top 10 words of every topic at every time slice, ranked like ours: by relevance with `lam`
    over the same word shares p(w) (λ = 1: by probability, what `print_topic` gives)."""
    out = []
    for tp in range(n_slices):
        for t in range(k):
            phi = np.exp(ldaseq.topic_chains[t].e_log_prob[:, tp])
            out.append([dictionary[int(i)] for i in topics.top_indices(phi / phi.sum(), p_w, lam, 10)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "xwlb" / "news.jsonl.gz")
    ap.add_argument("--years", default="2015,2016,2017,2018,2019")
    ap.add_argument("--per-year", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ldaseq-em", type=int, default=2, help="EM iterations given to LdaSeqModel")
    ap.add_argument("--model", default="timelda", choices=["timelda", "dtm"], help="our dynamic model")
    ap.add_argument("--ours-seeds", type=int, default=5, help="our model's NPMI: mean over this many seeds")
    args = ap.parse_args()
    if not args.corpus.is_file():
        raise SystemExit(f"{args.corpus}: corpus not found")

    years = args.years.split(",")
    settings = read_settings(ROOT / "config.yaml", topics__k=args.k, topics__model=args.model, topics__seed_topics={},
                             topics__min_docs=20)
    s = settings.topics
    user_dict = settings.path(settings.segment.user_dictionary)
    items = read_items(args.corpus, years, args.per_year, s.seed)
    docs = [topics.TopicDoc(r["id"], r["date"], tuple(segment.words(f"{r.get('title', '')}\n{r['text']}",
                                                                     user_dict if user_dict.exists() else None)))
            for r in items]
    stop = topics.read_stopwords(settings.path(s.stopwords))

    # the same topic corpus for both models: our vocabulary (stopwords, phrases, filter_extremes)
    base = topics.TopicModel(s, stop)
    prepared = base.prepare(docs)
    vocab = topics.Vocabulary(s).fit(prepared[1])

    t0 = time.perf_counter()
    ours = topics.TopicModel(s, stop, k=args.k).fit((), prepared=prepared, vocabulary=vocab)
    seconds_ours = time.perf_counter() - t0
    texts = ours.texts_
    ours_topics = slice_topics(ours)
    # NPMI on 1,000 documents moves a lot with the seed: ours is cheap enough to report over several seeds
    npmi_seeds = [float(np.mean(topics.npmi(ours_topics, texts)))]
    prob_seeds = [float(np.mean(topics.npmi(slice_topics(ours, 1.0), texts)))]
    for j in range(1, args.ours_seeds):
        m = topics.TopicModel(s, stop, k=args.k, seed=s.seed + j).fit((), prepared=prepared, vocabulary=vocab)
        npmi_seeds.append(float(np.mean(topics.npmi(slice_topics(m), texts))))
        prob_seeds.append(float(np.mean(topics.npmi(slice_topics(m, 1.0), texts))))

    # LdaSeqModel on the same documents, grouped by year as its time slices require
    from gensim.models.ldaseqmodel import LdaSeqModel

    dictionary = vocab.dictionary_
    order = sorted(range(len(ours.docs_)), key=lambda i: (ours.docs_[i].date or "", i))
    bows = [dictionary.doc2bow(texts[i]) for i in order]
    slices = [sum(1 for i in order if (ours.docs_[i].date or "")[:4] == y) for y in years]
    t0 = time.perf_counter()
    ldaseq = LdaSeqModel(corpus=bows, id2word=dictionary, time_slice=slices, num_topics=args.k,
                         random_state=s.seed, em_min_iter=args.ldaseq_em, em_max_iter=args.ldaseq_em)
    seconds_ldaseq = time.perf_counter() - t0
    p_w = np.zeros(len(dictionary))
    for t in texts:
        for w in t:
            p_w[dictionary.token2id[w]] += 1
    p_w /= p_w.sum()
    seq_topics = ldaseq_topics(ldaseq, dictionary, len(slices), args.k, p_w, s.top_words_lambda)
    seq_by_prob = ldaseq_topics(ldaseq, dictionary, len(slices), args.k, p_w, 1.0)

    npmi_ours = float(np.mean(npmi_seeds))
    npmi_seq = float(np.mean(topics.npmi(seq_topics, texts)))
    over = lambda ts: [sorted({w for i in range(tp * args.k, (tp + 1) * args.k) for w in ts[i]})  # noqa: E731
                       for tp in range(len(slices))]
    print(json.dumps({
        "bench": "topics", "docs": len(ours.docs_), "years": years, "k": args.k,
        "vocabulary": len(dictionary),
        "seconds_ours": round(seconds_ours, 2), "seconds_ldaseq": round(seconds_ldaseq, 2),
        "speedup_vs_ldaseq": round(seconds_ldaseq / seconds_ours, 1),
        "npmi_ours": round(npmi_ours, 4), "npmi_ldaseq": round(npmi_seq, 4),
        "npmi_ours_by_seed": [round(v, 4) for v in npmi_seeds], "npmi_ldaseq_seeds": 1,
        "top_words": f"relevance, lambda {s.top_words_lambda} (config), for both models",
        "npmi_ours_by_probability": round(float(np.mean(prob_seeds)), 4),
        "npmi_ldaseq_by_probability": round(float(np.mean(topics.npmi(seq_by_prob, texts))), 4),
        "diversity_ours": round(np.mean([topics.diversity([ours_topics[i] for i in range(tp * args.k,
                                 (tp + 1) * args.k)]) for tp in range(len(slices))]), 4),
        "diversity_ldaseq": round(np.mean([topics.diversity([seq_topics[i] for i in range(tp * args.k,
                                  (tp + 1) * args.k)]) for tp in range(len(slices))]), 4),
        "words_per_slice_ours": int(np.mean([len(x) for x in over(ours_topics)])),
        "model": args.model,
        "budget": {"ours": f"{args.model} (tomotopy), {s.iterations} Gibbs iterations, 1 worker",
                   "ldaseq": f"gensim LdaSeqModel, LDA init (10 passes) + {args.ldaseq_em} EM iterations "
                             f"(of its default 20), stopped early"},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
