"""Topic corpus, models, prevalence and model folders on real Chinese news text (400 xwlb items)."""

from __future__ import annotations

import gzip
import json
import logging
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from pipeline import segment, topics
from pipeline.errors import TopicError

ROOT = Path(__file__).resolve().parents[2]
N_DOCS = 400


@pytest.fixture(scope="module")
def news(corpora_dir) -> list[topics.TopicDoc]:
    """400 xwlb items spread over all its years (every 180th line), segmented like the pipeline does."""
    path = corpora_dir / "xwlb" / "news.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        items = [json.loads(line) for line in islice(f, 0, 180 * N_DOCS, 180)]
    return [topics.TopicDoc(r["id"], r["date"], tuple(segment.words(f"{r['title']}\n{r['text']}"))) for r in items]


@pytest.fixture
def small(settings_factory):
    """Settings for a fast fit on the 400 items."""
    def make(**kw):
        base = dict(topics__k=8, topics__iterations=80, topics__bootstrap=200, topics__coherence_docs=150,
                    topics__phrase_min_count=5)
        base.update(kw)
        return settings_factory(**base)
    return make


@pytest.fixture
def stop(small):
    s = small()
    return topics.read_stopwords(s.path(s.topics.stopwords))


def test_stopword_list_is_versioned_and_spares_goal_words(stop):
    assert stop.version == "3"
    assert {"会议", "要求", "工作", "推进", "联席会议", "新闻联播"} <= stop.words
    goals = {"一体化", "生态", "环境", "交通", "产业", "协同", "公共服务", "防灾减灾", "犯罪"}
    assert not goals & stop.words


def test_missing_stopword_list_names_the_file(tmp_path):
    with pytest.raises(TopicError, match="nope.txt"):
        topics.read_stopwords(tmp_path / "nope.txt")


@pytest.mark.parametrize("tokens, expected", [
    (["会议", "要求", "推进", "长三角", "一体化"], ["长三角", "一体化"]),
    (["2023", "年", "，", "生态环境", "GDP"], ["生态环境"]),
    (["的", "了", "交通", "互联互通"], ["交通", "互联互通"]),
])
def test_clean_tokens_drops_noise(stop, tokens, expected):
    assert topics.clean_tokens(tokens, stop.words, 2) == expected


@pytest.mark.parametrize("date, period, expected", [
    ("2019-03-05", "year", "2019"), ("2019-03-05", "month", "2019-03"), (None, "year", "unknown"),
    ("", "month", "unknown"),
])
def test_period_of(date, period, expected):
    assert topics.period_of(date, period) == expected


def test_npmi_equals_gensim_c_npmi_with_document_windows(news, stop):
    """Our document co-occurrence NPMI is gensim's c_npmi when the window spans the whole document."""
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel

    texts = [topics.clean_tokens(d.tokens, stop.words, 2) for d in news[:120]]
    texts = [t for t in texts if t]
    dictionary = Dictionary(texts)
    freq = sorted(dictionary.dfs.items(), key=lambda x: (-x[1], x[0]))
    words = [dictionary[i] for i, _ in freq[:30]]
    tops = [words[0:10], words[10:20], words[20:30]]
    cm = CoherenceModel(topics=tops, texts=texts, dictionary=dictionary, coherence="c_npmi",
                        window_size=max(len(t) for t in texts) + 1, processes=1)
    assert np.allclose(topics.npmi(tops, texts), cm.get_coherence_per_topic(), atol=1e-6)


def test_diversity_and_stability():
    assert topics.diversity([["a", "b"], ["c", "d"]]) == 1.0
    assert topics.diversity([["a", "b"], ["a", "b"]]) == 0.5
    run1 = [["a", "b", "c"], ["x", "y", "z"]]
    run2 = [["x", "y", "w"], ["a", "b", "c"]]  # same topics, other order, one word changed
    assert topics.stability([run1, run2]) == pytest.approx((1.0 + 0.5) / 2)
    run3 = [["a", "b", "q"], ["r", "s", "t"]]  # the first topic recurs, the second does not
    assert topics.stability_by_topic([run1, run2, run3]) == pytest.approx([(1.0 + 0.5) / 2, (0.5 + 0.0) / 2])


