"""Participants (CODEBOOK §2): which government bodies take part, normalised, with level, region, sector,
role and the evidence span.

A spaCy `blank("zh")` pipeline (tokenizer: `segment.words` with the user dictionary) with an EntityRuler fed from the
gazetteer finds mentions. Rules then build units (a jurisdiction with its department, government or qualifier;
a central body; a bloc; a leading group or a joint meeting's office), join units into lists (、 和 及 与),
and keep a list only where the text says it acts: it is the subject of an action verb (签署, 联合, 主持, 出席…),
a partner (与 X 签署), or a person acting in its name (北京市委书记 X 主持 → 北京市). What is not a participant is
dropped: the news source (记者从 X 了解到), venues (在 X 召开), names inside names (京津冀…协作机制), demands (X 要…),
speech content, companies, and documents about legislature sessions, consultations, meetings with foreigners
and commemorations. Names are resolved as of the document's date."""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import segment
from pipeline.gazetteer import MUNICIPALITIES, Entry, Gazetteer, load_gazetteer
from pipeline.records import Document, Participant, Tagged

log = logging.getLogger(__name__)

VERSION = "4"  # 4: lists go on across an unknown body or place; 省X after 包括/经…, 省人民政府; a letter's issuer;
#              增补…为成员单位, 召集人由X…担任, 在A、B指导下; the headline below a banner line

_CJK = "\u4e00-\u9fff"
_NUM = "0-9０-９一二两三四五六七八九十百"

# --- what follows a unit -------------------------------------------------------------------------------------
_PLURAL = re.compile(
    rf"(?:等)?(?:一市两省|三省一市|两省一市|一市三省|(?:[{_NUM}]+个?|双)?(?:成员)?(?:省区市|省市区|省区|省市|省份|省|直辖市|市|地|方|"
    r"部门和单位|部委和单位|部门|部委|单位|成员城市|设区市|城市|县|区|地州|市县|市区|市（区）))|等")
_LOWER_UNITS = re.compile(r"城市|市县|县|地州|市区|市（区）|区县|地市|开发区")
_GOV_WORDS = re.compile(r"(?:省|市|区|县|自治区)?(?:人民)?政府|行政公署|行署")
_NON_GOV = re.compile(r"机场|企业|集团|公司|高校|大学|医院|银行|媒体|专家|学者|代表团|球队|运动员|游客|居民|群众|农民|商会|协会")
_DIRECTIVE = re.compile(r"(?:也|还|都|均)?(?:要|应|应当|需要|需|必须|务必|切实|不得|可以)")
_ADV = (rf"(?:今天|今日|昨天|日前|近日|近期|目前|此前|已经|已|将|正式|紧急|也|还|又|均|都|率先|首次|再次|一起|进一步|全力|"
        rf"先后|积极|共同|联合|分别|同期|同步|携手|在[^，。；]{{1,24}}?，?(?=召开|举行|签署|签订|举办|发言|联合|共同|参会|出席|参加)|"
        rf"作为[^，。；]{{1,16}}?(?=主持|承办|主办|召集|出席|参加)|派员|"
        rf"于[^，。；]{{1,12}}?(?=召开|举行|签署|签订)|（[^）]{{0,16}}）|[{_NUM}]{{1,3}}(?:日|号)(?:上午|下午|晚上|晚间|晚)?|"
        rf"[{_NUM}]+月[{_NUM}]+日|今年|本月|当天|共|等)*")
_VERB = re.compile(
    r"签署|签订|签约|联合|共同|分别|达成|启动|开展|推动|推进|建立|形成|设立|成立|发布|印发|出台|制定|组织|牵头|主持|召开|举行|"
    r"举办|出席|参加|参与|批复|批示|作出|部署|召集|承办|主办|协办|结对|对口|援建|支援|帮扶|互派|互认|搭建|共建|实施|表决|通过|审议|"
    r"决定|宣布|发言|讲话|致辞|同意|指导|减免|对|会同|联手|就|进行|推出|增补|组成|参会|与会|到会|列席|轮值|汇报|介绍|通报")
#: verbs that make even a single body a participant (a list of several bodies needs no such verb)
_JOINT_VERB = re.compile(r"签署|签订|签约|联合|共同|牵头|主持|召集|主办|承办|协办|出席|参加|参与|批复|批示|组织|发言|讲话|致辞|"
                         r"结对|对口|援建|支援|帮扶|互派|会同|联手|增补|同期|同步|分别|携手|合作|参会|与会|到会|列席|轮值")
_PARTNER = re.compile(rf"(?:与|同|和)[^，。；]{{1,30}}?(?={_ADV}(?:{_VERB.pattern}))")
_ROLE_CUES = (
    ("chair", re.compile(r"主持")),
    ("host", re.compile(r"主办|承办|召集|牵头|东道")),
    ("signatory", re.compile(r"签署|签订|签约|联合印发|共同发布|联合发布|共同签署")),
    ("superior", re.compile(r"指导|批示|批复|组织|派员")),
)

# --- what precedes a unit ------------------------------------------------------------------------------------
_BOUNDARY = re.compile(r"[，。；：！？\n“”《》\s]")
_PRE_BLOCK = re.compile(r"(?:在|从|到|赴|至|往|来自|位于|连接|考察|访问|视察|调研|走访|抵达|据|向|对|给|帮助|支持|覆盖|包括|涉及|"
                        r"辐射|前往|来到|落户|贯穿|途经|以及|、)$|^记者")
