"""Document-level codes (CODEBOOK §1, §3): doc_class, meeting metadata, collab_type, depth, institutions,
vertical guidance and goals, each positive code with evidence spans into `Document.text`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.dates import cn_number, find_dates
from pipeline.records import COLLAB_TYPES, LEVELS, Codes, Document, Evidence, Participant

VERSION = "1"

_INTERNATIONAL = re.compile(r"中俄|中美|中日|中韩|中欧|中国—|中哈|中蒙|中越|中老|中巴|中新|两国|双边")
_FOREIGN_NOISE = re.compile(r"参谋长联席会议|参众两院联席会议|董事会|股东大会|孔子学院|党委会联席会议")
_SYSTEM = re.compile(r"(同意建立|建立|调整|成立)[^。]{0,40}联席会议制度|联席会议(制度|成员单位)|成员单位")
_OFFICE = re.compile(r"联席会议办公室|联席办")
_JOINT = re.compile(r"联席会议|联席会")
_COORD = re.compile(r"领导小组[^。]{0,10}会议|座谈会|协调会|对口支援[^。]{0,10}会议|工作会议|推进会|协作会|论坛")
_AGREEMENT = re.compile(r"签署|签订|签约|协议|备忘录|合作机制|联防联控|联合印发|联合发布|一体化|协同")

DEPTH_CUES: dict[int, re.Pattern[str]] = {
    4: re.compile(r"联合执法|联防联控|共建共享|联合行动|专项行动|联合演练|联合检查|联合督查|联合巡查|互认|一网通办|异地就医|跨省通办"),
    3: re.compile(r"签署|签订|框架协议|备忘录|合作协议|通过了?[^。]{0,10}(方案|规划|决议|意见)|共同制定|审议通过|印发"),
    2: re.compile(r"协商|研究|协调解决|达成共识|审议|部署|商定"),
    1: re.compile(r"通报|交流|听取[^。]{0,6}汇报|信息共享"),
}
INSTITUTION_CUES: dict[str, re.Pattern[str]] = {
    "secretariat": re.compile(r"常设办公室|秘书处|联络处|联席会议办公室|联席办"),
    "rotation": re.compile(r"轮值|轮流承办|轮流举办"),
    "charter": re.compile(r"章程|议事规则|工作制度|工作规则|例会制度"),
    "agreement": re.compile(r"签署[^。]{0,30}(协议|备忘录|宣言|共识)|签订[^。]{0,30}(协议|备忘录)|框架协议|合作协议|备忘录"),
    "fund": re.compile(r"专项资金|基金|经费分担"),
    "working_groups": re.compile(r"专题组|工作组|专委会|专项小组"),
}
_VERTICAL = re.compile(r"指导下|出席指导|到会指导|党中央、?国务院(决策)?部署|批示|批复|国务院同意")
_SERIES = re.compile(r"([\u4e00-\u9fff（）]{2,40}?联席会议)")
_SESSION = re.compile(r"第([0-9一二三四五六七八九十百零〇两]+)次(全体)?会议|第([0-9一二三四五六七八九十百零〇两]+)次[^。，]{0,20}联席会议|首次")
_LOCATION = re.compile(r"在([\u4e00-\u9fff]{2,6}?)(召开|举行|举办)")
_GOAL = re.compile(r"(推进|推动|加强|深化|促进|实现|建立|完善|共建)([\u4e00-\u9fff]{2,16})")


def _span(code: str, value: str, m: re.Match[str], group: int = 0) -> Evidence:
    return Evidence(code, value, m.start(group), m.end(group), m.group(group))


def doc_class(text: str) -> tuple[str, Evidence | None]:
    """The class of a document by rules over its text, with the span that decided it."""
    if m := _FOREIGN_NOISE.search(text):
        if not _JOINT.search(_FOREIGN_NOISE.sub("", text)):
            return "other", _span("doc_class", "other", m)
    if (m := _JOINT.search(text)) and _INTERNATIONAL.search(text[max(0, m.start() - 40):m.end()]):
        return "joint_meeting_international", _span("doc_class", "joint_meeting_international", m)
    if m := _OFFICE.search(text):
        if re.search(r"召集|部署|通报|发布|上线", text[m.end():m.end() + 40]):
            return "joint_meeting_office_activity", _span("doc_class", "joint_meeting_office_activity", m)
    if m := _SYSTEM.search(text):
        return "joint_meeting_system_document", _span("doc_class", "joint_meeting_system_document", m)
    if m := _JOINT.search(text):
        return "joint_meeting", _span("doc_class", "joint_meeting", m)
    if m := _COORD.search(text):
        return "coordination_meeting_other", _span("doc_class", "coordination_meeting_other", m)
    if m := _AGREEMENT.search(text):
        return "cooperation_agreement_or_mechanism", _span("doc_class", "cooperation_agreement_or_mechanism", m)
    return "other", None


def collab_types(participants: Iterable[Participant], text: str, doc_cls: str) -> tuple[list[str], list[Evidence]]:
    """collab_type from the participants' jurisdictions, levels and sectors (CODEBOOK §3)."""
    ps = list(participants)
    out: list[str] = []
    ev: list[Evidence] = []
    if doc_cls == "other":
        return out, ev
    by_level: dict[str, set[str]] = {}
    for p in ps:
        if p.level != "national":
            by_level.setdefault(p.level, set()).add(p.region_code)
    provinces = {p.province for p in ps if p.province}
    if len(provinces) >= 2 or any(len(codes) >= 2 for codes in by_level.values()):
        out.append("cross_regional")
    if len({p.level for p in ps}) >= 2:
        out.append("cross_level")
    depts = {(p.region_code, p.sector) for p in ps if p.sector != "general" or p.level == "national"}
    if len({s for _, s in depts}) >= 2 or re.search(r"部际联席会议|部际", text):
        out.append("cross_departmental")
    for c in out:
        for p in ps[:3]:
            ev.append(Evidence("collab_type", c, p.start, p.end, p.mention))
    return out, ev


