"""Candidates for participants (CODEBOOK §2): every mention of a government body in a document, normalised.

A spaCy `blank("zh")` pipeline whose tokenizer is `segment.words` with the user dictionary and whose EntityRuler is
fed from the gazetteer finds the names; patterns find leading groups and joint meetings' offices. The codebook's
normalisation rules are applied here, because they decide what a mention *names*, not whether it takes part:
- names as of the document's date (国家卫生计生委 in 2015; a renamed city);
- a department written after a jurisdiction, after a list of them or after a bloc is each jurisdiction's
  department (X省、Y省发展改革委; 京津冀三地民政部门 → 北京市民政局, 天津市民政局, 河北省民政厅), or the
  jurisdiction where the department's name at that date is ambiguous (rule 5);
- departments of the document's own province written without its name (省发展改革委);
- blocs are expanded to their members (京津冀 → 北京市, 天津市, 河北省; strings of abbreviations: 沪苏浙皖);
- a person whose office is given stands for the body (rule 1: 上海市委书记 → 上海市, 国务院副总理 → 国务院,
  民政部部长 → 民政部; a group's 组长 → the group).

Whether a candidate takes part is decided in `pipeline.tag` by a model learned from labelled documents.
Every candidate's offsets index into `Document.text`."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language

from pipeline import mentions
from pipeline.gazetteer import MUNICIPALITIES, Entry, Gazetteer, load_gazetteer
from pipeline.lexicon import CJK as _CJK, NUM as _NUM, clause_start as _clause_start
from pipeline.records import Document

VERSION = "1"

_GOV_WORDS = re.compile(r"(?:省|市|区|县|自治区)?(?:人民)?政府|行政公署|行署")
_ZONE = re.compile(rf"([{_CJK}]{{2,4}}(?:新城|新区|开发区|高新区|示范区|试验区|合作区))(管委会|管理委员会)")
_LG = re.compile(r"领导小组")
_LG_CUT = re.compile(r".*(?:召开|主持召开|主持|出席|参加|暨|举行|召集|(?<!党)的|在|由|任|是|为|组长|常委|委员|这次|此次|本次|"
                     r"与|按照|根据|做好|会议上|(?<!应)对(?!口)|同志|通过|审议|听取)")
#: a person named before 和 and a group's name (何立峰和京津冀协同发展领导小组)
_PERSON_AND = re.compile(rf"^[{_CJK}]{{2,3}}和(?!社会保障|信息化|城乡建设|旅游|改革|计划生育|草原|物资储备)")
_JM_OFFICE = re.compile(r"联席会议办公室|联席办")
_JM_NAME = re.compile(rf"([{_CJK}0-9]{{2,40}}?(?:联席会议|联席会))")
#: a person's title after a body's name (上海市委书记, 民政部部长, 国务院副总理, 领导小组组长)
_TITLE = re.compile(r"(?:常务)?(?:副(?=省长|市长|主席|部长|局长|署长|主任|厅长|专员|州长|县长|区长|组长))?"
                    r"(副?总理|国务委员|总书记|委书记|书记|省长|市长|自治区主席|主席|部长|局长|署长|主任|副组长|组长|"
                    r"行政长官|厅长|专员|州长|县长|区长)")
#: the titles by which a person stands for each kind of body (CODEBOOK §2 rule 1)
_JURISDICTION_TITLES = frozenset(("委书记", "省长", "市长", "主席", "自治区主席", "行政长官", "专员", "州长", "县长",
                                  "区长"))
_BODY_TITLES = frozenset(("部长", "局长", "署长", "主任"))
_STATE_COUNCIL_TITLES = frozenset(("总理", "副总理", "国务委员"))
#: a State Council leader or the General Secretary named by title without the body (李强总理, 总理李强,
#: 国务委员王勇, 习近平总书记)
_LEADER = re.compile(rf"(?:(?<=[，。、；：\n“])|^)(?:[{_CJK}]{{2,3}}(?=总理|总书记|副总理))?(副总理|总理|国务委员|总书记)")
#: the count after a bloc or a list (京津冀三地, 沪苏浙两省一市, 长三角三省一市)
_COUNT = re.compile(rf"(?:[{_NUM}]+(?:个)?(?:地|方|省市|省区市|省区|省份|省|市))(?:[{_NUM}]+(?:市|省))?|双方")
#: the department words after a list or a bloc may follow 的, a count and 有关
_DEPT_LEAD = re.compile(rf"”?的?(?:等?{_COUNT.pattern})?的?(?:有关|相关)?(?:主管)?")
#: what may follow a list that names acting bodies (CODEBOOK §2 rule 4: a bloc inside a name does not act): a
#: stop, a joining word, a count, 等, a department, government or person word, or an adverb or verb
_ACTOR_FOLLOWS = re.compile(rf"[^{_CJK}A-Za-z0-9]|[、和与及同跟等的之也还将已正均都共分联携率首再在于就为向对从把被以]|"
                            rf"[{_NUM}]|双方|各方|政府|党委|人民|负责|主要|有关|相关|领导|代表|书记|省长|市长|主席|"
                            r"签|召|举|出|参|主持|开展|建立|推|启|实施|部署|发布|印发|制定|组织|达成|加强|深化|打造|构建|成立|设立|"
                            r"合作|协作|协同推进|结对|对口|帮扶|支援|援建|互|交流|座谈|研究|审议|通过|作出|商定|约定|探索|搭建|"
                            r"行政长官|党政|委|副|承办|主办|轮值|紧扣|牢牢|勇于|考察|减免|积极|全力|加快|持续|不断|坚持|聚焦|"
                            r"围绕|齐心|先后|相继|着力|认真|扎实|大力|进一步|努力|一道|一起|正在|按照|根据|依托|利用|"
                            r"今天|今年|昨天|日前|近日|近期|当天|此前|目前|上午|下午|本月|去年|年内")
#: 三方/两地/双方 acting: the members of the bloc or list of that many named earlier (CODEBOOK §2 rule 5)
_ANAPHOR = re.compile(rf"(?<![{_CJK}])(?:(两|三|四|五|双)(方|地|省市|省区市|省区|省|市))(?=[{_CJK}])")
_ANAPHOR_ACTS = re.compile(r"(?:还|又|将|已|均|分别|一致)?(?:共同|联合|携手|分别|一起)?(?:签署|签订|发布|启动|开展|建立|达成|"
                           r"共同|联合|携手|互认|共建|商定|约定|协同|合作)")
_COUNT_OF = {"两": 2, "双": 2, "三": 3, "四": 4, "五": 5}
#: a body or place the gazetteer does not know between two listed ones: the list goes on
_UNKNOWN_MEMBER = re.compile(rf"、(?:[{_CJK}]{{2,16}}?(?:部|委|局|署|办|厅|委员会|办公室)|[{_CJK}]{{1,6}}(?:区|县|市|旗))(?:、|和|及|以及)")
#: a bureau of a central body written right after its name (公安部交管局, 海关总署缉私局, 交通运输部海事局); a
#: department (司) is the body itself
_SUB_BUREAU = re.compile(rf"(?!有关|相关|各)(?:(?!和|与|及|等|局|司)[{_CJK}]){{1,6}}局(?!长)")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One mention of a government body, normalised. `via` says how it was found (`name`: the gazetteer; `bloc`:
    a member of a bloc; `department`: a jurisdiction's department; `person`: a person's office; `pattern`: a
    leading group or an office found by pattern; `home`: a department of the document's own province or city).
    The list it stands in (、 和 及 与) is `list_start`–`list_end`, of `list_size` units, this one at
    `list_pos` (0-based)."""

    name: str
    mention: str
    start: int
    end: int
    level: str
    region_code: str
    province: str
    sector: str
    kind: str  # jurisdiction | body | bloc | group | office
    via: str
    list_start: int
    list_end: int
    list_size: int = 1
    list_pos: int = 0
    title: str = ""  # a person's title (via person)
    in_name: bool = False  # the list goes on into a longer name (京津冀|协同发展领导小组, 长三角|G60科创走廊)


