"""Document-level codes (CODEBOOK §1, §3), each positive code with evidence spans into `Document.text`.

- `doc_class` and `depth` are decided by logistic regressions fitted on human labels (`corpora/models/`,
  `make train`) over the features of `pipeline.features`; their evidence is the cue of the decided class or stage
  found first in the title and lead.
- `levels`, `regions` and `collab_type` follow the codebook's definitions from the participants, the generic
  actors the main sentences say take part (9部门, 沿江省市, 三地 — CODEBOOK §2 rule 3) and the known make-up of the
  convening body (a central leading group or a 部际联席会议 is national and cross-departmental; a bloc in its name
  adds the bloc's provinces). Their evidence is the participants or the cue that establishes them.
- `series`, `session`, `meeting_date` and `location` are read from the meeting's name and the sentence that
  reports it; `institutions`, `vertical_guidance` and `goals` from the cue words of `corpora/lexicons/cues.csv`.
"""

from __future__ import annotations

import re

from pipeline import features, lexicon
from pipeline.candidates import Candidate
from pipeline.dates import cn_number, find_dates
from pipeline.errors import PipelineError
from pipeline.learn import Models
from pipeline.lexicon import CJK, NUMERAL
from pipeline.records import COLLAB_TYPES, DOC_CLASSES, LEVELS, Codes, Document, Evidence, Participant

VERSION = "4"  # 4: doc_class and depth learned from human labels; levels/regions/collab from the codebook

#: the cue groups that evidence each class (searched in the title and lead, then the text)
_CLASS_CUES = {
    "joint_meeting": ("jm",), "joint_meeting_system_document": ("jm_system", "jm"),
    "joint_meeting_office_activity": ("jm_office", "jm"), "joint_meeting_international": ("jm", "foreign"),
    "coordination_meeting_other": ("group_meeting", "coord_meeting", "meeting"),
    "cooperation_agreement_or_mechanism": ("agreement", "mechanism", "joint", "aid"),
}


def _ev(code: str, value: str, text: str, start: int, end: int) -> Evidence:
    return Evidence(code, value, start, end, text[start:end])


def _first_cue(doc: Document, groups: tuple[str, ...], code: str, value: str) -> Evidence | None:
    """The first match of the groups' cues in the lead, else in the whole text."""
    text = doc.text
    lead = lexicon.lead_end(text, doc.title or "")
    for a, b in ((0, lead), (0, len(text))):
        for g in groups:
            if m := lexicon.cue_pattern(g).search(text, a, b):
                return _ev(code, value, text, m.start(), m.end())
    return None


# --- doc_class ------------------------------------------------------------------------------------------------

#: the classes CODEBOOK §1 defines by a joint meeting (联席会议): a document that names none is none of them
_JOINT_MEETING_FAMILY = frozenset(("joint_meeting", "joint_meeting_system_document", "joint_meeting_office_activity",
                                   "joint_meeting_international"))


def _names_joint_meeting(doc: Document) -> bool:
    return bool(lexicon.cue_pattern("jm").search(doc.text) or lexicon.cue_pattern("jm").search(doc.title or "")
                or lexicon.cue_pattern("jm_office").search(doc.text))


def doc_class(doc: Document, candidates: tuple[Candidate, ...], probs: list[float], models: Models,
              doc_features: dict[str, float] | None = None) -> str:
    """The class of a document (CODEBOOK §1) by the learned model, from the document's features and its
    candidates' participant scores `probs` (`doc_features` may be given when already computed)."""
    f = dict(doc_features or features.document_features(doc, candidates))
    f.update(features.participation_features(candidates, probs, models.threshold,
                                             lexicon.lead_end(doc.text, doc.title or "")))
    p = models.doc_class.predict_proba([f])[0]
    allowed = [c for c in models.doc_class.classes_ if c not in _JOINT_MEETING_FAMILY or _names_joint_meeting(doc)]
    cls = max(allowed, key=lambda c: p[models.doc_class.classes_.index(c)])
    if cls not in DOC_CLASSES:
        raise PipelineError(f"doc_class model: unknown class {cls!r} (expected one of {', '.join(DOC_CLASSES)})")
    return cls


