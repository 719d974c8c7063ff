"""Candidates (CODEBOOK §2 normalisation): every mention of a government body, named as the codebook says.

The sentences are written for this test, one for each kind of phrasing; the expected names follow the codebook's
rules (names as of the date, departments of lists and blocs, bloc members, people standing for their body)."""

from __future__ import annotations

import pytest

from pipeline import candidates, segment
from pipeline.records import Document


def _find(lexicons, text: str, date: str = "2021-05-10", title: str = ""):
    lex, udict = lexicons
    doc = Document("t", "test", title, date, text)
    return candidates.find(doc, segment.words(text, udict), lex, udict)


CASES = [
    # a department after a list of provinces is each province's department, named as of the date
    ("浙江、江西、福建的交通运输部门签署了合作协议。", "2021-05-10",
     {"浙江省交通运输厅", "江西省交通运输厅", "福建省交通运输厅"}),
    # a bloc with a count and a department: each member's department
    ("沪苏浙皖三省一市生态环境部门今天联合发布了一项方案。", "2021-05-10",
     {"上海市生态环境局", "江苏省生态环境厅", "浙江省生态环境厅", "安徽省生态环境厅"}),
    # the same department before the 2018 reform has its old name
    ("湖北、湖南两省环保部门建立了联防机制。", "2016-03-02", {"湖北省环境保护厅", "湖南省环境保护厅"}),
    # a department shared by a list written with full names
    ("河南省、安徽省发展改革委有关负责同志出席会议。", "2021-05-10",
     {"河南省发展和改革委员会", "安徽省发展和改革委员会"}),
    # short forms of central bodies, and names as of the date
    ("国家卫生计生委和工信部今天联合召开电视电话会议。", "2016-09-01", {"国家卫生和计划生育委员会", "工业和信息化部"}),
    ("国家卫健委和人社部联合印发通知。", "2021-05-10", {"国家卫生健康委员会", "人力资源和社会保障部"}),
    # a bureau of a central body written right after it
    ("公安部交管局部署了暑期道路交通安全工作。", "2021-05-10", {"公安部交管局"}),
    # blocs expand to their members
    ("成渝两地签署了共建协议。", "2021-05-10", {"四川省", "重庆市"}),
    # a county with its prefecture; a district written with its province's short name
    ("浙江嘉善与上海青浦联合开展巡查。", "2021-05-10", {"嘉兴市嘉善县", "上海市青浦区"}),
    # people stand for the body in whose name they act
    ("安徽省委书记主持会议，国务院副总理出席并讲话。", "2021-05-10", {"安徽省", "国务院"}),
    ("民政部部长出席会议并讲话。", "2021-05-10", {"民政部"}),
    # a ministry's department (司) is the ministry; a bloc written with other abbreviations (云贵川)
    ("国家发展改革委地区经济司负责同志出席会议。", "2021-05-10", {"国家发展和改革委员会"}),
    ("云贵川三省签署赤水河流域保护协议。", "2021-05-10", {"云南省", "贵州省", "四川省"}),
    # leading groups, with 党的 inside the name
    ("中央党的建设工作领导小组召开会议。", "2021-05-10", {"中央党的建设工作领导小组"}),
]


@pytest.mark.parametrize("text, date, expected", CASES)
def test_candidates_are_normalised_as_the_codebook_says(lexicons, text, date, expected):
    names = {c.name for c in _find(lexicons, text, date)}
    assert expected <= names, names


def test_a_department_after_a_list_replaces_the_jurisdictions(lexicons):
    names = {c.name for c in _find(lexicons, "浙江、江西、福建的交通运输部门签署了合作协议。")}
    assert not names & {"浙江省", "江西省", "福建省"}


def test_a_bloc_phrase_is_the_mention_of_each_member(lexicons):
    cands = [c for c in _find(lexicons, "京津冀三地民政部门签署协议。") if c.via == "department"]
    assert {c.mention for c in cands} == {"京津冀三地民政部门"} and len(cands) == 3


def test_a_bloc_takes_its_count_into_the_mention(lexicons):
    cands = [c for c in _find(lexicons, "当天，沪苏浙两省一市共同签署了协议。") if c.kind == "bloc"]
    assert {c.mention for c in cands} == {"沪苏浙两省一市"}
    assert {c.name for c in cands} == {"上海市", "江苏省", "浙江省"}


def test_departments_of_the_documents_own_province(lexicons):
    text = "江苏省人民政府办公厅关于同意建立联席会议制度的函\n成员单位包括省发展改革委、省财政厅。"
    names = {c.name for c in _find(lexicons, text)}
    assert {"江苏省发展和改革委员会", "江苏省财政厅"} <= names


def test_the_state_council_leader_named_by_title_only(lexicons):
    cands = [c for c in _find(lexicons, "会前，李强总理对会议作出重要批示。") if c.name == "国务院"]
    assert cands and cands[0].via == "person" and cands[0].mention == "李强总理"


def test_offsets_index_into_the_text(lexicons):
    text = "日前，北京市和天津市签署合作协议，河北省发展改革委参加。"
    for c in _find(lexicons, text):
        assert text[c.start:c.end] == c.mention
        assert c.list_start <= c.start < c.end <= c.list_end


def test_lists_know_their_size_and_place(lexicons):
    cands = {c.name: c for c in _find(lexicons, "山西、陕西、内蒙古三省区签署协议。")}
    assert [cands[n].list_pos for n in ("山西省", "陕西省", "内蒙古自治区")] == [0, 1, 2]
    assert {cands[n].list_size for n in cands if n in ("山西省", "陕西省", "内蒙古自治区")} == {3}


def test_a_joint_meetings_office_is_one_body_with_or_without_its_prefix(lexicons):
    text = ("处置非法集资部际联席会议办公室今天召集成员单位召开会议。会上，国家处置非法集资部际联席会议办公室"
            "通报了今年以来的工作情况。")
    offices = {c.name for c in _find(lexicons, text) if c.kind == "office"}
    assert offices == {"国家处置非法集资部际联席会议办公室"}


def test_the_production_and_construction_corps_is_a_provincial_body_of_xinjiang(lexicons):
    c = next(c for c in _find(lexicons, "江苏省与兵团签署对口支援协议。") if c.name == "新疆生产建设兵团")
    assert (c.level, c.province) == ("provincial", "新疆维吾尔自治区")