@dataclass
class _Unit:
    start: int
    end: int  # end of the core mention
    mention: str
    bodies: list[tuple[str, Entry, str]]  # (participant name, entry for level/region, sector)
    kind: str  # jurisdiction | body | bloc | group | office
    ext_end: int = -1  # end after department, government or plural words
    dept: str = ""  # department words right after a jurisdiction
    qualifier: bool = False  # names a place that only locates another unit (安徽皖北的阜阳)
    via: str = "name"

    def __post_init__(self) -> None:
        if self.ext_end < 0:
            self.ext_end = self.end


@functools.cache
def _dept_words(gaz: Gazetteer) -> str:
    """The gazetteer's department words as one regex alternation, longest first."""
    alts = sorted({a for d in gaz.departments for a in d.pattern.split("|")}, key=len, reverse=True)
    return "|".join(map(re.escape, alts))


@functools.cache
def _dept_regex(gaz: Gazetteer) -> re.Pattern[str]:
    words = _dept_words(gaz)
    return re.compile(rf"(?:省|市|区|县|自治区)?((?:{words})(?:(?:和|、)(?:{words}))*)")


def _units(doc: Document, words: list[str], gaz: Gazetteer, nlp: Language) -> list[_Unit]:
    """The bodies and places the document names, each once: gazetteer names (a county after its prefecture read
    with it), leading groups and offices found by pattern, departments of the document's own province; then the
    department, government or zone words written after each jurisdiction."""
    units = _span_units(doc, mentions.spans(doc.text, words, gaz, nlp), gaz)
    units += _pattern_units(doc, gaz)
    units.sort(key=lambda u: (u.start, -(u.end - u.start)))
    out: list[_Unit] = []
    for u in units:
        if out and u.start < out[-1].end:
            if u.end - u.start >= out[-1].end - out[-1].start and u.kind in ("group", "office"):
                out[-1] = u
            continue
        out.append(u)
    out = _implicit_units(doc.text, out, gaz, doc.date)
    for u in out:
        if u.kind == "jurisdiction" and not u.dept:
            _attach_words(u, doc.text, gaz, doc.date)
    # a central body's short name that became a jurisdiction's department (江西省|发展改革委) is not a unit of its own
    kept: list[_Unit] = []
    for u in out:
        if kept and u.kind == "body" and u.start < kept[-1].end:
            continue
        kept.append(u)
    return kept