# --- depth ----------------------------------------------------------------------------------------------------

def depth_of(doc: Document, cls: str, models: Models) -> tuple[int | None, Evidence | None]:
    """The highest stage of collaboration the text evidences (CODEBOOK §3 depth 1–4); None for `other`. The model
    weighs the stages; a stage whose cue words the text does not hold is not chosen (every positive code has its
    evidence), unless the text holds none at all."""
    if cls == "other":
        return None, None
    p = models.depth.predict_proba([features.depth_features(doc, cls)])[0]
    stages = sorted(models.depth.classes_, key=lambda c: -p[models.depth.classes_.index(c)])
    for stage in stages:
        if e := _first_cue(doc, (f"depth{stage}",), "depth", stage):
            return int(stage), e
    # no stage's cue in the text: the model's stage, evidenced by what made the document coordination
    ce = _first_cue(doc, _CLASS_CUES.get(cls, ()) + ("joint", "meeting", "region", "mechanism"), "depth", stages[0])
    return int(stages[0]), ce


# --- levels, regions, collab_type --------------------------------------------------------------------------------

_CENTRAL = re.compile(r"^(?:国务院|中央|中共中央|全国|国家)|部际|部级")
_BODY_OF_BODIES = re.compile(r"领导小组|部际联席会议|联防联控(?:工作)?机制|委员会(?:全体)?会议")


def _main_spans(doc: Document, participants: tuple[Participant, ...]) -> list[tuple[int, int]]:
    """Where the main event is told: the lead, and the sentences that name a participant or report a meeting or
    a joint act (every sentence of a short text)."""
    text = doc.text
    spans = [(0, lexicon.lead_end(text, doc.title or ""))]
    cue = re.compile("|".join(lexicon.cue_pattern(g).pattern for g in ("attend", "chair", "sign", "joint", "meeting",
                                                                         "member", "aid")))
    for a, b in lexicon.sentences(text):
        if len(text) <= 400 or any(a <= p.start < b for p in participants) or cue.search(text, a, b):
            spans.append((a, b))
    return spans


def _in(spans: list[tuple[int, int]], i: int) -> bool:
    return any(a <= i < b for a, b in spans)


