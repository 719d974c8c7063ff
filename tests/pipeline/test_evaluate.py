import json

import pytest

from pipeline.evaluate import norm_name, read_gold, score
from pipeline.records import Codes, Participant, Tagged

KEYS = {"n_docs", "participants", "participant_mentions", "level_accuracy", "levels", "regions", "collab_type",
        "doc_class", "series", "session", "meeting_date", "depth"}


def _p(name, mention, level="provincial"):
    return Participant(name, mention, 0, len(mention), level, "310000", "上海市", "general", "member")


def _item(tmp_path, gold, text="上海市和江苏省召开联席会议"):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps({"id": "1", "date": "2020-01-01", "title": "t", "text": text, "gold": gold},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return read_gold(path)


def test_scores_have_every_codebook_key_and_right_values(tmp_path):
    items = _item(tmp_path, {"doc_class": "joint_meeting", "participants": ["上海市人民政府", "江苏省"],
                             "participant_mentions": {"上海市人民政府": "上海市", "江苏省": "江苏省"},
                             "levels": ["provincial"], "regions": ["上海市", "江苏省"],
                             "collab_type": ["cross_regional"], "series": "沪苏联席会议", "session": "第四次",
                             "meeting_date": "2020-01-01", "depth": 2})
    pred = Tagged("x", (_p("上海市", "上海市"), _p("浙江省", "浙江")),
                  Codes("joint_meeting", ("provincial",), ("上海市",), ("cross_regional", "cross_level"),
                        "沪苏联席会议", 4, "2020-01-01", None, 2))
    r = score(items, [pred], lambda n: "provincial")
    assert set(r) == KEYS
    assert r["participants"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert r["participant_mentions"]["precision"] == 0.5
    assert r["level_accuracy"] == 1.0
    assert r["regions"]["f1"] == pytest.approx(0.6667, abs=1e-4)
    assert r["collab_type"]["cross_regional"]["f1"] == 1.0
    assert r["collab_type"]["cross_level"]["precision"] == 0.0
    assert r["doc_class"] == {"accuracy": 1.0, "joint_meeting_f1": 1.0}
    assert r["session"] == {"accuracy": 1.0, "accuracy_where_stated": 1.0}  # 第四次 is read as 4
    assert r["series"] == {"accuracy": 1.0, "accuracy_where_stated": 1.0, "relaxed": 1.0}


def test_absent_fields_are_null(tmp_path):
    items = _item(tmp_path, {"doc_class": "other", "participants": [], "levels": [], "regions": [],
                             "collab_type": []})
    r = score(items, [Tagged("x", (), Codes())])
    assert r["series"] is None and r["depth"] is None and r["meeting_date"] is None


def test_government_suffix_is_the_jurisdiction():
    assert norm_name("上海市人民政府") == norm_name("上海市") == "上海市"


def test_a_value_predicted_where_the_gold_has_none_is_wrong(tmp_path):
    items = _item(tmp_path, {"doc_class": "joint_meeting", "participants": [], "levels": [], "regions": [],
                             "collab_type": [], "series": None, "session": None, "meeting_date": None, "depth": 2})
    r = score(items, [Tagged("x", (), Codes("joint_meeting", series="某联席会议", session=3, depth=None))])
    assert r["series"] == {"accuracy": 0.0, "accuracy_where_stated": None, "relaxed": 0.0}
    assert r["session"]["accuracy"] == 0.0 and r["meeting_date"]["accuracy"] == 1.0
    assert r["depth"]["accuracy"] == 0.0  # no depth predicted counts as 0 in the kappa, and is wrong


def test_series_is_exact_after_whitespace_and_relaxed_apart(tmp_path):
    items = _item(tmp_path, {"doc_class": "joint_meeting", "participants": [], "levels": [], "regions": [],
                             "collab_type": [], "series": "京津冀 税收工作联席会议"})
    r = score(items, [Tagged("x", (), Codes("joint_meeting", series="“京津冀税收工作联席会议”"))])
    assert r["series"]["accuracy"] == 0.0 and r["series"]["relaxed"] == 1.0
    r = score(items, [Tagged("x", (), Codes("joint_meeting", series="京津冀税收工作联席会议"))])
    assert r["series"]["accuracy"] == 1.0


def test_read_gold_filters_by_split(tmp_path):
    path = tmp_path / "g.jsonl"
    lines = [{"id": str(i), "text": "上海", "split": s, "gold": {"doc_class": "other"}} for i, s in
             enumerate(["train", "check", "train"])]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert [i.id for i in read_gold(path, "train")] == ["0", "2"]
    assert [i.id for i in read_gold(path, "check")] == ["1"]
    with pytest.raises(Exception, match="no record has split 'dev'"):
        read_gold(path, "dev")
