"""Multi-story bulletins (国内联播快讯 …) become one document per story, as the evaluation sets count them."""

from __future__ import annotations

import gzip
import json

from pipeline import collect, process
from pipeline.settings import CollectSettings

PATTERN = CollectSettings().bulletin_titles

BULLETIN = {
    "id": "b-1", "date": "2016-05-17", "title": "国内联播快讯", "url": "http://example.org/b-1",
    "text": "央视网消息（新闻联播）：\n赣鄂湘推进新农合跨省即时结算\n江西、湖北、湖南三省卫生部门签订协议，实现跨省即时结算报销。\n"
            "兰州城市轨道交通工程今天开建\n甘肃兰州城市轨道交通工程今天动工。\n根据规划，兰州市轨道交通网由4条线路组成。\n"
            "（文字编辑：某某）",
}


def test_a_bulletin_splits_into_headed_stories():
    parts = collect.stories(BULLETIN, PATTERN)
    assert [p["id"] for p in parts] == ["b-1-s0", "b-1-s1"]
    assert [p["title"] for p in parts] == ["赣鄂湘推进新农合跨省即时结算", "兰州城市轨道交通工程今天开建"]
    assert parts[0]["text"] == "赣鄂湘推进新农合跨省即时结算\n江西、湖北、湖南三省卫生部门签订协议，实现跨省即时结算报销。"
    assert parts[1]["text"].endswith("由4条线路组成。\n（文字编辑：某某）")  # nothing after the lead-in is dropped
    assert all(p["date"] == "2016-05-17" and p["url"] == BULLETIN["url"] and p["bulletin"] == "b-1" for p in parts)


def test_other_records_stay_whole():
    assert collect.stories({**BULLETIN, "title": "三省签署协议"}, PATTERN) is None  # not a bulletin's title
    assert collect.stories(BULLETIN, None) is None  # collect.bulletin_titles: null
    one_story = {**BULLETIN, "text": "赣鄂湘推进新农合跨省即时结算\n江西、湖北、湖南三省卫生部门签订协议。"}
    assert collect.stories(one_story, PATTERN) is None
    no_headline = {**BULLETIN, "text": "今天，三省卫生部门签订协议。\n兰州城市轨道交通工程今天开建\n甘肃兰州城市轨道交通工程今天动工。"}
    assert collect.stories(no_headline, PATTERN) is None


def test_sources_and_batches_read_each_story(tmp_path):
    from pipeline.settings import Settings

    path = tmp_path / "news.jsonl"
    plain = {"id": "n-1", "date": "2016-05-17", "title": "三省签署协议", "text": "今天，三省签署协议。"}
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (plain, BULLETIN)) + "\n", encoding="utf-8")
    found = list(collect.sources(path, bulletin_titles=PATTERN))
    assert [(s.record, s.part) for s, _r, _e in found] == [(0, None), (1, 0), (1, 1)]
    assert len({s.doc_id for s, _r, _e in found}) == 3
    assert process.where(found[2][0]) == f"{path} line 2 story 2"
    out = process.batch([s for s, _r, _e in found], Settings())
    assert [o.document.external_id for o in out] == ["n-1", "b-1-s0", "b-1-s1"]
    assert [o.document.title for o in out][1:] == ["赣鄂湘推进新农合跨省即时结算", "兰州城市轨道交通工程今天开建"]


def test_real_bulletins_give_the_dev_sets_stories(corpora_dir):
    """The dev gold's sub-stories (ids <item>-s<k>) are exactly the stories of their bulletins in the archive."""
    gold = {}
    for line in (corpora_dir / "dev" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if "-s" in item["id"]:
            gold[item["id"]] = item
    parents = {k.rsplit("-s", 1)[0] for k in gold}
    got = {}
    with gzip.open(corpora_dir / "xwlb" / "news.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            if line[8:29].split('"')[0] in parents:
                for story in collect.stories(json.loads(line), PATTERN) or []:
                    got[story["id"]] = story
    assert len(gold) >= 40
    for k, item in gold.items():
        assert (got[k]["title"], got[k]["text"]) == (item["title"], item["text"]), k