_SENTENCE_SKIP = re.compile(r"^[^，。；]{0,16}?(?:强调|指出|表示|要求|认为|说|提出|希望|坦言|介绍)[，：]")
_SPEECH_SUBJECT = re.compile(r"^(?:会议|批示|他|她|讲话|通知|意见|规划|方案|《[^》]+》)")
_SYSTEM_SENTENCE = re.compile(r"联席会议(?:制度|机制)|成员单位|领导小组")
_ATTENDANCE = re.compile(r"(?:出席|参加|列席)(?:会议|签约仪式|本次会议)?的(?:有|是|单位有|单位包括)$|与会(?:单位|城市)?(?:有|包括)$|"
                         r"成员单位(?:包括|有|为|是)?：?$|参会(?:单位|城市)?(?:有|包括)：?$")
_SYSTEM_DOC = re.compile(r"联席会议(?:制度|机制)|成员单位")
#: the later bodies of a guiding list (在财政部、生态环境部指导下)
_GUIDES_TOO = re.compile(r"在[^，。；在]{2,24}[、和及与]$")
#: …为(联席会议)成员单位 after 增补X
_MEMBER_OF = re.compile(rf"为[{_CJK}]{{0,40}}?成员单位")
#: the body whose head convenes a joint meeting (召集人由X主要负责同志担任; X主要负责同志担任召集人)
_CONVENER_AFTER = re.compile(r"(?:主要|有关)?负责同志(?:担任|为)(?:联席会议)?召集人")
_CONVENER_BEFORE = re.compile(r"召集人(?:仍|均)?由$")
_CONVENER_TAIL = re.compile(r"(?:主要|有关)?负责同志担任")
#: a formal attendance predicate (…负责同志，…市长出席会议); what may not stand between a list and it
_ATTEND = re.compile(r"(?:共同|一同|均|分别)?(?:出席|参加|列席|参会|与会|到会)(?:了)?(?:会议|本次会议|座谈会|签约仪式|活动|指导)?")
_ATTEND_GAP_BLOCK = re.compile(r"召开|举行|主持|签署|签订|介绍|汇报|通报|要求|强调|指出|研究|审议|听取|交流|承办|主办|"
                               r"部署|发布|印发|提出|表示|认为|同意|决定|组织|邀请|陪同|会见")
#: a later session's host agreed at this meeting (会议商定，下一次联席会议由X承办) is not a participant
_NEXT_HOST = re.compile(r"(?:商定|确定|决定|约定|下一?[次届]|明年)[^。；]*由$")
#: a governor or mayor named by bare title at the start of a clause (副市长主持会议)
_BARE_TITLE = re.compile(r"(?:(?<=[，。；：\n])|^)(?:常务)?(?:副)?(省长|市长|自治区主席)(?=主持|出席|参加|讲话|致辞)")
#: who of a body attends: 主要负责同志, 有关司局负责同志, 党政主要负责同志, 主要领导 (not 有关领导同志: a
#: State Council leader chairing a mechanism's meeting stands for the mechanism), 的市长或分管副市长, 代表
_PERSON_WORD = (r"(?:党政)?(?:主要领导(?:同志)?|(?:主要|有关|分管|相关)?(?:负责同志|负责人|代表|"
                r"(?:常务)?副?(?:市长|省长|主席|县长|区长|专员|州长|局长|厅长|主任|部长)|行政长官))")
_PERSONS = re.compile(rf"(?:的)?(?:有关|相关)?(?:[{_CJK}]{{1,4}}(?:司|局|处|室)(?=有关|相关|主要|负责))?(?:有关|相关)?"
                      rf"{_PERSON_WORD}(?:(?:或|和|、){_PERSON_WORD})*")

# --- document gates ------------------------------------------------------------------------------------------
_NOT_INTERGOV = re.compile(
    r"(?:人大常委会|人民代表大会|人大)[^。]{0,20}第[^。]{1,8}次(?:全体)?会议|全国人大[^。]{0,10}会议[^。]{0,10}(?:举行|开幕|闭幕)|"
    r"政协[^。]{0,20}(?:协商|座谈会|会议|常委会)|纪念[^。]{0,40}(?:座谈会|大会)|会见|会谈|孔子学院|董事会")

_COMMEMORATION = re.compile(r"纪念[^。，]{0,40}(?:座谈会|大会)[^。]{0,6}(?:举行|召开|由)")

# --- named bodies found by pattern ----------------------------------------------------------------------------
_LG = re.compile(r"领导小组")
_LG_CUT = re.compile(r".*(?:召开|主持召开|主持|出席|参加|暨|举行|召集|的|在|由|任|是|为|组长|常委|委员)")
_JM_OFFICE = re.compile(r"联席会议办公室|联席办")
_JM_NAME = re.compile(rf"([{_CJK}0-9]{{2,40}}?(?:联席会议|联席会))")
_ZONE = re.compile(rf"([{_CJK}]{{2,4}}(?:新城|新区|开发区|高新区|示范区|试验区|合作区))(管委会|管理委员会)")
_TITLE = re.compile(r"(?:常务)?(?:副(?=省长|市长|主席|部长|局长|署长|主任|厅长|专员|州长|县长|区长))?"
                    r"(副?总理|国务委员|委书记|书记|省长|市长|自治区主席|主席|部长|局长|署长|主任|副组长|组长|行政长官|厅长|"
                    r"专员|州长|县长|区长)")
