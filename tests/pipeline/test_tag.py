"""Participants (CODEBOOK §2) on real phrasings of Chinese news about inter-governmental meetings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import segment, tag
from pipeline.evaluate import norm_name
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document

LEXICONS = Path(__file__).resolve().parents[2] / "corpora" / "lexicons"


@pytest.fixture(scope="module")
def user_dict(tmp_path_factory) -> Path:
    gaz = load_gazetteer(LEXICONS)
    return segment.write_user_dictionary(gaz, tmp_path_factory.mktemp("lex") / "user_dict.txt",
                                         LEXICONS / "domain_terms.txt")


def _tag(text: str, date: str, user_dict: Path, title: str = ""):
    doc = Document("t", "test", title, date, text)
    return tag.participants(doc, segment.words(text, user_dict), LEXICONS, user_dict)


CASES = [
    # abbreviations and lists joined by 、 with a department after the list
    ("江西、湖北、湖南的卫生部门签订协议，实现跨省即时结算报销。", "2012-07-09",
     {"江西省卫生厅", "湖北省卫生厅", "湖南省卫生厅"}),
    ("国家税务总局、国家发展改革委等九部门近日印发通知，共同开展专项行动。", "2026-03-28",
     {"国家税务总局", "国家发展和改革委员会"}),
    ("由公安部和中宣部、中央综治办等24个部门参加的部际联席会第一次全体会议在京召开。", "2018-02-08",
     {"公安部", "中共中央宣传部", "中央社会治安综合治理委员会办公室"}),
    ("国务院办公厅印发意见，要求国务院建立由发展改革委、商务部牵头的部际联席会议制度。", "2019-06-26",
     {"国务院办公厅", "国务院", "国家发展和改革委员会", "商务部"}),
    # blocs and bloc departments
    ("日前，京津冀三地民政部门签署《京津冀养老服务协同发展协议》。", "2016-06-10",
     {"北京市民政局", "天津市民政局", "河北省民政厅"}),
    ("从今年起，京冀两地互派百名干部双向挂职。", "2015-07-25", {"北京市", "河北省"}),
    ("近日，沪苏浙一市两省人大常委会分别表决通过《条例》。", "2024-03-31",
     {"上海市人民代表大会常务委员会", "江苏省人民代表大会常务委员会", "浙江省人民代表大会常务委员会"}),
    ("今年以来，重庆四川两地共同推动一网通办。", "2023-06-27", {"重庆市", "四川省"}),
    # counties with their prefecture, districts' departments, zones
    ("上海青浦、江苏吴江、浙江嘉善生态绿色一体化发展示范区，日前签署太湖生态一体化保护合作协议。", "2020-01-05",
     {"上海市青浦区", "苏州市吴江区", "嘉兴市嘉善县"}),
    ("今天，北京丰台区商务委与河北保定白沟新城管委会等签订《战略合作协议》。", "2014-05-08",
     {"北京市丰台区商务委员会", "保定市白沟新城管理委员会"}),
    # people stand for their bodies; a group leader chairing the group's meeting stands for the group
    ("国务院副总理、国务院扶贫开发领导小组组长汪洋13日在京主持召开国务院扶贫开发领导小组第21次全体会议。", "2017-11-13",
     {"国务院扶贫开发领导小组"}),
    ("国务院副总理张高丽今天出席在北京召开的大气污染防治工作会议并讲话。北京市委书记郭金龙主持会议。", "2013-09-18",
     {"国务院", "北京市"}),
    ("香港特别行政区行政长官林郑月娥、澳门特别行政区行政长官贺一诚参加会议。", "2021-04-23",
     {"香港特别行政区", "澳门特别行政区"}),
    # formal communiqué attendance sentences: departments of the document's own province written as 省X厅,
    # further lists and persons before the attendance verb, a department shared by a list of provinces
    ("江苏省副省长主持会议并讲话。省发展改革委、省财政厅负责同志，南京、无锡、镇江三市政府分管负责同志参加会议。",
     "2014-11-19", {"江苏省", "江苏省发展和改革委员会", "江苏省财政厅", "南京市", "无锡市", "镇江市"}),
    ("国家发展改革委有关负责同志到会指导，山西省、陕西省、河南省发展改革委有关负责同志出席会议。", "2015-06-09",
     {"国家发展和改革委员会", "山西省发展和改革委员会", "陕西省发展和改革委员会", "河南省发展和改革委员会"}),
    ("联席会议召集人、民政部部长主持会议并讲话。", "2025-06-18", {"民政部"}),
    ("会议商定，第十七次市长联席会议由淮安市承办。", "2016-04-14", set()),
    # member lists of system documents: a body the gazetteer may not know does not end the list; official
    # abbreviations of former bodies (国家安全监管总局); 省X after 包括 and 省人民政府 are the home province's
    ("联席会议由住房城乡建设部、国家发展改革委、水利部、国家安全监管总局、国家航天测控总局、国家能源局等6个部门组成。",
     "2014-07-11", {"住房和城乡建设部", "国家发展和改革委员会", "水利部", "国家安全生产监督管理总局", "国家能源局"}),
    ("江苏省人民政府办公厅关于同意建立联席会议制度的函\n经省人民政府同意，现函复如下：联席会议由省文化和旅游厅牵头，"
     "成员单位包括省发展改革委、省财政厅、省水利厅。", "2020-12-08",
     {"江苏省", "江苏省文化和旅游厅", "江苏省发展和改革委员会", "江苏省财政厅", "江苏省水利厅"}),
    ("各省政府要建立联席会议制度，成员单位包括省发展改革委、省财政厅。", "2020-12-08", set()),
    ("同意增补国家乡村振兴局、国家医疗保障局为全国农民工工作部际联席会议成员单位。联席会议召集人仍由人力资源社会保障部主要负责同志担任。",
     "2022-11-04", {"国家乡村振兴局", "国家医疗保障局", "人力资源和社会保障部"}),
    ("9月17日，在财政部、生态环境部指导下，北京市人民政府与河北省人民政府签署《横向生态保护补偿协议》。", "2020-09-17",
     {"财政部", "生态环境部", "北京市", "河北省"}),
    # a county made a district after 2016 (梁平县 → 梁平区) keeps the list of counties going
    ("重庆市发展改革委负责同志出席会议指导，万州区、开州区、云阳县、梁平区、忠县政府主要负责同志参加会议。", "2020-07-08",
     {"重庆市发展和改革委员会", "重庆市万州区", "重庆市开州区", "重庆市云阳县", "重庆市梁平区", "重庆市忠县"}),
    # State Council coordination bodies acting together with ministries
    ("针对广东的暴雨洪涝灾情，国家减灾委、民政部16号晚上紧急启动国家四级救灾应急响应，派出工作组赶赴灾区。", "2016-05-17",
     {"国家减灾委员会", "民政部"}),
    # renamed bodies as of the date
    ("国家旅游局与国家发展改革委联合印发通知。", "2019-06-01", {"文化和旅游部", "国家发展和改革委员会"}),
    # non-participants: the news source, venues, names inside names, demands, companies, foreign governments
    ("记者今天从自然资源部了解到，江苏、安徽、山东、河南4省的10个城市宣布启动不动产登记跨省通办。", "2025-03-01", set()),
    ("京津冀税务稽查协查协作机制日前在京建立，将促进三地信息共享。", "2015-04-29", set()),
    ("今天，京津冀三地机场签署了协同发展战略合作框架协议。", "2014-12-22", set()),
    ("会议强调，湖北省、武汉市要严格落实属地责任。", "2020-01-24", set()),
    ("十一届全国人大常委会第三十次会议24日上午在北京人民大会堂举行第一次全体会议。受国务院委托，国家工商总局局长周伯华作了说明。",
     "2012-12-24", set()),
    ("俄罗斯外交部长拉夫罗夫与白俄罗斯外交部长共同主持召开两国外交部联席会议。", "2020-11-27", set()),
]


@pytest.mark.parametrize(("text", "date", "expected"), CASES, ids=[c[0][:12] for c in CASES])
def test_participants_of_real_phrasings(user_dict, text, date, expected):
    assert {p.name for p in _tag(text, date, user_dict)} == expected


def test_the_issuer_of_an_official_letter_signs_it(user_dict):
    """A letter that approves a joint-meeting system: its issuer heads it and signs above the date."""
    text = ("国务院办公厅\n国务院办公厅关于同意建立城市地下管线综合管理部际联席会议制度的函\n住房城乡建设部：\n"
            "国务院同意建立由住房城乡建设部牵头的城市地下管线综合管理部际联席会议制度。\n"
            "联席会议由住房城乡建设部、国家发展改革委、财政部等3个部门组成。\n国务院办公厅\n二〇一四年七月十一日")
    ps = {p.name: p for p in _tag(text, "2014-07-11", user_dict)}
    assert set(ps) == {"国务院办公厅", "国务院", "住房和城乡建设部", "国家发展和改革委员会", "财政部"}
    issuer = ps["国务院办公厅"]
    assert issuer.role == "host" and issuer.start == text.rindex("国务院办公厅")
    # without the signature above a date, the banner alone is not taken
    unsigned = text.rsplit("\n国务院办公厅\n", 1)[0]
    assert "国务院办公厅" not in {p.name for p in _tag(unsigned, "2014-07-11", user_dict)}


def test_a_province_department_is_not_also_the_central_body(user_dict):
    text = "湖北省、湖南省、江西省发展改革委主要负责同志出席会议。"
    assert {p.name for p in _tag(text, "2015-10-14", user_dict)} == {
        "湖北省发展和改革委员会", "湖南省发展和改革委员会", "江西省发展和改革委员会"}


def test_headline_below_a_banner_is_the_headline(user_dict):
    """A release whose first line is the issuer's banner: the headline's bloc gives way to the body's departments."""
    title = "三省一市签署长三角地区人力资源社会保障合作协议"
    text = (f"安徽省人力资源和社会保障厅\n{title}\n"
            "8月24日，沪苏浙皖三省一市人力资源社会保障部门在合肥签署《长三角地区人力资源和社会保障合作协议》。")
    assert {p.name for p in _tag(text, "2016-08-25", user_dict, title)} == {
        "上海市人力资源和社会保障局", "江苏省人力资源和社会保障厅", "浙江省人力资源和社会保障厅", "安徽省人力资源和社会保障厅"}