def test_seed_stability_scores_each_topic_of_the_fit(fitted):
    _, _, model = fitted
    out = topics.seed_stability(model, 1)
    by_topic = out["stability_by_topic"]
    assert len(by_topic) == model.k_ and all(0.0 <= v <= 1.0 for v in by_topic)
    assert out["stability"] == pytest.approx(np.mean(by_topic), abs=1e-3)  # two fits: one pair
    assert 0.0 < out["stability"] < 1.0  # another seed carves some topics differently on 8 topics, 80 iterations


@pytest.mark.parametrize("k, n_docs, seeded, expected", [(30, 74499, 2, 30), (30, 45, 2, 4), (30, 20, 2, 3),
                                                         (30, 5, 0, 2)])
def test_effective_k_caps_k_on_small_corpora(k, n_docs, seeded, expected):
    assert topics.effective_k(k, n_docs, seeded) == expected


@pytest.fixture(scope="module")
def fitted(news, tmp_path_factory):
    from pipeline.settings import read_settings

    tmp = tmp_path_factory.mktemp("topics")
    s = read_settings(ROOT / "config.yaml", store__root=str(tmp / "data"), topics__models_dir=str(tmp / "models"),
                      topics__k=8, topics__iterations=80, topics__bootstrap=200, topics__coherence_docs=150,
                      topics__phrase_min_count=5)
    stop = topics.read_stopwords(s.path(s.topics.stopwords))
    model = topics.TopicModel(s.topics, stop).fit(news)
    return s, stop, model


def test_timelda_fit_gives_consistent_tables(fitted, news):
    s, _, model = fitted
    t = model.tables({"region": {news[0].doc_id: ["上海市", "江苏省"]}})
    assert model.fit_id_.startswith("timelda-k8-")
    assert len(t["topics"]) == 8 and t["topics"]["top_terms"].str.split().str.len().eq(20).all()
    years = sorted({d.date[:4] for d in news})
    assert len(years) >= 2
    terms = t["topic_terms_by_period"]
    assert sorted(terms["period"].unique()) == years
    assert terms.groupby(["topic_id", "period"]).size().eq(20).all()
    prev = t["topic_prevalence"]
    by_period = prev[prev.group_type == "period"]
    assert by_period.groupby("group")["share"].sum().between(0.99, 1.01).all()
    assert (by_period.ci_low <= by_period.share + 1e-9).all() and (by_period.share <= by_period.ci_high + 1e-9).all()
    assert (by_period.ci_high - by_period.ci_low).gt(0).any()
    region = prev[prev.group_type == "region"]
    assert set(region["group"]) == {"上海市", "江苏省"} and region["n_docs"].eq(1).all()
    dt = t["doc_topics"]
    assert dt["weight"].ge(topics.MIN_DOC_TOPIC).all() and dt["doc_id"].nunique() == len(model.docs_)


def test_topic_words_change_across_periods(fitted):
    _, _, model = fitted
    terms = model.terms_by_period()
    changed = 0
    for _, g in terms.groupby("topic_id"):
        sets = [frozenset(x["term"].head(10)) for _, x in g.groupby("period")]
        changed += len(set(sets)) > 1
    assert changed >= model.k_ // 2


def test_guided_topic_gets_its_seed_words(fitted):
    s, _, model = fitted
    t = model.tables()["topics"]
    label, seeds = next(iter(s.topics.seed_topics.items()))
    row = t[t.topic_id == 0].iloc[0]
    assert row["label"] == label
    present = [w for w in seeds if w in model.vocabulary_.dictionary_.token2id]
    assert len(present) >= 2
    assert len(set(present) & set(row["top_terms"].split())) >= 2, row["top_terms"]


def test_guided_topics_record_which_seed_words_hold(fitted):
    s, _, model = fitted
    guided = model.metrics(coherence_docs=0)["guided_topics"]
    assert [g["label"] for g in guided] == list(s.topics.seed_topics)[: len(guided)]
    assert len(guided[0]["seed_words_in_top"]) >= 2  # the default prior holds 生态环境 on the news sample


def test_nmf_anchors_are_distinct_words_of_the_data_themes(fitted):
    s, _, model = fitted
    guided = [ws for _label, ws in model._seed_words()]
    anchors = topics.nmf_anchors(model.texts_, model.k_, 3, guided, seed=42)
    assert len(anchors) == model.k_ - len(guided) and all(len(a) == 3 for a in anchors)
    words = [w for a in anchors for w in a]
    assert len(words) == len(set(words))  # a word anchors one topic at most
    assert not set(words) & {w for ws in guided for w in ws}  # seed words stay with their guided topic
    assert set(words) <= set(model.vocabulary_.dictionary_.token2id)
    assert topics.nmf_anchors(model.texts_, model.k_, 3, guided, seed=42) == anchors  # a seed gives one answer
    assert topics.nmf_anchors(model.texts_, len(guided), 3, guided, seed=42) == []  # no unguided topic left