def _span_units(doc: Document, spans: list[mentions.Span], gaz: Gazetteer) -> list[_Unit]:
    """Units of the gazetteer's names as of the document's date: a bloc with its members, a jurisdiction (a
    county after its prefecture is read with it: 上海青浦; the prefecture only qualifies it), a central body (and a
    bureau of it written right after: 公安部交管局)."""
    text, date = doc.text, doc.date
    units: list[_Unit] = []
    for s, e, label, ent_id, ent_text in spans:
        if label == "BLOC":
            members = [gaz.entries[m] for m in (gaz.blocs.get(ent_id) or ent_id.split("|"))]
            units.append(_Unit(s, e, ent_text, [(m.name, m, "general") for m in members], "bloc"))
        elif label == "QUAL":
            prev = units[-1] if units and units[-1].end == s and units[-1].kind == "jurisdiction" else None
            if prev is None:
                # a short county name in a list after its prefecture (六安市金安区、舒城县; 南湖区、秀洲区…):
                # resolved within the nearest earlier jurisdiction that holds exactly one county of that name
                for ctx in reversed([u for u in units if u.kind == "jurisdiction"]):
                    j_ = ctx.bodies[0][1]
                    scope = gaz.parent(j_) if j_.level == "county" and gaz.parent(j_) is not None else j_
                    cands = [gaz.by_code[c] for c in gaz.qualified[ent_text] if gaz.within(gaz.by_code[c], scope)]
                    if len(cands) == 1:
                        c = cands[0]
                        units.append(_Unit(s, e, ent_text, [(gaz.full_name(c), c, "general")], "jurisdiction"))
                        break
                continue
            parent = prev.bodies[0][1]
            cands = [gaz.by_code[c] for c in gaz.qualified[ent_text] if gaz.within(gaz.by_code[c], parent)]
            if len(cands) == 1:
                c = cands[0]
                units[-1] = _Unit(prev.start, e, text[prev.start:e], [(gaz.full_name(c), c, "general")],
                                  "jurisdiction")
        else:
            entry = gaz.lookup(ent_text)
            if entry is None:
                continue
            entry = gaz.as_of(entry, date)
            if entry.kind == "jurisdiction":
                prev = units[-1] if units and units[-1].kind == "jurisdiction" else None
                if prev is not None and gaz.within(entry, prev.bodies[0][1]) and (
                        prev.end == s or text[prev.end:s] in ("的",)):
                    if prev.end == s and ent_text != entry.name and entry.level == "county":
                        units[-1] = _Unit(prev.start, e, text[prev.start:e], [(gaz.full_name(entry), entry,
                                                                               "general")], "jurisdiction")
                        continue
                    prev.qualifier = True
                if ent_text != entry.name and entry.name.startswith(ent_text) and text.startswith(entry.name, s):
                    e, ent_text = s + len(entry.name), entry.name
                units.append(_Unit(s, e, ent_text, [(gaz.full_name(entry), entry, "general")], "jurisdiction"))
            else:
                ms = s - 2 if text[max(0, s - 2):s] == "中国" and not entry.name.startswith("中国") else s
                if entry.level == "national" and (sub := _SUB_BUREAU.match(text, e)):  # 公安部交管局
                    name = entry.name + sub.group(0)
                    entry = Entry(name, "national", "000000", "", entry.sector, "body")
                    e = sub.end()
                units.append(_Unit(ms, e, text[ms:e], [(entry.name, entry, entry.sector)], "body"))
    return units