def codes(doc: Document, participants: tuple[Participant, ...]) -> Codes:
    """Code one document (CODEBOOK §1, §3) from its text and participants."""
    text = doc.text
    evidence: list[Evidence] = []
    cls, ev = doc_class(text)
    if ev:
        evidence.append(ev)
    if cls == "other":
        return Codes(doc_class=cls, evidence=tuple(evidence))
    levels = sorted({p.level for p in participants}, key=LEVELS.index)
    regions = sorted({p.province for p in participants if p.province})
    collab, cev = collab_types(participants, text, cls)
    evidence.extend(cev)
    depth = None
    for d in (4, 3, 2, 1):
        if m := DEPTH_CUES[d].search(text):
            depth = d
            evidence.append(_span("depth", str(d), m))
            break
    if depth is None:
        depth = 2
    institutions = []
    for name, cue in INSTITUTION_CUES.items():
        if m := cue.search(text):
            institutions.append(name)
            evidence.append(_span("institutions", name, m))
    vertical = False
    if m := _VERTICAL.search(text):
        vertical = True
        evidence.append(_span("vertical_guidance", "true", m))
    series = None
    if cls.startswith("joint_meeting") and (m := _SERIES.search(text)):
        series = re.sub(r"^(召开|举行|出席|参加|在)", "", m.group(1))
        series = re.sub(r"第[0-9一二三四五六七八九十百零〇两]+次", "", series)
        evidence.append(_span("series", series, m, 1))
    session = None
    if m := _SESSION.search(text):
        raw = m.group(1) or m.group(3)
        session = 1 if raw is None else cn_number(raw)
        evidence.append(_span("session", str(session), m))
    meeting_date = None
    dates = find_dates(text, doc.date)
    if dates:
        meeting_date = dates[0].iso
        evidence.append(Evidence("meeting_date", meeting_date, dates[0].start, dates[0].end, dates[0].text))
    location = None
    if m := _LOCATION.search(text):
        location = m.group(1)
        evidence.append(_span("location", location, m, 1))
    goals = []
    for m in _GOAL.finditer(text):
        goals.append(m.group(0))
        if len(goals) >= 5:
            break
    return Codes(cls, tuple(levels), tuple(regions), tuple(c for c in COLLAB_TYPES if c in collab), series,
                 session, meeting_date, location, depth, tuple(institutions), vertical, tuple(goals),
                 tuple(evidence))