_PERSON_ACT = re.compile(rf"[{_CJK}]{{0,4}}?(?:[{_NUM}]+(?:日|号)(?:上午|下午)?|今天|日前|近日|等|在[^，。]{{1,12}}?)*"
                         r"(主持|出席|参加|讲话|发言|作出[^。，]{0,4}批示|宣读|致辞|签署|召集)")
_ABBR_SEQ = re.compile(r"[京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔滇藏陕甘青宁新港澳]{2,6}")


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

    def __post_init__(self) -> None:
        if self.ext_end < 0:
            self.ext_end = self.end


@dataclass
class _Found:
    name: str
    entry: Entry
    sector: str
    mention: str
    start: int
    end: int
    role: str
    headline: bool = False
    extra: dict = field(default_factory=dict)


class _WordTokenizer:
    """spaCy tokenizer: the words of `segment.words`, without spaces between them."""

    def __init__(self, vocab, user_dictionary: Path | str | None) -> None:  # noqa: ANN001
        self.vocab = vocab
        self._cut = segment.load_segmenter(user_dictionary)

    def __call__(self, text: str) -> Doc:
        words = self._cut(text)
        return Doc(self.vocab, words=words, spaces=[False] * len(words))


@functools.cache
def load_pipeline(gazetteer_dir: Path | str, user_dictionary: Path | str | None) -> Language:
    """Build the spaCy pipeline once per process: a tokenizer that is `segment.words` with the user dictionary
    (patterns are tokenised exactly as documents are segmented) and an EntityRuler whose patterns are the
    gazetteer's names, aliases, qualified short forms and blocs."""
    gaz = load_gazetteer(gazetteer_dir)
    segment.load_segmenter(user_dictionary)  # before any pattern is tokenised
    nlp = spacy.blank("zh")
    nlp.tokenizer = _WordTokenizer(nlp.vocab, user_dictionary)
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    patterns = [{"label": "GOV", "pattern": alias, "id": name} for alias, name in gaz.aliases.items()]
    patterns += [{"label": "QUAL", "pattern": short, "id": short} for short in gaz.qualified]
    patterns += [{"label": "BLOC", "pattern": bloc, "id": bloc} for bloc in gaz.blocs]
    ruler.add_patterns(patterns)
    return nlp


@functools.cache
def _dept_words(gaz: Gazetteer) -> str:
    """The gazetteer's department words as one regex alternation, longest first."""
    alts = sorted({a for d in gaz.departments for a in d.pattern.split("|")}, key=len, reverse=True)
    return "|".join(map(re.escape, alts))


@functools.cache
def _dept_regex(gaz: Gazetteer) -> re.Pattern[str]:
    words = _dept_words(gaz)
    return re.compile(rf"(?:省|市|区|县|自治区)?((?:{words})(?:(?:和|、)(?:{words}))*)")


_SENTENCE_END = re.compile(r"[。！？；\n]")


@functools.lru_cache(maxsize=4)
def _sentence_ends(text: str) -> list[int]:
    return [m.start() for m in _SENTENCE_END.finditer(text)]


def _sentence_bounds(text: str, i: int) -> tuple[int, int]:
    """The sentence around position `i`: after the last end mark before `i`, up to the first at or after it."""
    ends = _sentence_ends(text)
    k = bisect.bisect_left(ends, i)
    return (ends[k - 1] + 1 if k else 0), (ends[k] if k < len(ends) else len(text))


def _clause_start(text: str, i: int) -> int:
    j = i - 1
    while j >= 0 and not _BOUNDARY.match(text[j]):
        j -= 1
    return j + 1


def _in_speech(text: str, i: int) -> bool:
    """Whether position `i` is in reported speech or a directive (CODEBOOK §2: a demand is not acting)."""
    a, _ = _sentence_bounds(text, i)
    sent = text[a:i + 1]
    if _SYSTEM_SENTENCE.search(text[a:_sentence_bounds(text, i)[1]]) and re.search(r"建立|设立|增补|成立", sent):
        return False
    if _SENTENCE_SKIP.match(sent) and not _SPEECH_SUBJECT.match(sent) or re.match(
            r"^(?:会议|批示|讲话)(?:强调|指出|要求|认为|提出)", sent):
        return True
    return bool(re.match(r"^(?:要|必须|应|各地|各有关|各级)", text[a:a + 3]))


def _headline_end(doc: Document) -> int:
    """Where the headline ends: the first line when it is short and ends no sentence; below a banner (the issuer,
    the 文号: short lines) the line or lines that carry the document's title."""
    text = doc.text
    nl = text.find("\n")
    if not (0 < nl <= 40 and not re.search(r"[。！？；：]$", text[:nl])):
        return 0
    title = doc.title
    if len(title) >= 6 and not text.startswith(title):
        m = re.compile("\n?".join(map(re.escape, title))).search(text, nl + 1, 400)
        if m and text[m.start() - 1] == "\n" and all(len(x) <= 40 for x in text[:m.start() - 1].split("\n")):
            return m.end()
    return nl