def _attach_words(u: _Unit, text: str, gaz: Gazetteer, date: str | None) -> None:
    """The words after a jurisdiction that say which of its bodies it is: one department (its full name as of
    the date), its government (人民政府: the jurisdiction itself), or a zone's management committee."""
    j = u.bodies[0][1]
    if m := _dept_regex(gaz).match(text, u.end):
        words_ = m.group(1)
        if len(re.split(r"和|、", words_)) == 1 and (dep := gaz.department(j, words_, date)) is not None:
            u.bodies = [(dep[0], j, dep[1])]
            u.dept = words_
            u.mention = text[u.start:m.end()]
            u.end = u.ext_end = m.end()
        return
    if m := _GOV_WORDS.match(text, u.end):
        u.mention = text[u.start:m.end()]
        u.end = u.ext_end = m.end()
    elif m := _ZONE.match(text, u.end):
        name = gaz.full_name(j) + m.group(1) + "管理委员会"
        lvl = {"provincial": "prefectural", "prefectural": "county"}.get(j.level, j.level)
        zone = Entry(name, lvl, j.region_code, j.province, "general", "body")
        u.bodies = [(name, zone, "general")]
        u.start = m.start()
        u.mention = m.group(0)
        u.end = u.ext_end = m.end()


def _home(units: list[_Unit], gaz: Gazetteer) -> tuple[Entry | None, Entry | None]:
    """The document's own province and city: the first ones its jurisdictions name or lie in."""
    province = city = None
    for u in units:
        if u.kind != "jurisdiction":
            continue
        e = u.bodies[0][1]
        chain = [e]
        while (p := gaz.parent(chain[-1])) is not None:
            chain.append(p)
        for c in chain:
            if province is None and c.level == "provincial":
                province = c
            if city is None and (c.level == "prefectural" or c.name in MUNICIPALITIES):
                city = c
        if province and city:
            break
    return province, city


@functools.cache
def _scoped_dept_regex(gaz: Gazetteer) -> re.Pattern[str]:
    """省|自治区|市 followed by a department word (longest first)."""
    return re.compile(rf"(省|自治区|市)({_dept_words(gaz)}|(?:人民)?政府(?!办|驻|[{_CJK}]{{0,6}}(?:厅|局|委|室)))")


#: what may stand right before 省/市 + a department word of the document's own jurisdiction (包括省发展改革委)
_SCOPE_AFTER = re.compile(r"(?:由|和|及|与|同|包括|包含|有|为|是|经|请|会同|联合|牵头)$")