def collaboration(doc: Document, cls: str, participants: tuple[Participant, ...],
                  candidates: tuple[Candidate, ...], series: str | None,
                  series_span: tuple[int, int] | None = None) -> tuple[list[str], list[str], list[str], list[Evidence]]:
    """levels, regions and collab_type (CODEBOOK §3) with their evidence (the convening body's evidence is the
    series' span when given)."""
    if cls == "other":
        return [], [], [], []
    text = doc.text
    spans = _main_spans(doc, participants)
    levels: dict[str, Evidence] = {}
    regions: dict[str, Evidence] = {}
    collab: dict[str, list[Evidence]] = {}
    for p in participants:
        levels.setdefault(p.level, Evidence("levels", p.level, p.start, p.end, p.mention))
        if p.province:
            regions.setdefault(p.province, Evidence("regions", p.province, p.start, p.end, p.mention))
    # generic actors the main sentences say take part (CODEBOOK §2 rule 3)
    for level in ("national", "provincial", "prefectural", "county"):
        for m in lexicon.cue_pattern(f"generic_{level}").finditer(text):
            if _in(spans, m.start()):
                levels.setdefault(level, _ev("levels", level, text, m.start(), m.end()))
                break
    # blocs and provinces named as involved in the main sentences (not as venues)
    for c in candidates:
        if c.kind == "bloc" and _in(spans, c.start) and c.province and not _venue(text, c):
            regions.setdefault(c.province, Evidence("regions", c.province, c.start, c.end, c.mention))
    # the known make-up of the convening body (CODEBOOK §3 levels)
    body = series or next((p.name for p in participants if p.level == "national" and _BODY_OF_BODIES.search(p.name)),
                          None)
    if body and _CENTRAL.search(body) or body and _BODY_OF_BODIES.search(body) and \
            any(c.kind == "group" for c in candidates):
        span = series_span if series and series_span else _span_of(text, body)
        levels.setdefault("national", _ev("levels", "national", text, *span))
        collab.setdefault("cross_departmental", [_ev("collab_type", "cross_departmental", text, *span)])
        bloc_members = [c for c in candidates if c.kind == "bloc" and span[0] <= c.start < span[1] + 1]
        for c in bloc_members:
            regions.setdefault(c.province, Evidence("regions", c.province, c.start, c.end, c.mention))
        if bloc_members:
            levels.setdefault("provincial", _ev("levels", "provincial", text, *span))
    if regions and not {"provincial", "prefectural", "county"} & set(levels):
        e = next(iter(regions.values()))
        levels["provincial"] = Evidence("levels", "provincial", e.start, e.end, e.text)
    # collaboration types from the participants and the cues (CODEBOOK §3 collab_type)
    local = [p for p in participants if p.level != "national"]
    by_province: dict[str, Participant] = {}
    for p in local:
        by_province.setdefault(p.province, p)
    same_tier = {}
    for p in local:
        same_tier.setdefault((p.level, p.region_code), p)
    if len(by_province) >= 2:
        collab["cross_regional"] = [_p_ev("cross_regional", p) for p in list(by_province.values())[:2]]
    elif len({k for k in same_tier if k[0] == local[0].level} if local else ()) >= 2:
        collab["cross_regional"] = [_p_ev("cross_regional", p) for p in list(same_tier.values())[:2]]
    elif len(regions) >= 2:
        collab["cross_regional"] = [Evidence("collab_type", "cross_regional", e.start, e.end, e.text)
                                    for e in list(regions.values())[:2]]
    by_level: dict[str, Evidence] = dict(levels)
    if len(by_level) >= 2:
        collab["cross_level"] = [Evidence("collab_type", "cross_level", e.start, e.end, e.text)
                                 for e in sorted(by_level.values(), key=lambda e: e.start)[:2]]
    sectors: dict[tuple[bool, str], Participant] = {}
    for p in participants:
        if p.sector not in ("general", "party") or p.level == "national" and p.sector == "party":
            sectors.setdefault((p.level == "national", p.sector), p)
    for national in (True, False):
        group = [p for (nat, _), p in sectors.items() if nat == national]
        if len(group) >= 2 and "cross_departmental" not in collab:
            collab["cross_departmental"] = [_p_ev("cross_departmental", p) for p in group[:2]]
    for code, group in (("cross_regional", "generic_regional"), ("cross_departmental", "generic_departments"),
                        ("cross_level", "generic_cross_level")):
        if code not in collab:
            for m in lexicon.cue_pattern(group).finditer(text):
                if _in(spans, m.start()):
                    collab[code] = [_ev("collab_type", code, text, m.start(), m.end())]
                    break
    evidence = [*levels.values(), *regions.values(), *(e for es in collab.values() for e in es)]
    return ([lv for lv in LEVELS if lv in levels], sorted(regions), [c for c in COLLAB_TYPES if c in collab],
            evidence)


def _p_ev(code: str, p: Participant) -> Evidence:
    return Evidence("collab_type", code, p.start, p.end, p.mention)


def _venue(text: str, c: Candidate) -> bool:
    """在X召开, 赴X: a place named as the venue or a destination, not as an actor."""
    return bool(re.search(r"(?:在|赴|到|于|来到|抵达|位于)$", text[max(0, c.start - 2):c.start])) or \
        bool(re.match(r"(?:召开|举行|举办|开幕|闭幕)", text[c.end:c.end + 2]))


def _span_of(text: str, name: str) -> tuple[int, int]:
    """Where the text names `name`, or its longest tail or head it does name (at least 4 characters)."""
    for cut in range(len(name), 3, -1):
        for part in (name[len(name) - cut:], name[:cut]):
            if (i := text.find(part)) >= 0:
                return i, i + len(part)
    return 0, 0