def _units(doc: Document, words: list[str], gaz: Gazetteer, nlp: Language) -> list[_Unit]:
    text, date = doc.text, doc.date
    spans = _ruler_spans(words, nlp)
    spans += _uncovered(words, spans, gaz)
    spans += _abbreviation_blocs(text, gaz, spans)
    spans.sort()
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
                u = _Unit(ms, e, text[ms:e], [(entry.name, entry, entry.sector)], "body")
                if m := re.match(r"缉私局", text[e:]):
                    u = _Unit(ms, e + m.end(), text[ms:e + m.end()], [(entry.name + m.group(0), entry, entry.sector)],
                              "body")
                units.append(u)
    units += _pattern_units(doc, gaz)
    units.sort(key=lambda u: (u.start, -(u.end - u.start)))
    out: list[_Unit] = []
    for u in units:
        if out and u.start < out[-1].end:
            if u.end - u.start >= out[-1].end - out[-1].start and u.kind in ("group", "office"):
                out[-1] = u
            continue
        out.append(u)
    dept_re = _dept_regex(gaz)
    out = _implicit_units(text, out, gaz, date)
    for u in out:
        if u.kind != "jurisdiction" or u.dept:
            continue
        j = u.bodies[0][1]
        if m := dept_re.match(text, u.end):
            words_ = m.group(1)
            parts = re.split(r"和|、", words_)
            if len(parts) == 1:
                dep = gaz.department(j, words_, date)
                if dep is not None:
                    u.bodies = [(dep[0], j, dep[1])]
                    u.dept = words_
                    u.mention = text[u.start:m.end()]
                    u.end = u.ext_end = m.end()
            continue
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
    # a central body's short name that became a jurisdiction's department (江西省|发展改革委) is not a unit of its own
    kept: list[_Unit] = []
    for u in out:
        if kept and u.kind == "body" and u.start < kept[-1].end:
            continue
        kept.append(u)
    return kept


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
            added.append(_Unit(a, m.end(), m.group(0), [(gaz.full_name(home), home, "general")], "jurisdiction"))
            continue
        dep = gaz.department(home, m.group(2), date)
        if dep is None:
            continue
        u = _Unit(a, m.end(), m.group(0), [(dep[0], home, dep[1])], "jurisdiction", dept=m.group(2))
        added.append(u)
    if not added:
        return units
    return sorted(units + added, key=lambda u: u.start)


@functools.cache
def _pattern_index(nlp: Language) -> tuple[frozenset[str], int]:
    """The first tokens of the EntityRuler's phrase patterns and the longest pattern in tokens."""
    ruler = nlp.get_pipe("entity_ruler")
    docs = [d for ds in ruler.phrase_patterns.values() for d in ds]
    return frozenset(d[0].text for d in docs if len(d)), max((len(d) for d in docs), default=1)


#: a token no pattern contains: separates the windows handed to the EntityRuler
_SEP = "\n"


def _ruler_spans(words: list[str], nlp: Language) -> list[tuple[int, int, str, str, str]]:
    """The EntityRuler's matches, run only over windows that start at a token some pattern starts with:
    a document without such a token builds no spaCy Doc at all. Offsets are characters of the joined words."""
    first, longest = _pattern_index(nlp)
    hits = list(itertools.compress(range(len(words)), map(first.__contains__, words)))
    if not hits:
        return []
    offsets = list(itertools.accumulate(map(len, words), initial=0))
    if longest == 1:
        ents = [_token_entity(nlp, words[i]) for i in hits]
        if None not in ents:
            return [(offsets[i], offsets[i + 1], *ent, words[i]) for i, ent in zip(hits, ents, strict=True)]
    return _window_spans(words, hits, offsets, longest, nlp)


@functools.lru_cache(maxsize=1 << 16)
def _token_entity(nlp: Language, word: str) -> tuple[str, str] | None:
    """The EntityRuler's (label, id) for a one-token pattern word where that does not depend on the word's
    neighbours: None for a word that several patterns give different labels or ids (南昌: GOV 南昌市 and QUAL
    南昌县), whose label the ruler picks by the word's position among the window's matches."""
    ruler = nlp.get_pipe("entity_ruler")
    doc = Doc(nlp.vocab, words=[word], spaces=[False])
    if len({m for m, _, _ in ruler.phrase_matcher(doc)}) != 1 or ruler.token_patterns:
        return None
    spans = _window_spans([word], [0], [0, len(word)], 1, nlp)
    return (spans[0][2], spans[0][3]) if spans else None


def _window_spans(words: list[str], hits: list[int], offsets: list[int], longest: int, nlp: Language
                  ) -> list[tuple[int, int, str, str, str]]:
    """The EntityRuler over one spaCy Doc of the windows of `longest` tokens that start at `hits`."""
    toks: list[str] = []
    where: list[int] = []  # token → index in `words` (-1 for separators)
    end = -1
    for i in hits:
        a, b = max(i, end), min(len(words), i + longest)
        if a > end and toks:
            toks.append(_SEP)
            where.append(-1)
        for k in range(a, b):
            toks.append(words[k])
            where.append(k)
        end = max(end, b)
    ruler = nlp.get_pipe("entity_ruler")
    sdoc = Doc(nlp.vocab, words=toks, spaces=[False] * len(toks))
    # the ruler's own phrase matcher and annotation (longest match first), without its per-call pattern count
    found = list(ruler.phrase_matcher(sdoc)) + (list(ruler.matcher(sdoc)) if ruler.token_patterns else [])
    matches = sorted({(m, a, b) for m, a, b in found if a != b},
                     key=lambda m: (m[2] - m[1], -m[1]), reverse=True)
    ruler.set_annotations(sdoc, matches)
    out = []
    for ent in sdoc.ents:
        a, b = where[ent.start], where[ent.end - 1]
        if a < 0 or b < 0:
            continue
        out.append((offsets[a], offsets[b + 1], ent.label_, ent.ent_id_, "".join(words[a:b + 1])))
    return out