def _implicit_units(text: str, units: list[_Unit], gaz: Gazetteer, date: str | None) -> list[_Unit]:
    """Departments of the document's own province or city written without its name (省发展改革委, 市水利局,
    自治区商务厅), as units of that jurisdiction."""
    province, city = _home(units, gaz)
    if province is None and city is None:
        return units
    taken = [(u.start, u.end) for u in units]
    added = []
    for m in _scoped_dept_regex(gaz).finditer(text):
        a = m.start()
        if a > 0 and re.match(rf"[{_CJK}]", text[a - 1]) and not _SCOPE_AFTER.search(text, max(0, a - 4), a):
            continue  # 江苏省发改委 is the jurisdiction's; 各省发改委 / 外省公安机关 are not the home province's
        inside = [u for u in units if u.kind == "body" and m.start(2) <= u.start and u.end <= m.end()]
        inside_spans = {(u.start, u.end) for u in inside}
        if any(x < m.end() and a < y for x, y in taken if (x, y) not in inside_spans):
            continue
        units = [u for u in units if u not in inside]  # 省|发展改革委: not the national body of that short name
        scope = m.group(1)
        home = city if scope == "市" else province
        if home is None or (scope == "自治区" and not home.name.endswith("自治区")) or (
                scope == "省" and not home.name.endswith("省")):
            continue
        if m.group(2) in ("人民政府", "政府"):  # 经省人民政府同意: the home government itself
            added.append(_Unit(a, m.end(), m.group(0), [(gaz.full_name(home), home, "general")], "jurisdiction", via="home"))
            continue
        dep = gaz.department(home, m.group(2), date)
        if dep is None:
            continue
        u = _Unit(a, m.end(), m.group(0), [(dep[0], home, dep[1])], "jurisdiction", dept=m.group(2), via="home")
        added.append(u)
    if not added:
        return units
    return sorted(units + added, key=lambda u: u.start)


def _pattern_units(doc: Document, gaz: Gazetteer) -> list[_Unit]:
    """Leading groups, their offices and joint meetings' offices, found by pattern and resolved to full names."""
    return _group_units(doc, gaz) + _office_units(doc.text)


def _group_units(doc: Document, gaz: Gazetteer) -> list[_Unit]:
    """Leading groups and their offices: the name before 领导小组, cut where a verb or a person ends, a short form
    (普查领导小组) read as the longer name the document gives it, names as of the date."""
    text = doc.text
    units: list[_Unit] = []
    groups: list[str] = []
    for m in _LG.finditer(text):
        left = text[max(0, m.start() - 40):m.start()]
        b = max((left.rfind(c) for c in "，。、；：！？\n“”《》（）() "), default=-1)
        stem = left[b + 1:]
        if cut := _LG_CUT.match(stem):
            stem = stem[cut.end():]
        stem = _PERSON_AND.sub("", stem)
        stem = re.sub(rf"^[{_NUM}]+(?:日|号)(?:上午|下午)?", "", stem)
        name = stem + "领导小组"
        if len(stem) < 2:
            name = groups[-1] if groups else ""
        elif len(stem) <= 4 and not gaz.lookup(name):
            longer = [g for g in groups if g.endswith(name) and g != name]
            if longer:
                name = longer[-1]
            else:
                runs = []
                for occ in re.finditer(re.escape(stem), text):
                    seg = text[max(0, occ.start() - 24):occ.start()]
                    seg = re.split(rf"[^第{_CJK}0-9]", seg)[-1]
                    seg = re.sub(r"^.*(?:召开|暨|举行|出席|参加|主持)", "", seg)
                    if len(seg) >= 2:
                        runs.append(seg + stem)
                if runs:
                    name = max(runs, key=len) + "领导小组"
        if not name:
            continue
        entry = gaz.lookup(name)
        if entry is None:
            longer = [g for g in groups if g.endswith(name)]
            name = longer[-1] if longer else name
            entry = gaz.lookup(name) or Entry(name, "national", "000000", "", "general", "body")
        entry = gaz.as_of(entry, doc.date)
        groups.append(name)
        if entry.name != name:
            groups.append(entry.name)
        start = m.start() - len(stem)
        end = m.end()
        body = entry
        if text.startswith("办公室", end):
            end += 3
            office = gaz.lookup(entry.name + "办公室")
            body = office or Entry(entry.name + "办公室", entry.level, entry.region_code, entry.province,
                                   entry.sector, "body")
            units.append(_Unit(start, end, text[start:end], [(body.name, body, body.sector)], "office", via="pattern"))
            continue
        units.append(_Unit(start, end, text[start:end], [(body.name, body, body.sector)], "group", via="pattern"))
    return units


