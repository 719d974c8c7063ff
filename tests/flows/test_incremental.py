"""Incremental runs: an unchanged batch is skipped and the run says so; bumping one stage's version re-runs
that stage and the ones after it, from the stored text, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest



@pytest.fixture
def counted(monkeypatch):
    """Count calls of each stage (the thread runner keeps them in this process)."""
    from pipeline import extract, isolate, process, segment

    calls = {"extract": 0, "segment": 0, "tag": 0}

    def wrap(mod, name, key):
        orig = getattr(mod, name)

        def f(*a, **k):
            calls[key] += 1
            return orig(*a, **k)

        monkeypatch.setattr(mod, name, f)

    wrap(isolate, "document", "extract")
    wrap(extract, "document", "extract")
    wrap(segment, "words", "segment")
    wrap(process, "tag_document", "tag")
    return calls


def test_stage_versions_rerun_only_what_changed(prefect_harness, settings_factory, counted, monkeypatch, sample_batch,
                                                  tmp_path):
    from flows.mine import run_mine
    from pipeline import code, extract, process, segment
    from pipeline.store import Store

    batch, pdfs = sample_batch(3)
    settings = settings_factory(runner__kind="thread", runner__workers=1, topics__enabled=False,
                                export__formats=["csv"], export__report=False)
    out = str(tmp_path / "out")

    def run() -> dict:
        for k in counted:
            counted[k] = 0
        return run_mine([str(batch)], out, settings)

    first = run()
    assert first["new_documents"] == 3 and counted == {"extract": 3, "segment": 3, "tag": 3}
    docs_csv = (tmp_path / "out" / "documents.csv").read_bytes()

    second = run()
    assert second["new_documents"] == 0 and second["already_known"] == 3
    assert counted == {"extract": 0, "segment": 0, "tag": 0}

    # tagging and coding run together (process.tag_document): a code bump re-runs both, from the stored tokens
    monkeypatch.setattr(code, "VERSION", code.VERSION + "-bumped")
    third = run()
    assert third["new_documents"] == 3 and counted == {"extract": 0, "segment": 0, "tag": 3}

    monkeypatch.setattr(segment, "VERSION", segment.VERSION + "-bumped")
    run()
    assert counted == {"extract": 0, "segment": 3, "tag": 3}

    monkeypatch.setattr(extract, "VERSION", extract.VERSION + "-bumped")
    run()
    assert counted == {"extract": 3, "segment": 3, "tag": 3}

    # re-done from the stored text or from the file, the tables are the same
    assert (tmp_path / "out" / "documents.csv").read_bytes() == docs_csv
    with Store(Path(settings.path(settings.store.root)) / settings.store.database, read_only=True) as store:
        assert {v["code"] for v in store.versions().values()} == {process.stage_versions(settings)["code"]}


def test_a_new_topic_stage_version_asks_for_a_refit(settings_factory, monkeypatch):
    """The topic fit's fingerprint covers the topic stage's version, so an upgrade that changes what a fit holds
    (its labels, its top words) refits an unchanged corpus instead of reusing the stale fit."""
    from flows import mine
    from pipeline import topics
    from pipeline.store import Store

    settings = settings_factory()
    with Store(mine.store_path(settings)) as store:
        before = mine._corpus_fingerprint(settings, store)
        assert mine._corpus_fingerprint(settings, store) == before
        monkeypatch.setattr(topics, "VERSION", topics.VERSION + "-next")
        assert mine._corpus_fingerprint(settings, store) != before