def _uncovered(words: list[str], spans: list[tuple[int, int, str, str, str]], gaz: Gazetteer
               ) -> list[tuple[int, int, str, str, str]]:
    """Gazetteer names inside tokens that jieba's own dictionary joined with a neighbour (上海市政府, 北京市委)."""
    covered: set[int] = set()
    for a, b, *_ in spans:
        covered.update(range(a, b))
    out = []
    lengths = list(map(len, words))
    offsets = list(itertools.accumulate(lengths, initial=0))
    for i in itertools.compress(range(len(words)), map((2).__lt__, lengths)):  # words of 3 or more characters
        if offsets[i] not in covered and (names := _names_inside(gaz, words[i])):
            t_idx, w = offsets[i], words[i]
            out.extend((t_idx + pos, t_idx + pos + n, label, ent_id, w[pos:pos + n])
                       for pos, n, label, ent_id in names)
    return out


@functools.lru_cache(maxsize=1 << 16)
def _names_inside(gaz: Gazetteer, w: str) -> tuple[tuple[int, int, str, str], ...]:
    """Gazetteer names inside word `w` (not `w` itself), longest first from the left:
    (offset, length, label, id)."""
    out = []
    pos = 0
    while pos < len(w) - 1:
        for n in range(len(w) - pos, 1, -1):
            part = w[pos:pos + n]
            if part == w:
                continue
            label = "GOV" if part in gaz.aliases else "BLOC" if part in gaz.blocs else \
                "QUAL" if part in gaz.qualified else None
            if label:
                out.append((pos, n, label, gaz.aliases.get(part, part)))
                pos += n
                break
        else:
            pos += 1
    return tuple(out)


def _abbreviation_blocs(text: str, gaz: Gazetteer, spans: list[tuple[int, int, str, str, str]]
                        ) -> list[tuple[int, int, str, str, str]]:
    """Strings of one-character abbreviations (“滇黔川渝藏”, 赣鄂湘) that are not a known bloc, when quoted or
    followed by plural or department words."""
    taken = {(a, b) for a, b, *_ in spans}
    out = []
    for m in _ABBR_SEQ.finditer(text):
        seq = m.group(0)
        if (m.start(), m.end()) in taken or seq in gaz.blocs or len(set(seq)) != len(seq):
            continue
        quoted = text[m.start() - 1:m.start()] == "“" and text[m.end():m.end() + 1] == "”"
        follows = re.match(rf"”?(?:[{_NUM}]+|两|三|四|五)(?:省|地|方)|”?[{_CJK}]{{0,4}}(?:部门|主管部门)", text[m.end():])
        if not (quoted or follows):
            continue
        members = "|".join(gaz.abbreviations[c] for c in seq)
        end = m.end() + (1 if quoted else 0)
        out.append((m.start(), m.end(), "BLOC", members, seq))
        del end
    return out


def _pattern_units(doc: Document, gaz: Gazetteer) -> list[_Unit]:
    """Leading groups, their offices and joint meetings' offices, found by pattern and resolved to full names."""
    text = doc.text
    units: list[_Unit] = []
    groups: list[str] = []
    for m in _LG.finditer(text):
        left = text[max(0, m.start() - 40):m.start()]
        b = max((left.rfind(c) for c in "，。、；：！？\n“”《》（）() "), default=-1)
        stem = left[b + 1:]
        if cut := _LG_CUT.match(stem):
            stem = stem[cut.end():]
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
            units.append(_Unit(start, end, text[start:end], [(body.name, body, body.sector)], "office"))
            continue
        units.append(_Unit(start, end, text[start:end], [(body.name, body, body.sector)], "group"))
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
        body = Entry(name, "national" if series.startswith(("国务院", "国家", "全国", "中央")) else "national",
                     "000000", "", "general", "body")
        units.append(_Unit(start, m.end(), text[start:m.end()], [(name, body, "general")], "office"))
    return units


def _acts_after(text: str, i: int) -> tuple[re.Match[str] | None, bool, int]:
    """Whether an action verb follows position `i` (after adverbials and a partner phrase): the verb match,
    whether the phrase names a partner (与 X), and the end of the text examined."""
    j = i
    partner = False
    if m := re.compile(_ADV).match(text, j):
        j = m.end()
    if _DIRECTIVE.match(text, j) and not re.match(r"要求", text[j:]):
        return None, False, j
    if m := _PARTNER.match(text, j):
        partner = True
        j = m.end()
        if m2 := re.compile(_ADV).match(text, j):
            j = m2.end()
    if _DIRECTIVE.match(text, j):
        return None, partner, j
    return _VERB.match(text, j), partner, j


def _role(verb: str, text: str, i: int) -> str:
    window = text[i:i + 16]
    for role, cue in _ROLE_CUES:
        if cue.search(verb) or (role == "signatory" and cue.search(window)):
            return role
    return "member"