def _office_units(text: str) -> list[_Unit]:
    """The standing offices of joint meetings (…联席会议办公室, 联席办: CODEBOOK §2 rule 2), named after their joint
    meeting; where the document writes one office with and without a prefix (国家处置非法集资部际联席会议办公室,
    处置非法集资部际联席会议办公室), the longer name stands for both."""
    units: list[_Unit] = []
    for m in _JM_OFFICE.finditer(text):
        left = text[max(0, m.start() - 6):m.start()]
        prefix = re.search(r"国务院$", left)
        series = None
        for s in _JM_NAME.finditer(text, 0, m.start() if m.group(0) == "联席办" else m.end()):
            series = s.group(1)
        if m.group(0) == "联席会议办公室":
            left = text[max(0, m.start() - 40):m.start()]
            b = max((left.rfind(c) for c in "，。、；：！？\n“”《》（）的由 "), default=-1)
            series = left[b + 1:] + "联席会议"
            start = m.start() - len(left[b + 1:])
        else:
            start = m.start() - (3 if prefix else 0)
        if not series:
            continue
        series = re.sub(r"^.*(?:的|由|建立|召开|成立)", "", series)
        series = series.replace("部级联席", "部际联席").replace("联席会议", "联席会议").replace("联席会", "联席会议")
        series = re.sub(r"联席会议议$", "联席会议", series)
        if prefix and not series.startswith("国务院"):
            series = "国务院" + series
        name = series + "办公室"
        body = Entry(name, "national", "000000", "", "general", "body")
        units.append(_Unit(start, m.end(), text[start:m.end()], [(name, body, "general")], "office", via="pattern"))
    names = {u.bodies[0][0] for u in units}
    for u in units:
        name = u.bodies[0][0]
        longer = [p + name for p in ("国务院", "国家") if p + name in names]
        if longer:
            body = Entry(longer[0], "national", "000000", "", "general", "body")
            u.bodies = [(longer[0], body, "general")]
    return units



def _lists(units: list[_Unit], text: str) -> list[list[_Unit]]:
    """Group units joined by 、 和 及 以及 or written next to each other (重庆四川), also across one body the
    gazetteer does not know. Leading groups stand alone."""
    groups: list[list[_Unit]] = []
    for u in units:
        if groups:
            last = groups[-1][-1]
            gap = text[last.ext_end:u.start]
            if gap in ("、", "和", "及", "以及", "") and last.kind == u.kind == "jurisdiction" or \
                    (gap in ("、", "和", "及", "以及") or _UNKNOWN_MEMBER.fullmatch(gap)) and \
                    not (last.kind == "group" or u.kind == "group"):
                groups[-1].append(u)
                continue
        groups.append([u])
    return groups


def _share_department(group: list[_Unit], text: str, gaz: Gazetteer, date: str | None) -> None:
    """“X省、Y省发展改革委”: the department named after the last jurisdiction of a list is a department of each."""
    last = group[-1]
    if len(group) < 2 or last.kind != "jurisdiction" or not last.dept:
        return
    if not all(u.kind == "jurisdiction" and not u.dept and not u.qualifier and u.mention == text[u.start:u.end]
               and not _GOV_WORDS.search(u.mention) for u in group[:-1]):
        return
    deps = [gaz.department(u.bodies[0][1], last.dept, date) for u in group[:-1]]
    if any(d is None for d in deps):
        return
    for u, dep in zip(group[:-1], deps, strict=True):
        u.bodies = [(dep[0], u.bodies[0][1], dep[1])]  # type: ignore[index]
        u.dept, u.via = last.dept, "department"