def test_anchored_topics_follow_their_anchors(fitted):
    _, _, model = fitted
    anchored = model.metrics(coherence_docs=0)["anchored_topics"]
    assert [a["topic_id"] for a in anchored] == list(range(2, model.k_))  # after the two guided topics
    assert [a["anchor_words"] for a in anchored] == model.anchors_
    held = sum(len(a["anchor_words_in_top"]) >= 2 for a in anchored)
    assert held >= len(anchored) - 1, anchored  # the chain settles where the anchors put it


def test_anchors_are_recorded_and_off_when_asked(small, stop, news, fitted, tmp_path):
    """A fit records its anchors (model, metrics, settings.json); `anchor_words: 0` fits without any. Whether
    anchors make refits with other seeds agree more is a statistical claim: bench/topics_anchors.py measures it
    over several samples and seeds with its spread."""
    _, _, anchored = fitted
    plain = topics.TopicModel(small(topics__anchor_words=0).topics, stop).fit(news)
    assert plain.anchors_ == [] and plain.metrics(coherence_docs=0)["anchored_topics"] == []
    assert anchored.anchors_ and all(len(a) == 3 for a in anchored.anchors_)
    assert plain.fit_id_ != anchored.fit_id_  # the anchors setting is part of the fit
    folder = topics.write_model(anchored, tmp_path / anchored.fit_id_, anchored.metrics(coherence_docs=0),
                                anchored.tables())
    saved = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert saved["anchors"] == anchored.anchors_
    assert [a["anchor_words"] for a in metrics["anchored_topics"]] == anchored.anchors_


def test_anchored_fit_is_deterministic_per_seed(small, stop, news, fitted):
    """The same seed gives the same anchors and the same topics; a refit with another seed (what
    `seed_stability` does) starts from anchors of the same data themes."""
    s, _, model = fitted
    again = topics.TopicModel(s.topics, stop).fit(news)
    assert again.anchors_ == model.anchors_ and again.labels_ == model.labels_
    assert again.top_words(topics.TOP_NPMI) == model.top_words(topics.TOP_NPMI)
    other = topics.TopicModel(s.topics, stop, seed=model.seed_ + 1).fit(news)
    assert len(other.anchors_) == len(model.anchors_)
    shared = {w for a in other.anchors_ for w in a} & {w for a in model.anchors_ for w in a}
    assert len(shared) >= len(model.anchors_), (other.anchors_, model.anchors_)  # NMF themes hardly move


def test_guided_topic_that_lost_its_theme_is_flagged(small, stop, news, caplog):
    """Seed priors no stronger in their topic than elsewhere: the topic labelled 航天 takes another theme, and the
    fit says so instead of handing the researcher a misleading label."""
    s = small(topics__seed_topics={"航天": ["航天员", "卫星", "火箭"]}, topics__seed_prior=0.1,
              topics__seed_prior_other=0.1)
    with caplog.at_level(logging.WARNING, logger="pipeline.topics"):
        model = topics.TopicModel(s.topics, stop).fit(news)
    g = model.metrics(coherence_docs=0)["guided_topics"][0]
    assert g["label"] == "航天" and g["seed_words"] == ["航天员", "卫星", "火箭"] and g["seed_words_in_top"] == []
    assert any("guided topic 航天 (topic 0): none of its seed words" in r.getMessage() for r in caplog.records)
    assert model.labels_[0] == " ".join(w for w, _ in model.top_words(3, 0)[0])  # not 航天: another theme


def test_same_seed_same_tables_other_seed_other_topics(fitted, news):
    s, stop, model = fitted
    again = topics.TopicModel(s.topics, stop).fit(news)
    a, b = model.tables(), again.tables()
    assert again.fit_id_ == model.fit_id_
    for name in a:
        assert a[name].to_csv(index=False) == b[name].to_csv(index=False), name
    other = topics.TopicModel(s.topics, stop, seed=7).fit(news)
    assert other.fit_id_ != model.fit_id_
    assert other.tables()["topics"].to_csv(index=False) != a["topics"].to_csv(index=False)