#: a body or place the gazetteer does not know between two listed ones (…水利部、国家安全监管总局、国家能源局; a county
#: made a district after the gazetteer's data): the list goes on
_UNKNOWN_MEMBER = re.compile(rf"、(?:[{_CJK}]{{2,16}}?(?:部|委|局|署|办|厅|委员会|办公室)|[{_CJK}]{{1,6}}(?:区|县|市|旗))(?:、|和|及|以及)")


def _lists(units: list[_Unit], text: str) -> list[list[_Unit]]:
    """Group units joined by 、 和 及 以及 or written next to each other (重庆四川), also across one body the
    gazetteer does not know."""
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


def _person_units(text: str, units: list[_Unit]) -> list[tuple[_Unit, str, int]]:
    """Bodies that a person acts for (CODEBOOK §2 rule 1): (unit, verb, position of the verb)."""
    out = []
    by_end = {u.end: u for u in units}
    for m in _TITLE.finditer(text):
        act = _PERSON_ACT.match(text, m.end())
        if not act:
            continue
        if "批示" in act.group(1) and m.group(1) not in ("总理",) and not (
                m.group(1) in ("副总理", "国务委员") and re.search(r"对(?:本次|这次)?会议", act.group(0))):
            continue
        # the title chain: 、-separated titles back to the clause start
        a = _clause_start(text, m.start())
        chain = [(u, t) for u in units if a <= u.start < m.end()
                 for t in [_TITLE.match(text, u.end) or _TITLE.match(text, u.end + 1)] if t]
        chain = [(u, t) for u, t in chain if t.start() - u.end <= 1 and not text[a:u.start].endswith("有关")]
        if not chain:
            continue
        groups = [(u, t) for u, t in chain if u.kind == "group" and t.group(1) in ("组长", "副组长")]
        if groups:
            out.append((groups[0][0], act.group(1), act.start(1)))
            continue
        if "副组长" in text[a:m.end()]:
            continue
        for u, t in chain:
            title = t.group(1)
            entry = u.bodies[0][1]
            if entry.name == "国务院" and title in ("总理", "副总理", "国务委员"):
                out.append((u, act.group(1), act.start(1)))
            elif u.kind == "jurisdiction" and title in ("委书记", "书记", "省长", "市长", "主席", "自治区主席", "行政长官",
                                                        "专员", "州长", "县长", "区长"):
                if title in ("书记",) and not text[u.end:t.start()] in ("委",):
                    continue
                out.append((u, act.group(1), act.start(1)))
            elif u.kind == "body" and title in ("部长", "局长", "署长", "主任") and entry.name != "国务院":
                out.append((u, act.group(1), act.start(1)))
    return out


def participants(doc: Document, words: list[str], gazetteer_dir: Path | str,
                 user_dictionary: Path | str | None = None) -> tuple[Participant, ...]:
    """Find the participants of one document; offsets index into `doc.text`.

    A headline that extraction joined to the body (the document's title followed directly by the body) is
    analysed as its own line."""
    text = doc.text
    t = (doc.title or "").strip()
    if t and len(t) <= 40 and text.startswith(t) and len(text) > len(t) and text[len(t)] != "\n":
        cut = len(t)
        view = replace(doc, text=text[:cut] + "\n" + text[cut:])
        words = segment.load_segmenter(user_dictionary)(view.text)  # inside the tag stage: not segment.words
        found = _participants(view, words, gazetteer_dir, user_dictionary)
        return tuple(replace(p, start=p.start - (p.start > cut), end=p.end - (p.end > cut),
                             mention=text[p.start - (p.start > cut):p.end - (p.end > cut)]) for p in found)
    return _participants(doc, words, gazetteer_dir, user_dictionary)