def test_evidence_offsets_and_attributes(user_dict):
    text = "日前，北京、天津、河北三地生态环境部门联合签署合作框架协议。"
    ps = _tag(text, "2022-06-22", user_dict)
    assert {p.name for p in ps} == {"北京市生态环境局", "天津市生态环境局", "河北省生态环境厅"}
    for p in ps:
        assert text[p.start:p.end] == p.mention
        assert p.level == "provincial" and p.sector == "environment" and p.role == "signatory"
    hebei = next(p for p in ps if p.name == "河北省生态环境厅")
    assert hebei.region_code == "130000" and hebei.province == "河北省"


def test_roles(user_dict):
    text = "国务院总理李克强作出重要批示。会议由联席会议召集人单位中国人民银行主持，外交部、公安部等成员单位有关负责同志出席会议。"
    roles = {p.name: p.role for p in _tag(text, "2012-11-22", user_dict)}
    assert roles == {"国务院": "superior", "中国人民银行": "chair", "外交部": "member", "公安部": "member"}


def test_headline_joined_to_body_is_its_own_line(user_dict):
    title = "粤港两地签署新一轮对港供水协议"
    text = title + "今天，广东和香港签署新一轮对港供水协议。"
    ps = _tag(text, "2023-12-27", user_dict, title)
    assert {p.name for p in ps} == {"广东省", "香港特别行政区"}
    assert all(text[p.start:p.end] == p.mention for p in ps)


def test_dev_gold_participants(dev_gold, user_dict):
    """The dev set's participants and mentions (CODEBOOK §4), scored as `jmm evaluate` does."""
    tp = fp = fn = mtp = mfp = mfn = 0
    for line in dev_gold.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        ps = _tag(item["text"], item["date"], user_dict, item["title"])
        gold = {norm_name(n) for n in item["gold"]["participants"]}
        pred = {norm_name(p.name) for p in ps}
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
        gm, pm = set(item["gold"]["participant_mentions"].values()), {p.mention for p in ps}
        mtp, mfp, mfn = mtp + len(gm & pm), mfp + len(pm - gm), mfn + len(gm - pm)
    assert 2 * tp / (2 * tp + fp + fn) >= 0.85
    assert 2 * mtp / (2 * mtp + mfp + mfn) >= 0.85