def test_metrics_report_coherence_and_diversity(fitted):
    _, _, model = fitted
    m = model.metrics()
    assert m["k"] == 8 and m["n_docs"] == len(model.docs_)
    assert -1 <= m["npmi"] <= 1 and 0 < m["c_v"] < 1 and 0 < m["topic_diversity"] <= 1
    assert m["stopwords_version"] == "3"


def test_relevance_lifts_topic_specific_words_over_common_ones():
    phi = np.array([0.30, 0.25, 0.05, 0.0])  # p(w|t)
    p_w = np.array([0.40, 0.05, 0.005, 0.545])  # p(w): word 0 is common everywhere, word 3 absent from the topic
    assert np.argsort(-topics.relevance(phi, p_w, 1.0)).tolist() == [0, 1, 2, 3]
    assert np.argsort(-topics.relevance(phi, p_w, 0.6)).tolist() == [1, 0, 2, 3]
    assert np.argsort(-topics.relevance(phi, p_w, 0.0)).tolist() == [2, 1, 0, 3]
    assert topics.relevance(phi, p_w, 0.6)[3] == -np.inf


def test_relevance_ranked_top_words_are_more_diverse_than_probability_ranked(fitted):
    s, _, model = fitted
    assert s.topics.top_words_lambda < 1.0
    rel = [[w for w, _ in ws] for ws in model.top_words(topics.TOP_DIVERSITY)]
    prob = [[w for w, _ in ws] for ws in model.top_words(topics.TOP_DIVERSITY, lam=1.0)]  # the same fit, by probability
    assert rel != prob
    assert topics.diversity(rel) > topics.diversity(prob)
    for ws in model.top_words(topics.TOP_DIVERSITY):  # the weights stay probabilities p(w|t)
        assert all(0 < p < 1 for _, p in ws)


def test_model_folder_round_trip_scores_new_documents(fitted, news, tmp_path):
    s, stop, model = fitted
    head, tail = news[:300], news[300:]
    part = topics.TopicModel(s.topics, stop).fit(head)
    folder = topics.write_model(part, tmp_path / part.fit_id_, part.metrics(coherence_docs=0), part.tables())
    for name in ("settings.json", "metrics.json", "topics.csv", "topic_terms_by_period.csv",
                 "topic_prevalence.csv", "dictionary.txt", "doc_topics.npz", "model.lda.bin"):
        assert (folder / name).is_file(), name
    loaded = topics.read_model(folder, stop)
    assert loaded.fit_id_ == part.fit_id_ and loaded.anchors_ == part.anchors_ != []
    assert np.allclose(loaded.theta_, part.theta_)
    docs1, theta1 = loaded.transform(tail)
    docs2, theta2 = part.transform(tail)
    assert [d.doc_id for d in docs1] == [d.doc_id for d in docs2] and np.array_equal(theta1, theta2)
    assert np.allclose(theta1.sum(axis=1), 1, atol=1e-4)
    scored = loaded.scored(news)
    assert len(scored.docs_) == len(part.docs_) + len(docs1) and len(loaded.docs_) == len(part.docs_)
    t = scored.tables()
    assert t["topics"].equals(part.tables()["topics"])
    assert t["doc_topics"]["doc_id"].nunique() == len(scored.docs_)


def test_gensim_lda_with_eta_guided_topic(small, stop, news):
    s = small(topics__model="lda", topics__passes=3, topics__iterations=50)
    model = topics.TopicModel(s.topics, stop).fit(news)
    assert model.fit_id_.startswith("lda-k8-")
    words = [w for w, _ in model.top_words(20)[0]]
    seeds = next(iter(s.topics.seed_topics.values()))
    assert len(set(words) & set(seeds)) >= 2, words
    t = model.tables()
    assert set(t["topic_terms_by_period"]["period"]) == {d.date[:4] for d in news}


def test_sweep_scores_each_k_and_chooses_one(small, stop, news):
    s = small(topics__passes=2, topics__iterations=30)
    table = topics.sweep(s.topics, stop, news, [4, 8])
    assert list(table["k"]) == [4, 8]
    assert table[["npmi", "c_v", "topic_diversity"]].notna().all().all()
    assert topics.choose_k(table, 0.0) in (4, 8)


def test_too_few_documents_is_a_topic_error(small, stop, news):
    s = small()
    with pytest.raises(TopicError, match="min_docs"):
        topics.TopicModel(s.topics, stop).fit(news[:5])