# --- meeting metadata ---------------------------------------------------------------------------------------------

_NAME = rf"[{CJK}0-9A-Za-z“”·\-－—（）《》]"
_CUT = re.compile(r"^.*(?:从|召开|举行|出席|参加|参与|主持|牵头|组成|建立|设立|成立|同意|印发|调整|关于|(?<!应)对(?!口)|暨|在|由|"
                  r"是|了|(?<!党)的|、|年度|这次|此次|本次|按照|根据|做好|会议上)")
#: a person named before 和 and a body's name (何立峰和…领导小组): the person is not part of the name
_PERSON_AND = re.compile(rf"^[{CJK}]{{2,3}}和(?!社会保障|信息化|城乡建设|旅游|改革|计划生育|草原|物资储备)")
_JOINT_NAME = re.compile(rf"({_NAME}{{2,40}}?)(部际联席会议?|部级联席会议?|省际联席会议?|联席会议?)(?!办公室|办|制度|机制|成员)")
#: a leading group's meeting after the group's name (…领导小组第十次全体会议, …领导小组召开会议)
_GROUP_MEETING = re.compile(rf"(?:今天|日前|近日|[{lexicon.NUM}]+日)?(?:在[^，。]{{1,8}}?)?(?:召开|举行)?了?(?:第{NUMERAL}次)?"
                            rf"(全体会议|全体成员会议|电视电话会议|专题会议|会议)")
_MECH_NAME = re.compile(rf"({_NAME}{{2,50}}?)(工作机制|协作机制|合作机制)(会议)")
_OTHER_NAME = re.compile(rf"({_NAME}{{4,40}}?(?:工作会议|座谈会|协调会|推进会|联席会|合作会议|论坛|峰会|大会|会议))"
                         rf"(?=今天|昨天|[0-9]+日|{NUMERAL}月|在|正在|于|召开|举行|开幕|闭幕|上|，|。)")
_NOT_SERIES = re.compile(r"^(?:会议|全体会议|常务会议|电视电话会议|动员大会|表彰大会|代表大会|新闻发布会|座谈会|工作会议)$|"
                         r"人大|政协|常委会|新闻发布会|发布会|党委|董事会")
#: an ordinal of the meeting (not one inside its name: 第四次全国文物普查, 第十批援疆干部)
_ORDINAL = re.compile(rf"(?:第{NUMERAL}[届次]|首届|首次)(?![^，。]{{0,10}}(?:普查|调查|批|轮))|\d{{4}}年度?")
_SESSION = re.compile(rf"(?:第({NUMERAL})[次届]|(首)[次届])(?![^，。]{{0,10}}(?:普查|调查|批|轮))")


def _clean_name(stem: str, ordinals: bool = True) -> str:
    """A meeting's name from the words before its kind: ordinals of the meeting dropped (not those a leading
    group's name holds: 第24届冬奥会工作领导小组), verbs and people before the name cut off."""
    return _PERSON_AND.sub("", _CUT.sub("", _ORDINAL.sub("", stem) if ordinals else stem)).strip("“”（）")


