"""The `jmm` commands that score and tag outside a flow run: `jmm evaluate` on the real dev gold file, and
`jmm tag` on a JSON Lines record of real-style news text."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_scores_the_dev_gold_file(dev_gold):
    from flows.cli import app

    res = CliRunner().invoke(app, ["evaluate", str(dev_gold), "--json", "--config", str(ROOT / "config.yaml")])
    assert res.exit_code == 0, res.output
    scores = json.loads(res.stdout.strip().splitlines()[-1])
    assert scores["n_docs"] == sum(1 for line in dev_gold.read_text(encoding="utf-8").splitlines() if line.strip())
    assert scores["participants"]["f1"] > 0.9
    assert 0.0 <= scores["depth"]["kappa"] <= 1.0


def _tag(tmp_path: Path, item: dict) -> list[dict]:
    """Run `jmm tag` on a JSON Lines file holding `item`; return the JSON objects it printed, in order."""
    from flows.cli import app

    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["tag", str(path), "--config", str(ROOT / "config.yaml")])
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.strip().splitlines() if line.startswith("{")]


def test_tag_prints_participants_with_evidence(tmp_path):
    item = {"id": "t1", "date": "2019-10-15", "title": "长三角地区主要领导座谈会在芜湖召开",
            "text": "长三角地区主要领导座谈会在芜湖召开\n10月15日，长三角地区主要领导座谈会在安徽省芜湖市召开。"
                    "上海市、江苏省、浙江省、安徽省主要领导出席会议，共同推进长三角一体化发展。"}
    out = _tag(tmp_path, item)[-1]
    names = {p["name"] for p in out["gold"]["participants"]}
    assert {"上海市", "江苏省", "浙江省", "安徽省"} <= names
    text = item["text"]
    for p in out["gold"]["participants"]:
        assert text[p["start"]:p["end"]] == p["mention"]  # evidence spans index the text


def test_tag_splits_a_bulletin_into_its_stories(tmp_path):
    """`jmm tag` sees the documents `jmm run` stores: one per story of a bulletin (collect.bulletin_titles)."""
    item = {"id": "b1", "date": "2016-05-17", "title": "国内联播快讯",
            "text": "央视网消息（新闻联播）：\n赣鄂湘推进新农合跨省即时结算\n江西、湖北、湖南三省卫生部门签订协议，实现跨省即时结算报销。\n"
                    "兰州城市轨道交通工程今天开建\n甘肃兰州城市轨道交通工程今天动工。"}
    out = _tag(tmp_path, item)
    assert [o["id"] for o in out] == ["b1-s0", "b1-s1"]
    assert {p["name"] for p in out[0]["gold"]["participants"]} == {"江西省卫生和计划生育委员会", "湖北省卫生和计划生育委员会",
                                                                   "湖南省卫生和计划生育委员会"}
    assert out[1]["gold"]["participants"] == []
