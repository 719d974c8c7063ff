"""Participants (CODEBOOK §2) decided by the shipped model, on sentences written for this test: one for each kind
of text the issue of unseen documents names (issue 15), and the kinds the codebook excludes."""

from __future__ import annotations

import pytest

from pipeline import tag
from pipeline.candidates import Candidate
from pipeline.evaluate import norm_name


def _names(tagger, text, date="2021-05-10", title=""):
    tagged, _ = tagger(text, date, title)
    return {norm_name(p.name) for p in tagged.participants}, tagged


TAKE_PART = [
    # departments named before 等N部门
    ("市场监管总局、公安部、商务部等七部门日前联合印发通知，决定在全国开展专项整治行动。",
     {"国家市场监督管理总局", "公安部", "商务部"}),
    # provinces whose responsible officials attend
    ("黄河流域生态保护座谈会在郑州召开\n黄河流域生态保护座谈会今天在郑州召开。青海省、甘肃省、宁夏回族自治区负责同志"
     "参加会议并发言。",
     {"青海省", "甘肃省", "宁夏回族自治区"}),
    # a bloc that signs
    ("今天，川渝两地在成都签署了共建西部科学城的合作协议。", {"四川省", "重庆市"}),
    # departments of the document's own province listed as members of a joint-meeting system
    ("广东省人民政府办公厅关于同意建立省旅游工作联席会议制度的函\n联席会议由省文化和旅游厅牵头，成员单位包括"
     "省发展改革委、省财政厅、省自然资源厅。",
     {"广东省文化和旅游厅", "广东省发展和改革委员会", "广东省财政厅", "广东省自然资源厅"}),
    # two governments sign
    ("浙江省人民政府与安徽省人民政府今天在杭州签署了新安江流域生态补偿协议。", {"浙江省", "安徽省"}),
]


@pytest.mark.parametrize("text, expected", TAKE_PART)
def test_bodies_that_take_part(tagger, text, expected):
    names, tagged = _names(tagger, text)
    assert tagged.codes.doc_class != "other"
    assert expected <= names, names


NOT_PARTICIPANTS = [
    # the news source
    ("记者从交通运输部了解到，今年春运期间全国铁路发送旅客超过4亿人次。", {"交通运输部"}),
    # a venue city
    ("京津冀协同发展座谈会今天在天津召开，北京市、天津市、河北省负责同志出席。", {"天津市滨海新区"}),
]


@pytest.mark.parametrize("text, excluded", NOT_PARTICIPANTS)
def test_bodies_that_do_not_take_part(tagger, text, excluded):
    names, _ = _names(tagger, text)
    assert not names & excluded, names


def test_a_company_agreement_is_other_and_has_no_participants(tagger):
    names, tagged = _names(tagger, "某省人民政府与一家互联网公司今天签署战略合作协议，双方将在云计算领域开展合作。")
    assert tagged.codes.doc_class == "other" and not names


def test_a_foreign_joint_chiefs_item_is_other(tagger):
    names, tagged = _names(tagger, "美军参谋长联席会议主席今天在华盛顿表示，美国将继续增加在该地区的军事部署。")
    assert tagged.codes.doc_class == "other" and not names


def test_evidence_offsets_index_into_the_text(tagger):
    text = "今天，北京市和河北省在石家庄签署了交通一体化合作协议。"
    tagged, _ = tagger(text)
    assert tagged.participants
    for p in tagged.participants:
        assert text[p.start:p.end] == p.mention


def _cand(name, mention, start, list_end=None):
    return Candidate(name, mention, start, start + len(mention), "provincial", "110000", name, "general",
                     "jurisdiction", "name", start, list_end or start + len(mention))


def test_decide_keeps_a_body_whose_best_mention_reaches_the_threshold():
    cands = (_cand("北京市", "北京", 0), _cand("北京市", "北京市", 10), _cand("河北省", "河北", 20))
    kept = tag.decide(cands, [0.2, 0.9, 0.4], 0.5)
    assert [(c.name, c.mention) for c, _ in kept] == [("北京市", "北京市")]


def test_decide_prefers_the_longest_mention_above_the_threshold_outside_the_headline():
    cands = (_cand("上海市", "长三角三省一市", 0), _cand("上海市", "上海", 20), _cand("上海市", "长三角三省一市", 30))
    kept = tag.decide(cands, [0.9, 0.95, 0.6], 0.5, headline=10)
    assert kept[0][0].start == 30 and kept[0][1] == 0.95


@pytest.mark.parametrize("text, role", [
    ("北京市主持召开会议。", "chair"),
    ("会议由北京市承办。", "host"),
    ("北京市承办了本次会议。", "host"),
    ("北京市与天津市签署协议。", "signatory"),
    ("在财政部的指导下，两地签署协议。", "superior"),
])
def test_roles_from_the_verbs_after_the_mention(text, role):
    i = text.index("北京市") if "北京市" in text else text.index("财政部")
    c = _cand("北京市", text[i:i + 3], i)
    assert tag.role(text, c) == role