def series_of(doc: Document, cls: str, participants: tuple[Participant, ...],
              candidates: tuple[Candidate, ...] = ()) -> tuple[str | None, tuple[int, int] | None]:
    """The meeting series the document reports (CODEBOOK §3): the name of the joint meeting, the leading group whose
    meeting it reports (its name as the candidates resolved it), the mechanism meeting or the named conference in
    the title or lead (in the whole text for joint-meeting documents), ordinals dropped; with its span. None for
    `other` and for agreements that name no meeting."""
    if cls == "other":
        return None, None
    text, title = doc.text, doc.title or ""
    lead = lexicon.lead_end(text, title)
    scopes = [(0, lead), (0, len(text))] if cls.startswith("joint_meeting") else [(0, lead)]
    for a, b in scopes:
        for m in _JOINT_NAME.finditer(text, a, b):
            stem = _clean_name(m.group(1))
            if len(stem) < 3 or re.fullmatch(rf"(?:相关|有关|各|[{lexicon.NUM}]+个?)部门|专家|[^{CJK}]*", stem):
                continue
            name = stem + m.group(2).rstrip("议").replace("部级", "部际") + "议"
            if stem.startswith(("省", "市")) and (home := _home(doc, participants)):
                name = home + name[1:]  # 省大运河…联席会议 in a province's own letter
            return name, (m.end(1) - len(stem), m.end())
        for c in candidates:
            if c.kind == "group" and a <= c.start < b and (g := _GROUP_MEETING.match(text, c.end)):
                kind = "全体会议" if g.group(1) == "全体会议" else "会议"
                return c.name + kind, (c.start, g.end())
        for m in _MECH_NAME.finditer(text, a, b):
            stem = _clean_name(m.group(1))
            if len(stem) >= 3:
                return stem + m.group(2) + "会议", (m.end(1) - len(stem), m.end())
        if cls in ("coordination_meeting_other", "joint_meeting", "joint_meeting_international",
                   "cooperation_agreement_or_mechanism"):
            for m in _OTHER_NAME.finditer(text, a, b):
                name = _clean_name(m.group(1))
                if len(name) >= 6 and not _NOT_SERIES.search(name):
                    return name, (m.end(1) - len(name), m.end(1))
    return None, None


def _home(doc: Document, participants: tuple[Participant, ...]) -> str | None:
    """The province of a provincial body's own document: its first line names it (江苏省人民政府办公厅)."""
    first = doc.text.split("\n", 1)[0]
    return next((p.province for p in participants if p.province and p.start < len(first)), None)


def session_of(doc: Document, span: tuple[int, int] | None) -> tuple[int | None, Evidence | None]:
    """The ordinal of the session (第十九次 → 19, 第一次全体会议 → 1, 首次 → 1, 第五届 → 5) written in or right
    before the meeting's name; None when it gives none."""
    if span is None:
        return None, None
    text = doc.text
    a = span[0] if "领导小组" in text[span[0]:span[1]] else lexicon.clause_start(text, span[0])
    for m in _SESSION.finditer(text, a, min(len(text), span[1] + 8)):
        n = 1 if m.group(2) else cn_number(m.group(1))
        if n:
            return n, _ev("session", str(n), text, m.start(), m.end())
    return None, None


_SOURCE_DATE = re.compile(r"^[（(]?[^。，]{0,10}[)）]?[^。，]{0,3}从[^。，]{0,30}(了解到|获悉)")
_EVENT = re.compile(r"召开|举行|举办|开幕|签署|签订|签约|开展|启动|发布|印发|达成|通过|审定|成立|建立|设立|揭牌|会议|开通|部署")


def meeting_date_of(doc: Document, span: tuple[int, int] | None) -> tuple[str | None, Evidence | None]:
    """The date of the reported meeting or act: the first date in the meeting's sentence, else in the lead, in a
    sentence that reports an event and not a source (记者…了解到); 日前/近日 give None."""
    text = doc.text
    dates = find_dates(text, doc.date)
    if not dates:
        return None, None
    windows = [lexicon.sentence(text, span[0])] if span else []
    windows.append((0, lexicon.lead_end(text, doc.title or "")))
    for a, b in windows:
        for d in dates:
            if a <= d.start < b and not _SOURCE_DATE.match(text[d.end:d.end + 40]) and \
                    _EVENT.search(text, *lexicon.sentence(text, d.start)):
                return d.iso, Evidence("meeting_date", d.iso, d.start, d.end, d.text)
    return None, None


_LOCATION = re.compile(rf"在(京|北京|[{CJK}]{{2,3}}省?[{CJK}]{{0,4}}?)(?:召开|举行|举办|开幕|签署|签订|主持)")