def _list_department(group: list[_Unit], text: str, gaz: Gazetteer, date: str | None) -> None:
    """Department words after a list of jurisdictions or a bloc (江西、湖北、湖南的卫生部门; 京津冀三地民政部门;
    中山市、厦门市两地人社部门) make each member that jurisdiction's department (CODEBOOK §2 rule 5). With a
    count (三地) or a bloc the whole phrase is the mention; otherwise each member keeps its own."""
    group = [u for u in group if not u.qualifier]
    if not group:
        return
    last = group[-1]
    if not all(u.kind in ("jurisdiction", "bloc") and not u.dept for u in group):
        return
    j = last.ext_end
    lead = _DEPT_LEAD.match(text, j)
    k = lead.end() if lead else j
    d = _dept_regex(gaz).match(text, k)
    if d is None or re.search(r"和|、", d.group(1)):
        return
    words = d.group(1)
    counted = bool(_COUNT.search(text, j, k)) or any(u.kind == "bloc" for u in group)
    for u in group:
        names = []
        for name, entry, sector in u.bodies:
            dep = gaz.department(entry, words, date) if entry.kind == "jurisdiction" else None
            names.append((dep[0], entry, dep[1]) if dep else (name, entry, sector))
        u.bodies, u.dept, u.via = names, words, "department"
    if counted:
        for u in group:
            u.start, u.end, u.mention = group[0].start, d.end(), text[group[0].start:d.end()]
    else:
        last.end = d.end()
        last.mention = text[last.start:last.end]
    for u in group:
        u.ext_end = d.end()


def _bloc_count(u: _Unit, text: str) -> None:
    """A bloc's mention takes the count written after it (京津冀三地, 沪苏浙两省一市)."""
    if u.kind == "bloc" and not u.dept and (m := _COUNT.match(text, u.end)):
        u.end = u.ext_end = m.end()
        u.mention = text[u.start:u.end]


def _person_units(text: str, units: list[_Unit]) -> list[tuple[_Unit, str]]:
    """Bodies that a person stands for by the office the text gives (CODEBOOK §2 rule 1): (unit, title) for each
    title written right after a body's name (上海市委书记, 民政部部长, 国务院副总理, …领导小组组长) or after a chain of
    them in one clause (中共中央政治局常委、国务院副总理)."""
    out = []
    for m in _TITLE.finditer(text):
        a = _clause_start(text, m.start())
        chain = [(u, t) for u in units if a <= u.start < m.end()
                 for t in [_TITLE.match(text, u.end) or _TITLE.match(text, u.end + 1)] if t]
        chain = [(u, t) for u, t in chain if t.start() - u.end <= 1 and t.start() == m.start()
                 and not text[a:u.start].endswith("有关")]
        for u, t in chain:
            title = t.group(1)
            entry = u.bodies[0][1]
            if u.kind == "group" and title in ("组长", "副组长") or \
                    entry.name == "国务院" and title in _STATE_COUNCIL_TITLES or \
                    entry.name == "中共中央" and title == "总书记" or \
                    u.kind == "jurisdiction" and (title in _JURISDICTION_TITLES or
                                                  title == "书记" and text[u.end:t.start()] == "委") or \
                    u.kind == "body" and title in _BODY_TITLES and entry.name != "国务院":
                out.append((u, title))
    return out


def _leaders(text: str, units: list[_Unit], gaz: Gazetteer, date: str | None) -> list[_Unit]:
    """State Council leaders and the General Secretary named by title alone (李强总理, 国务委员王勇, 习近平总书记):
    units of 国务院 and 中共中央 (CODEBOOK §2 rule 1)."""
    out = []
    ends = {u.end for u in units}
    for m in _LEADER.finditer(text):
        if m.start(1) in ends or m.start(1) - 1 in ends:
            continue  # 国务院副总理: the body is named, _person_units has it
        entry = gaz.lookup("中共中央" if m.group(1) == "总书记" else "国务院")
        if entry is None:
            continue
        entry = gaz.as_of(entry, date)
        out.append(_Unit(m.start(), m.end(), m.group(0), [(entry.name, entry, entry.sector)], "body", via="person"))
    return out


