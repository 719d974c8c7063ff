"""The collect flow, `jmm collect`/`jmm run` with a web source, and a deployment run by hand with parameters,
all against the notice site on 127.0.0.1 (tests/pipeline/test_collect.py) and a temporary Prefect API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.pipeline.test_collect import NoticeSite

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site():
    s = NoticeSite()
    yield s
    s.close()


def _source(site: NoticeSite) -> dict:
    return {"name": "notices", "url": f"{site.base}/notices/index.html",
            "document_pattern": r"/t\d{8}_\d+\.html$", "next_page_pattern": r"index_\d+\.html$", "max_pages": 3}


def _collect_overrides(tmp_path: Path, site: NoticeSite | None) -> dict:
    return {"collect__sources": [_source(site)] if site else [], "collect__requests_per_second": 200.0,
            "collect__max_file_mb": 0.1, "collect__retries": 2, "collect__retry_delay_s": 0.05,
            "collect__timeout_s": 5.0, "collect__inbox": str(tmp_path / "inbox")}


def test_collect_flow_retries_stores_once_and_keeps_provenance(prefect_harness, settings_factory, site, tmp_path):
    from flows.collect import run_collect
    from flows.mine import store_path
    from pipeline.store import Store

    settings = settings_factory(**_collect_overrides(tmp_path, site))
    first = run_collect(settings)
    n = first["sources"]["notices"]
    # 2 document pages + a, b (via redirect), c, d (500 then retried by Prefect), e (hostile name)
    assert (n["pages"], n["new"], n["stored"], n["failed"]) == (2, 7, 1, 1), first
    assert site.hits["/files/flaky.pdf"] == 2
    reasons = " | ".join(x["reason"] for x in first["refused"])
    assert n["refused"] == 6, reasons
    for needle in ("robots.txt", "max_file_mb", "127.0.0.2", "www.example.com"):
        assert needle in reasons
    assert "404" in first["failed"][0]["reason"]
    assert len(first["paths"]) == 7
    with Store(store_path(settings), read_only=True) as store:
        rows = store.con.execute("SELECT url, fetched_at FROM sources WHERE url IS NOT NULL").fetchall()
    assert len(rows) == 7 and all(u.startswith(site.base) and t for u, t in rows)  # one row per stored file
    with Store(store_path(settings), read_only=True) as store:
        dated = dict(store.con.execute("SELECT url, page_date FROM sources WHERE url IS NOT NULL").fetchall())
    page = f"{site.base}/notices/t20210520_1.html"
    assert dated[page] == "2021-05-20"  # the page's date, read from its markup
    evil = next(u for u in dated if "evil.pdf" in u)
    assert dated[evil] == "2021-05-20"  # an attachment takes the date of the page that links to it
    assert dated[f"{site.base}/files/c.pdf"] is None  # linked from a listing only: no page date
    from flows.collect import fetch_log_path

    log = [json.loads(x) for x in fetch_log_path(settings).read_text(encoding="utf-8").splitlines()]
    assert len(log) == 8 and {x["url"].rsplit("/", 1)[1] for x in log} >= {"a.pdf", "a-copy.pdf"}

    again = run_collect(settings)
    n2 = again["sources"]["notices"]
    assert n2["new"] == 0 and n2["unchanged"] == 2 and n2["stored"] == 6  # a.pdf and a-copy.pdf answered 304
    assert site.hits["/files/flaky.pdf"] == 3


def _config(tmp_path: Path, site: NoticeSite | None, **sections) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for key in ("segment", "tag", "topics", "export"):
        for k, v in list(data.get(key, {}).items()):
            if isinstance(v, str) and (ROOT / v).exists():
                data[key][k] = str(ROOT / v)
    data["store"]["root"] = str(tmp_path / "data")
    data["topics"]["enabled"] = False
    data["export"]["formats"] = ["csv"]
    data["runner"] = {"kind": "thread", "workers": 1, "batch_size": 50, "dask_address": None}
    data["collect"].update({k.split("__")[1]: v for k, v in _collect_overrides(tmp_path, site).items()})
    for k, v in sections.items():
        data[k] = v
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return cfg


def test_jmm_collect_url_then_run_collects_first_and_then_finds_nothing_new(prefect_harness, site, tmp_path):
    from flows.cli import app

    runner = CliRunner()
    cfg = _config(tmp_path, None)
    r = runner.invoke(app, ["collect", "--url", f"{site.base}/notices/index.html", "--config", str(cfg)])
    assert r.exit_code == 3, r.output  # the broken link is a failure to report
    assert "collected url: 1 listing pages, 3 new" in r.output  # attachments only; no next-page rule

    cfg = _config(tmp_path, site)
    empty = tmp_path / "batch"
    empty.mkdir()
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(empty), "--out", str(out), "--config", str(cfg)])
    assert r.exit_code in (0, 3), r.output
    assert "collected notices: 2 listing pages, 4 new" in r.output  # 2 HTML pages, c.pdf, e.pdf; a, b, d stored before
    assert "documents processed: " in r.output
    docs = (out / "documents.csv").read_text(encoding="utf-8-sig")
    assert "京津冀交通一体化联席会议" in docs or "长三角" in docs
    import csv

    rows = {r["source_url"]: r for r in csv.DictReader((out / "documents.csv").open(encoding="utf-8-sig"))}
    page = rows[f"{site.base}/notices/t20210520_1.html"]  # its text names no date: the page's date dates it
    assert (page["date"], page["date_source"]) == ("2021-05-20", "collector")
    r = runner.invoke(app, ["run", str(empty), "--out", str(out), "--config", str(cfg)])
    assert "nothing new" in r.output and "0 new" in r.output, r.output


@pytest.mark.slow
def test_deployment_from_config_runs_by_hand_with_a_batch(prefect_harness, sample_batch, tmp_path):
    from prefect.client.schemas.objects import FlowRun  # noqa: F401 - the type run_deployment returns
    from prefect.deployments import run_deployment
    from prefect.runner import Runner

    from flows.serve import build_deployments
    from pipeline.settings import read_settings

    batch, sample = sample_batch(2, "manual")
    cfg = _config(tmp_path, None, serve={"deployments": [
        {"name": "nightly-test", "cron": "0 2 * * *", "collect": True, "paths": ["inbox"], "out": "out"}]})
    settings = read_settings(cfg)
    [dep] = build_deployments(settings, cfg)
    assert dep.name == "nightly-test" and dep.parameters["batch"] == ["inbox"]
    assert dep.schedules[0].schedule.cron == "0 2 * * *"

    async def go():
        runner = Runner(name="test-serve", query_seconds=1)
        await runner.aadd_deployment(dep)
        fr = await run_deployment("collect-and-mine/nightly-test", timeout=0,
                                  parameters={"batch": str(batch), "collect": False, "out": str(tmp_path / "o")})
        await runner.start(run_once=True)
        return fr.id

    fr_id = asyncio.run(go())
    from prefect import get_client

    async def state():
        async with get_client() as c:
            return (await c.read_flow_run(fr_id)).state

    st = asyncio.run(state())
    assert st.is_completed(), st
    assert (tmp_path / "o" / "documents.csv").is_file()
    assert len((tmp_path / "o" / "documents.csv").read_text(encoding="utf-8-sig").strip().splitlines()) == 3
