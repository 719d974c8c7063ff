"""The topic stage inside real Prefect flow runs on real news items: `mine` fits and exports a fit that names
itself, two stores fed the same items export byte-identical topic tables, the `topics` flow sweeps K, and
with refitting off a new batch is scored by the current fit."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pytest

TOPIC_TABLES = ("topics", "topic_terms_by_period", "doc_topics", "topic_prevalence")


def _write_items(path: Path, items: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def items(corpora_dir) -> list[dict]:
    path = corpora_dir / "xwlb" / "news.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in islice(f, 0, 900 * 80, 900)]  # 80 items over the years


@pytest.fixture(scope="module")
def runs(prefect_harness, items, tmp_path_factory):
    from flows.mine import run_mine
    from pipeline.settings import read_settings

    root = Path(__file__).resolve().parents[2]
    tmp = tmp_path_factory.mktemp("topics_flow")
    batch = _write_items(tmp / "in" / "batch1.jsonl", items[:60])

    def settings(name: str, **kw):
        return read_settings(root / "config.yaml", store__root=str(tmp / name / "data"),
                             topics__models_dir=str(tmp / name / "models"), runner__kind="thread",
                             runner__workers=2, topics__iterations=100, topics__bootstrap=200,
                             topics__coherence_docs=0, topics__phrase_min_count=5, export__formats=["csv"],
                             export__report=False, **{"topics__corpus": "all", **kw})  # news: mostly `other`

    a = run_mine([str(batch)], str(tmp / "a" / "out"), settings("a"))
    b = run_mine([str(batch)], str(tmp / "b" / "out"), settings("b"))
    return tmp, settings, a, b


def test_mine_fits_topics_and_exports_the_fit(runs):
    tmp, _, a, _ = runs
    from pipeline.topics import effective_k

    t = a["topics"]
    assert t["fitted"], t
    assert set(a["seconds"]) >= {"documents", "topics", "export", "total"}
    folder = Path(t["model_dir"])
    assert folder == tmp / "a" / "models" / t["fit_id"]
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    n = metrics["n_docs"]  # stored documents that keep topic words
    assert 50 <= n <= a["new_documents"]
    k = effective_k(30, n, 2)  # k=30 capped at one topic per ten documents
    assert t["fit_id"].startswith(f"timelda-k{k}-") and metrics["k"] == k and "npmi" in metrics
    for name in TOPIC_TABLES + ("topic_metrics",):
        text = (tmp / "a" / "out" / f"{name}.csv").read_text(encoding="utf-8-sig")
        lines = text.splitlines()
        assert lines[0].startswith("fit_id,") and len(lines) > 1, name
        assert all(line.startswith(t["fit_id"] + ",") for line in lines[1:]), name
    import pandas as pd

    tm = pd.read_csv(tmp / "a" / "out" / "topic_metrics.csv", encoding="utf-8-sig")
    fit = tm[tm["topic_id"].isna()].set_index("metric")["value"]
    assert fit["npmi"] == pytest.approx(metrics["npmi"]) and fit["k"] == k and fit["n_docs"] == n
    assert set(tm["corpus"]) == {"all"}
    by_topic = tm[tm["metric"] == "npmi"].dropna(subset=["topic_id"])
    assert list(by_topic.sort_values("topic_id")["value"]) == pytest.approx(metrics["npmi_by_topic"])
    assert (tm["metric"] == "seed_words_in_top").sum() == len(metrics["guided_topics"])


def test_same_items_same_config_byte_identical_topic_exports(runs):
    tmp, _, a, b = runs
    assert a["topics"]["fit_id"] == b["topics"]["fit_id"]
    for name in TOPIC_TABLES:
        assert (tmp / "a" / "out" / f"{name}.csv").read_bytes() == (tmp / "b" / "out" / f"{name}.csv").read_bytes()


def test_prevalence_has_periods_with_intervals(runs):
    import pandas as pd

    tmp, _, _, _ = runs
    prev = pd.read_csv(tmp / "a" / "out" / "topic_prevalence.csv", encoding="utf-8-sig", dtype={"group": str})
    period = prev[prev.group_type == "period"]
    assert period["group"].nunique() >= 5
    assert (period.ci_low <= period.share + 1e-9).all() and (period.share <= period.ci_high + 1e-9).all()


@pytest.mark.slow
def test_topics_flow_sweeps_k(runs):
    from flows.mine import topics

    _, settings, a, _ = runs
    out = topics(settings=settings("a"), ks=[3, 4])
    assert out["fitted"] and [r["k"] for r in out["sweep"]] == [3, 4]
    assert out["k"] in (3, 4) and out["fit_id"] != a["topics"]["fit_id"]
    assert (Path(out["model_dir"]) / "sweep.csv").is_file()


@pytest.mark.slow
def test_new_batch_is_scored_without_refit(runs, items):
    from flows.mine import run_mine
    from pipeline.store import Store

    tmp, settings, _, b = runs
    batch2 = _write_items(tmp / "in" / "batch2.jsonl", items[60:])
    s = settings("b", topics__refit=False)
    r = run_mine([str(batch2)], None, s)
    assert r["new_documents"] > 0, r
    assert r["topics"]["fit_id"] == b["topics"]["fit_id"] and r["topics"]["scored_without_refit"]
    with Store(tmp / "b" / "data" / "corpus.duckdb", read_only=True) as store:
        n = store.con.execute("SELECT count(DISTINCT doc_id) FROM doc_topics WHERE fit_id = ?",
                              [b["topics"]["fit_id"]]).fetchone()[0]
    assert n == r["topics"]["n_docs_scored"] > b["topics"]["n_docs"]  # every stored document with topic words