def _participants(doc: Document, words: list[str], gazetteer_dir: Path | str,
                  user_dictionary: Path | str | None) -> tuple[Participant, ...]:
    nlp = load_pipeline(gazetteer_dir, user_dictionary)
    gaz = load_gazetteer(gazetteer_dir)
    text = doc.text
    head_end = _headline_end(doc)
    lead_a, lead_b = _sentence_bounds(text, head_end + 1 if head_end else 0)
    if _NOT_INTERGOV.search(text[:head_end] + text[lead_a:lead_b]) or _COMMEMORATION.search(text):
        return ()
    units = _units(doc, words, gaz, nlp)
    found: dict[str, _Found] = {}

    def add(u: _Unit, role: str, names: list[tuple[str, Entry, str]] | None = None, mention: str | None = None,
            start: int | None = None, end: int | None = None) -> None:
        s = u.start if start is None else start
        e = u.end if end is None else end
        for name, entry, sector in names or u.bodies:
            if name not in found:
                found[name] = _Found(name, entry, sector, mention or u.mention, s, e, role, s < head_end)
            elif found[name].headline and s >= head_end:
                found[name] = _Found(name, entry, sector, mention or u.mention, s, e, role, False)

    # people acting for their bodies
    for u, verb, _pos in _person_units(text, units):
        if not _in_speech(text, u.start):
            add(u, _role(verb, text, _pos), mention=u.mention)
    # meetings of leading groups, acting offices
    for u in units:
        if u.kind in ("group", "office"):
            tail = text[u.end:u.end + 24]
            meets = re.match(rf"(?:第[{_NUM}]+次)?(?:全体)?(?:会议|电视电话会议|全体会议|扩大会议)", tail)
            if (meets or u.kind == "office" and _acts_after(text, u.end)[0]) and not _in_speech(text, u.start):
                if _clause_start(text, u.start) >= u.start - 3 or text[u.start - 2:u.start] == "召开" or meets:
                    add(u, "host")
    # guidance: 在X（专家组）的指导下; membership added: 增补X为成员单位
    for u in units:
        if u.kind in ("body", "group", "office") and not _in_speech(text, u.start):
            if (text[u.start - 1:u.start] == "在" or _GUIDES_TOO.search(text, max(0, u.start - 30), u.start)) and \
                    re.match(r"[^，。；]{0,8}?的?(?:统一)?指导下", text[u.end:]):
                add(u, "superior")
            elif text[u.start - 2:u.start] == "增补" and _MEMBER_OF.match(text, u.end):
                add(u, "member")
            elif _CONVENER_AFTER.match(text, u.end) or (
                    _CONVENER_BEFORE.search(text, max(0, u.start - 12), u.start) and _CONVENER_TAIL.match(text, u.end)):
                add(u, "host")  # 联席会议召集人由X主要负责同志担任: the convening body
    # lists of bodies that act
    for group in _lists(units, text):
        first, last = group[0], group[-1]
        if any(u.kind in ("group", "office") for u in group):
            continue
        if _in_speech(text, first.start):
            continue
        pre = text[_clause_start(text, first.start):first.start]
        continued = pre in ("以及", "及")  # …负责同志，以及香港、澳门特别行政区行政长官出席会议
        if _PRE_BLOCK.search(pre) and not _ATTENDANCE.search(pre) and \
                not (continued and _attends_later(text, last.ext_end)):
            continue
        sa, _ = _sentence_bounds(text, first.start)
        if _NEXT_HOST.search(text[sa:first.start]):
            continue
        _share_department(group, text, gaz, doc.date)
        j = last.ext_end
        if pre.endswith("增补") and _MEMBER_OF.match(text, j):
            add_list(group, "member", text, gaz, doc, j, "", add)  # 增补A、B为…成员单位
            continue
        if text.startswith("”", j) and first.kind == "bloc":
            j += 1
        if text.startswith("等地", j) and len(group) >= 2:
            etc_places = True
        else:
            etc_places = False
        plural = _PLURAL.match(text, j)
        lower = False
        if plural and plural.end() > j:
            lower = bool(_LOWER_UNITS.search(plural.group(0))) and all(
                u.bodies[0][1].level == "provincial" for u in group if u.kind == "jurisdiction")
            j = plural.end()
        if text.startswith("的", j):
            j += 1
        nm = re.match(r"(?:有关|相关)?(?:市区|城市|市县|区县|地市)", text[j:])
        if lower or nm:
            continue  # 4省的10个城市, 上海、江苏、浙江的有关市区: the units only locate others
        if _NON_GOV.match(text, j):
            continue
        dept_words = ""
        dept_re = _dept_regex(gaz)
        dm = re.match(r"(?:有关|相关)?(?:主管)?", text[j:])
        k = j + (dm.end() if dm else 0)
        if m := dept_re.match(text, k):
            dept_words = m.group(1)
            j = m.end()
        elif m := re.match(r"(?:主管)?部门|" + _GOV_WORDS.pattern, text[k:]):
            j = k + m.end()
        if m := _PERSONS.match(text, j):
            j = m.end()
        if zone := re.match(rf"[{_CJK}]{{2,16}}(?:示范区|合作区)，?" + _ADV + r"(?:签署|签订|联合|共同)", text[j:]):
            j += zone.end() - 2 - (2 if zone.group(0).endswith(("联合", "共同")) else 0)
            j = text.rfind("，", last.ext_end, j + 4) + 1 or j
        if j < len(text) and re.match(rf"[{_CJK}]", text[j]) and not _VERB.match(text, j) and \
                not _PARTNER.match(text, j) and not _ATTENDANCE.search(pre) and \
                not re.match(_ADV + r"(?:" + _VERB.pattern + ")", text[j:]) and not _DIRECTIVE.match(text, j):
            continue  # a name inside a longer name (京津冀税务协查协作机制)
        verb, partner, vpos = _acts_after(text, j)
        if _ATTENDANCE.search(pre):
            add_list(group, "member", text, gaz, doc, j, dept_words, add)
            continue
        if verb is None or continued:
            if role := _attends_later(text, j):
                add_list(group, role, text, gaz, doc, j, dept_words, add)
            continue
        n_bodies = sum(len(u.bodies) for u in group)
        span = text[j:vpos + 8]
        joint = (n_bodies >= 2 and (len(group) >= 2 or first.kind == "bloc")) or partner or bool(
            _JOINT_VERB.match(verb.group(0))) or bool(re.search(r"合作|联防联控|协作|一体化|共同|联合", span)) or \
            pre.endswith(("与", "同", "和", "增补", "援建", "帮扶", "支援", "由")) or bool(
            re.search(r"，(?:组织|会同|牵头|联合|指导)", text[vpos:_sentence_bounds(text, vpos)[1]])) or (
            re.match(r"印发|建立|设立|成立|批复|同意", verb.group(0)) and bool(_SYSTEM_DOC.search(text)))
        if not joint:
            continue
        if etc_places and not partner and not _JOINT_VERB.match(verb.group(0)):
            continue  # 河北、湖南、青海等地建立…: each on its own
        add_list(group, _role(verb.group(0), text, vpos), text, gaz, doc, j, dept_words, add)
    if _SYSTEM_DOC.search(text) and (issuer := _issuer(text, units)) is not None:
        add(issuer, "host")
    _finish_anaphora(units, text, found, add)
    body_found = {k: f for k, f in found.items() if not f.headline}
    if body_found:
        found = body_found
    return tuple(Participant(f.name, f.mention, f.start, f.end, f.entry.level, f.entry.region_code,
                             f.entry.province if f.entry.level != "national" else "", f.sector, f.role)
                 for f in sorted(found.values(), key=lambda f: f.start))