def find(doc: Document, words: list[str], gazetteer_dir: Path | str,
         user_dictionary: Path | str | None = None) -> tuple[Candidate, ...]:
    """Every candidate participant of one document, in text order; offsets index into `doc.text`."""
    nlp = mentions.load_pipeline(gazetteer_dir, user_dictionary)
    gaz = load_gazetteer(gazetteer_dir)
    text, date = doc.text, doc.date
    units = _units(doc, words, gaz, nlp)
    out: list[Candidate] = []
    for group in _lists(units, text):
        _share_department(group, text, gaz, date)
        for u in group:
            _bloc_count(u, text)
        _list_department(group, text, gaz, date)
        ls, le = group[0].start, max(u.ext_end for u in group)
        members = [u for u in group if not u.qualifier]
        for k, u in enumerate(members):
            via = u.via if u.kind != "bloc" else ("department" if u.dept else "bloc")
            out += [_candidate(name, entry, sector, u, via, ls, le, len(members), k) for name, entry, sector in u.bodies]
    out += _anaphora(text, out)
    for u, title in _person_units(text, units):
        mention_end = u.end + len(title) + (1 if text[u.end:u.end + 1] == "委" else 0) \
            if u.bodies[0][1].name == "国务院" else u.end
        pu = _Unit(u.start, mention_end, text[u.start:mention_end], u.bodies, u.kind)
        out += [_candidate(name, entry, sector, pu, "person", u.start, mention_end, 1, 0, title)
                for name, entry, sector in u.bodies]
    for u in _leaders(text, units, gaz, date):
        out += [_candidate(name, entry, sector, u, "person", u.start, u.end, 1, 0, u.mention[-3:].lstrip("副"))
                for name, entry, sector in u.bodies]
    out = [c if _ACTOR_FOLLOWS.match(text, c.list_end) or c.list_end >= len(text) or c.via == "person" else
           dataclasses.replace(c, in_name=True) for c in out]
    seen: set[tuple[str, int, int, str]] = set()
    unique = []
    for c in sorted(out, key=lambda c: (c.start, c.end, c.name, c.via)):
        if (c.name, c.start, c.end, c.via) not in seen:
            seen.add((c.name, c.start, c.end, c.via))
            unique.append(c)
    return tuple(unique)


def _anaphora(text: str, found: list[Candidate]) -> list[Candidate]:
    """三方联合签署, 两地共同发布: a count of parties acting with no names refers to the bloc or the list of that
    many jurisdictions named before it (or, failing that, after it); each member is a candidate whose mention is
    the count (CODEBOOK §2 rule 5)."""
    out: list[Candidate] = []
    for m in _ANAPHOR.finditer(text):
        if not _ANAPHOR_ACTS.match(text, m.end()) or any(c.start <= m.start() < c.end for c in found):
            continue
        n = 2 if m.group(0) == "双方" else _COUNT_OF[m.group(1)]
        lists: dict[tuple[int, int], list[Candidate]] = {}
        for c in found:
            if c.kind in ("bloc", "jurisdiction") and c.level != "national":
                lists.setdefault((c.list_start, c.list_end), []).append(c)
        fits = [cs for cs in lists.values() if len({c.name for c in cs}) == n]
        before = [cs for cs in fits if cs[0].start < m.start()]
        pick = before[-1] if before else (fits[0] if fits else None)
        if pick is None:
            continue
        out += [dataclasses.replace(c, mention=m.group(0), start=m.start(), end=m.end(), via="anaphora",
                                    list_start=m.start(), list_end=m.end(), list_size=1, list_pos=0, in_name=False)
                for c in {c.name: c for c in pick}.values()]
    return out


def _candidate(name: str, entry: Entry, sector: str, u: _Unit, via: str, list_start: int, list_end: int,
               size: int, pos: int, title: str = "") -> Candidate:
    return Candidate(name, u.mention, u.start, u.end, entry.level, entry.region_code,
                     entry.province if entry.level != "national" else "", sector, u.kind, via, list_start, list_end,
                     size, pos, title)
