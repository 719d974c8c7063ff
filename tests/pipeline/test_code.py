"""Document codes (CODEBOOK §1, §3) on texts written for this test: the class and depth from the shipped models,
the meeting's series, session, date and place, and levels, regions and collab_type as the codebook defines them,
each with evidence that holds its cue."""

from __future__ import annotations

import pytest

from pipeline import code
from pipeline.records import Document, Participant


@pytest.mark.parametrize("title, text, cls", [
    ("第三次全国对口支援西藏工作会议在京召开",
     "第三次全国对口支援西藏工作会议今天在北京召开。会议总结对口援藏工作，部署下一阶段任务，江苏省、山东省"
     "负责同志在会上发言。", "coordination_meeting_other"),
    ("苏皖两省签署生态补偿协议",
     "今天，江苏省人民政府与安徽省人民政府在南京签署长江生态环境保护补偿协议，两省将共同开展水质监测。",
     "cooperation_agreement_or_mechanism"),
    ("国务院办公厅关于同意建立全国乡村旅游工作部际联席会议制度的函",
     "文化和旅游部：你部关于建立全国乡村旅游工作部际联席会议制度的请示收悉。经国务院同意，现函复如下：国务院同意建立"
     "由文化和旅游部牵头的全国乡村旅游工作部际联席会议制度。联席会议由文化和旅游部、国家发展改革委、财政部、"
     "农业农村部组成，文化和旅游部为牵头单位。", "joint_meeting_system_document"),
    ("美国总统发表讲话", "美国总统今天在白宫发表讲话，宣布对多国商品加征关税。", "other"),
])
def test_doc_class_of_kinds_of_text(tagger, title, text, cls):
    tagged, _ = tagger(text, "2021-05-10", title)
    assert tagged.codes.doc_class == cls


def test_a_joint_meeting_session_is_coded_with_its_series_and_ordinal(tagger):
    text = ("长江中游城市群省会城市第七次联席会议今天在长沙召开。武汉、长沙、合肥、南昌四市市长出席会议，"
            "会议审议通过了《长江中游城市群省会城市合作行动计划》，四市共同签署了合作协议。")
    tagged, _ = tagger(text, "2021-05-10", "长江中游城市群省会城市第七次联席会议在长沙召开")
    c = tagged.codes
    assert c.doc_class == "joint_meeting"
    assert c.series == "长江中游城市群省会城市联席会议" and c.session == 7
    assert c.meeting_date == "2021-05-10" and c.location == "长沙"
    assert "cross_regional" in c.collab_type and "agreement" in c.institutions
    assert c.depth >= 3


@pytest.mark.parametrize("text, session", [
    ("国务院扶贫开发领导小组第十五次全体会议今天召开。", 15),
    ("第五次全国对口支援新疆工作会议今天在北京召开。", 5),
    ("首届长三角绿色发展论坛今天在湖州开幕。", 1),
    ("推动黄河流域生态保护和高质量发展领导小组全体会议今天召开。", None),
])
def test_session_ordinals(text, session):
    doc = Document("t", "t", "", "2021-05-10", text)
    series, span = code.series_of(doc, "coordination_meeting_other", ())
    assert series is not None
    assert code.session_of(doc, span)[0] == session


def test_series_drops_ordinals_and_keeps_the_name():
    doc = Document("t", "t", "", "2021-05-10", "京津冀协同发展领导小组第三次全体会议今天在北京召开。")
    assert code.series_of(doc, "coordination_meeting_other", ())[0] == "京津冀协同发展领导小组全体会议"


def test_an_agreement_without_a_meeting_has_no_series():
    doc = Document("t", "t", "", "2021-05-10", "今天，两省签署合作协议，共同推进产业协作。")
    assert code.series_of(doc, "cooperation_agreement_or_mechanism", ())[0] is None


def test_meeting_date_and_source_dates():
    doc = Document("t", "t", "", "2021-05-10", "记者8日从水利部了解到，长江委5月6日在武汉召开防汛会商会。")
    date, ev = code.meeting_date_of(doc, None)
    assert date == "2021-05-06" and doc.text[ev.start:ev.end] == ev.text


def _p(name, mention, start, level, province, sector="general"):
    return Participant(name, mention, start, start + len(mention), level, "000000", province, sector)


def test_collaboration_types_rest_on_participants_and_their_evidence_holds_them():
    text = "今天，公安部与浙江省、江苏省公安厅在杭州签署协议。"
    ps = (_p("公安部", "公安部", 3, "national", "", "public_security"),
          _p("浙江省公安厅", "浙江省", 7, "provincial", "浙江省", "public_security"),
          _p("江苏省公安厅", "江苏省公安厅", 11, "provincial", "江苏省", "public_security"))
    doc = Document("t", "t", "", "2021-05-10", text)
    levels, regions, collab, ev = code.collaboration(doc, "cooperation_agreement_or_mechanism", ps, (), None)
    assert levels == ["national", "provincial"] and regions == ["江苏省", "浙江省"]
    assert set(collab) == {"cross_regional", "cross_level"}
    for e in ev:
        assert text[e.start:e.end] == e.text
    assert {e.text for e in ev if e.value == "cross_regional"} == {"浙江省", "江苏省公安厅"}


def test_generic_actors_count_for_levels_and_collab_type():
    text = "国家发展改革委等9部门联合印发方案，沿江11省市将共同推进。"
    doc = Document("t", "t", "", "2021-05-10", text)
    ps = (_p("国家发展和改革委员会", "国家发展改革委", 0, "national", "", "development_reform"),)
    levels, _, collab, ev = code.collaboration(doc, "cooperation_agreement_or_mechanism", ps, (), None)
    assert levels == ["national", "provincial"]
    assert {"cross_departmental", "cross_regional", "cross_level"} <= set(collab)
    assert any(e.value == "cross_departmental" and "9部门" in e.text for e in ev)


def test_other_has_no_codes():
    c = code.codes(Document("t", "t", "", None, "今天天气晴。"), "other", (), (), None)  # type: ignore[arg-type]
    assert c.doc_class == "other" and not c.levels and c.depth is None and not c.evidence


@pytest.mark.parametrize("text, expected", [
    ("两地设立常设办公室，建立轮值主席制度，制定议事规则，签署合作协议，设立专项资金，成立三个专题组。",
     {"secretariat", "rotation", "charter", "agreement", "fund", "working_groups"}),
    ("会议提出，下一步将研究设立专项资金。", set()),
])
def test_institutions_stated_not_planned(text, expected):
    assert set(code.institutions_of(Document("t", "t", "", None, text))[0]) == expected