def location_of(doc: Document, candidates: tuple[Candidate, ...], span: tuple[int, int] | None
                ) -> tuple[str | None, Evidence | None]:
    """The city where the meeting was held (在京 → 北京, 在浙江湖州 → 湖州), in the meeting's sentence or the lead."""
    text = doc.text
    windows = [lexicon.sentence(text, span[0])] if span else []
    windows.append((0, lexicon.lead_end(text, doc.title or "")))
    for a, b in windows:
        if m := _LOCATION.search(text, a, b):
            place = m.group(1)
            if place in ("京", "北京"):
                return "北京", _ev("location", "北京", text, m.start(1), m.end(1))
            inside = [c for c in candidates if m.start(1) <= c.start < m.end(1) and c.kind == "jurisdiction"]
            city = inside[-1].mention if inside else place
            city = re.sub(r"^.*?(?:省|自治区)", "", city).removesuffix("市") or city
            return city, _ev("location", city, text, m.start(1), m.end(1))
    return None, None


# --- institutions, guidance, goals ------------------------------------------------------------------------------

_INSTITUTION_GROUPS = {"secretariat": "secretariat", "rotation": "rotation", "charter": "charter",
                       "agreement": "agreement_signed", "fund": "fund", "working_groups": "working_groups"}


def institutions_of(doc: Document) -> tuple[list[str], list[Evidence]]:
    """Institutionalisation indicators the text states (CODEBOOK §3), not those it only plans."""
    text = doc.text
    future = lexicon.cue_pattern("future")
    out, ev = [], []
    for name, group in _INSTITUTION_GROUPS.items():
        for m in lexicon.cue_pattern(group).finditer(text):
            if future.search(text, lexicon.clause_start(text, m.start()), m.start()):
                continue
            out.append(name)
            ev.append(_ev("institutions", name, text, m.start(), m.end()))
            break
    return out, ev


def vertical_of(doc: Document) -> tuple[bool, Evidence | None]:
    text = doc.text
    if m := lexicon.cue_pattern("vertical").search(text):
        return True, _ev("vertical_guidance", "true", text, m.start(), m.end())
    return False, None


_GOAL = re.compile(rf"(推进|推动|加强|深化|促进|实现|建立|完善|共建|打造|提升|保障|打赢|打好|服务)"
                   rf"([{CJK}“”]{{2,18}}?)(?=[，。、；：\n]|的|和|与)")


def goals_of(doc: Document, limit: int = 5) -> tuple[list[str], list[Evidence]]:
    """Stated goals as short phrases in the text's wording (推动长三角一体化发展 …), the first `limit` distinct."""
    out: list[str] = []
    ev: list[Evidence] = []
    for m in _GOAL.finditer(doc.text):
        phrase = m.group(0)
        if phrase in out or len(phrase) < 4:
            continue
        out.append(phrase)
        ev.append(_ev("goals", phrase, doc.text, m.start(), m.end()))
        if len(out) >= limit:
            break
    return out, ev


# --- all codes ------------------------------------------------------------------------------------------------

def codes(doc: Document, cls: str, participants: tuple[Participant, ...], candidates: tuple[Candidate, ...],
          models: Models) -> Codes:
    """Code one document (CODEBOOK §1, §3) of class `cls` from its text, candidates and participants."""
    if cls == "other":
        return Codes(doc_class=cls)
    evidence: list[Evidence] = []
    if e := _first_cue(doc, _CLASS_CUES.get(cls, ()), "doc_class", cls):
        evidence.append(e)
    series, span = series_of(doc, cls, participants, candidates)
    if series and span:
        evidence.append(_ev("series", series, doc.text, *span))
    levels, regions, collab, cev = collaboration(doc, cls, participants, candidates, series, span)
    evidence += cev
    depth, dev = depth_of(doc, cls, models)
    session, sev = session_of(doc, span)
    meeting_date, mev = meeting_date_of(doc, span)
    location, lev = location_of(doc, candidates, span)
    institutions, iev = institutions_of(doc)
    vertical, vev = vertical_of(doc)
    goals, gev = goals_of(doc)
    evidence += [e for e in (dev, sev, mev, lev, vev) if e is not None] + iev + gev
    return Codes(cls, tuple(levels), tuple(regions), tuple(collab), series, session, meeting_date, location, depth,
                 tuple(institutions), vertical, tuple(goals), tuple(evidence))