_SIGNATURE_DATE = re.compile(rf"\n?(?:[{_NUM}〇零]{{4}}|[0-9]{{4}})年[{_NUM}0-9]{{1,3}}月[{_NUM}0-9]{{1,3}}日\s*(?:（[^）]*）\s*)?$")


def _issuer(text: str, units: list[_Unit]) -> _Unit | None:
    """The body that issues an official letter (公文): its name is the banner, the document's first line, and
    signs it on the line above the closing date (国务院办公厅 … 国务院办公厅 / 二〇一四年七月十一日). The unit of
    the signature, or None."""
    first = next((u for u in units if u.kind in ("body", "jurisdiction")), None)
    if first is None or text[:first.start].strip() or not text.startswith("\n", first.end):
        return None
    tail = text.rstrip()
    for u in reversed(units):
        if u.mention == first.mention and u.start > first.end and text[u.end:u.end + 1] == "\n" and \
                _SIGNATURE_DATE.match(tail, u.end) and not tail[:u.start].endswith(("：", "，")):
            return u
    return None


def _attends_later(text: str, j: int) -> str | None:
    """Whether the list ending at `j` is a subject of the sentence's attendance predicate, after persons
    and further lists (…负责同志，南京、无锡五市政府分管负责同志参加会议): 'member', 'superior' (到会指导) or None."""
    _, b = _sentence_bounds(text, j)
    if j >= b:
        return None
    m = _ATTEND.search(text, j, b)
    if m is None or _ATTEND_GAP_BLOCK.search(text, j, m.start()) or _PARTNER.match(text, j):
        return None
    return "superior" if "指导" in text[m.start():m.end() + 4] else "member"


def _share_department(group: list[_Unit], text: str, gaz: Gazetteer, date: str | None) -> None:
    """“X省、Y省发展改革委”, “上海市和江苏省、浙江省发展改革委”: the department named after the last
    jurisdiction of a list is a department of each; the mention is the whole list."""
    last = group[-1]
    if len(group) < 2 or last.kind != "jurisdiction" or not last.dept:
        return
    if not all(u.kind == "jurisdiction" and not u.dept and not u.qualifier and u.mention == text[u.start:u.end]
               and not _GOV_WORDS.search(u.mention) for u in group[:-1]):
        return
    deps = [gaz.department(u.bodies[0][1], last.dept, date) for u in group[:-1]]
    if any(d is None for d in deps):
        return
    span = text[group[0].start:last.end]
    for u, dep in zip(group[:-1], deps, strict=True):
        u.bodies = [(dep[0], u.bodies[0][1], dep[1])]  # type: ignore[index]
        u.dept = last.dept
    for u in group:
        u.mention, u.start, u.end, u.ext_end = span, group[0].start, last.end, last.end


def add_list(group: list[_Unit], role: str, text: str, gaz: Gazetteer, doc: Document, j: int, dept_words: str,
             add) -> None:  # noqa: ANN001
    """Add the members of an acting list, each with the department named after the list (三地民政部门)."""
    first = group[0]
    multi_dept = bool(dept_words) and bool(re.search(r"和|、", dept_words))
    whole = first.kind == "bloc" and dept_words and not multi_dept
    for u in group:
        if u.qualifier:
            continue
        names = u.bodies
        if dept_words and not multi_dept and u.kind in ("jurisdiction", "bloc") and not u.dept:
            names = []
            for name, entry, sector in u.bodies:
                dep = gaz.department(entry, dept_words, doc.date) if entry.kind == "jurisdiction" else None
                names.append((dep[0], entry, dep[1]) if dep else (name, entry, sector))
        if whole:
            add(u, role, names, text[u.start:j], u.start, j)
        elif len(group) >= 2 and (g := _GOV_WORDS.search(u.mention)) and g.end() == len(u.mention):
            add(u, role, names, u.mention[:g.start()], u.start, u.start + g.start())
        else:
            add(u, role, names)


def _finish_anaphora(units: list[_Unit], text: str, found: dict, add) -> None:  # noqa: ANN001
    """三方/三地 acting with no named members: the bloc the document names."""
    if not [f for f in found.values() if not f.headline]:
        for m in re.finditer(r"(两|三|四|双)(方|地)(?:共同|联合|分别)?(?:签署|签订|发布|开展|推进|建立|启动)", text):
            n = {"两": 2, "双": 2, "三": 3, "四": 4}[m.group(1)]
            blocs = [u for u in units if u.kind == "bloc" and len(u.bodies) == n]
            if blocs and not found:
                add(blocs[0], "signatory" if "签" in m.group(0) else "member")


def document(doc: Document, words: list[str], gazetteer_dir: Path | str,
             user_dictionary: Path | str | None = None) -> Tagged:
    """Participants and document codes of one document."""
    from pipeline import code

    ps = participants(doc, words, gazetteer_dir, user_dictionary)
    return Tagged(doc.doc_id, ps, code.codes(doc, ps))
