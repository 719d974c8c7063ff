"""Document-level codes (CODEBOOK §1, §3): doc_class, meeting metadata, collab_type, depth, institutions,
vertical guidance and goals, each positive code with evidence spans into `Document.text`.

The main event of a news item or notice sits in its title and lead, so the class is decided there first;
a later mention (a village's 联席会议 in a feature story) does not make a document a joint-meeting report.
Rules decide the class; the trained text classifier (`pipeline.classify`) only vetoes weakly evidenced
coordination classes it is confident are `other`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.gazetteer import PROVINCE_SHORT
from pipeline.dates import cn_number, find_dates
from pipeline.records import COLLAB_TYPES, LEVELS, Codes, Document, Evidence, Participant

VERSION = "3"  # 3: series names keep 和 inside department names and brackets, drop 关于调整/印发, 省 → the issuing province

# --- geography: provincial units, their short names and one-character abbreviations (GB/T 2260) ---------------
PROVINCES = PROVINCE_SHORT  # full name → (short name, one-character abbreviation)
_SHORT = {short: full for full, (short, _) in PROVINCES.items()}
_ABBR = {abbr: full for full, (_, abbr) in PROVINCES.items()}
#: Blocs whose membership is fixed (CODEBOOK §2); longest first when matched.
BLOCS: dict[str, tuple[str, ...]] = {
    "长三角三省一市": ("上海市", "江苏省", "浙江省", "安徽省"), "长三角地区": ("上海市", "江苏省", "浙江省", "安徽省"),
    "长三角": ("上海市", "江苏省", "浙江省", "安徽省"), "三省一市": ("上海市", "江苏省", "浙江省", "安徽省"),
    "京津冀": ("北京市", "天津市", "河北省"), "环首都": ("北京市", "天津市", "河北省"),
    "粤港澳": ("广东省", "香港特别行政区", "澳门特别行政区"), "成渝": ("四川省", "重庆市"),
    "川渝": ("四川省", "重庆市"), "重庆四川": ("重庆市", "四川省"), "四川重庆": ("四川省", "重庆市"),
}
#: Chains of one-character abbreviations (沪苏浙皖, 滇黔川渝藏, 江浙沪 is spelled with short names).
_CHAIN = re.compile("(?:[" + "".join(_ABBR) + "]){2,6}(?=[两三四五六七八九十0-9]*[省市区地方]|联合|签署|共建|协同|合作|一体化|开展|建立|互|”)")
_CHAIN_EXTRA = {"江浙沪": ("江苏省", "浙江省", "上海市"), "苏浙沪": ("江苏省", "浙江省", "上海市"),
                "江浙皖": ("江苏省", "浙江省", "安徽省")}

# --- countries and non-governmental bodies: what makes a 联席会议 foreign or not inter-governmental ------------
_FOREIGN = re.compile(
    "美国|美军|美方|国会|参众两院|参谋长|参联会|俄罗斯|俄方|俄外长|白俄罗斯|乌克兰|英国|法国|德国|意大利|西班牙|葡萄牙|"
    "日本|韩国|朝鲜|印度|巴基斯坦|伊朗|伊拉克|叙利亚|以色列|巴勒斯坦|土耳其|埃及|南非|巴西|阿根廷|墨西哥|加拿大|"
    "澳大利亚|新西兰|菲律宾|越南|老挝|柬埔寨|泰国|缅甸|马来西亚|新加坡|印尼|印度尼西亚|蒙古国|哈萨克斯坦|欧盟|东盟|"
    "联合国|北约|非盟|美洲|欧洲|非洲|拉美|中东|总统|首相|国王|议会|外方|利比里亚|国际机构|国际组织|世界银行|世界贸易组织|"
    "国际货币基金组织|(?<![\u4e00-\u9fff])中[俄哈蒙越吉塔乌朝韩日美欧印缅](?=[\u4e00-\u9fff]{2,}(?:合作|边境|联席|会议|委员会))|[美英法德日俄澳]{2,}(?=[\u4e00-\u9fff]{0,4}(合作|关系|同盟))|(?<![中我双各多有关对地])[泰俄美日韩印越老柬缅哈蒙欧英法德马意]方")
_NON_GOV = re.compile("村民|村“?两委|村党|村委|居民|小区|物业|董事会|股东|党委会联席|公司|集团|企业|研究院|研发|学院|大学|高校|专家|学者|"
                      "协会|商会|联合会|医院|银行|机场|航空|律师|基金会|研究会|俱乐部|联盟|客户|工会|孔子")
_COMPANY = re.compile("央企|公司|集团|企业|机场|银行|航空|港口集团|高校|大学|研究院|基金会|ABB|[A-Z]{2,}|投资者|投资方|"
                      "民营|客商|外资|港资|台资|签约项目|交易所|交所|中国结算|香港结算|[0-9一二三四五六七八九十百千]+个?项目")

# --- class cues ----------------------------------------------------------------------------------------------
_JOINT = re.compile(r"联席会议?|联席会")
_SYSTEM_SET_UP = re.compile(r"(建立|设立|成立|组建|调整|同意建立)[^。；]{0,50}?联席会议?(制度|机制)|增补[^。；]{0,20}成员单位|"
                            r"调整[^。；]{0,40}?联席会议?成员(单位)?|"
                            r"联席会议?(制度|机制)[^。；]{0,10}由[^。；]{0,20}(牵头|组成)")
_SYSTEM_NOT_YET = re.compile(r"(各级|各地|地方|下一步|将|拟|要求各)[^。；]{0,25}(建立|设立|成立)[^。；]{0,40}联席会议?(制度|机制)")
_OFFICE = re.compile(r"联席会议办公室|联席会议秘书处|联席办")
_OFFICE_ACT = re.compile(r"召集|部署|通报|发布|公布|推出|上线|印发|组织|督导|约谈|挂牌")
_JOINT_HELD = re.compile(r"(召开|举行)[^。；]{0,30}联席会议?(?!制度|机制)|联席会议?[^。；]{0,12}(在[^。；]{1,8})?(召开|举行)")
_INTL = re.compile(r"中方|中国[^。]{0,6}(与|和|同)|与[^。]{0,8}方|两国|双边|中[俄美日韩欧哈蒙越老泰缅巴印英法德]")

_LEADING_GROUP_MEETING = re.compile(r"领导小组[^。，]{0,16}?(全体会议|会议|电视电话会议)|领导小组第[0-9一二三四五六七八九十]+次")
_MECHANISM_MEETING = re.compile(r"工作机制[^。，]{0,4}会议")
_MEETING = re.compile(r"座谈会|协调会|推进会|推进大会|交流会|工作会议|合作会议|联络会|论坛|洽谈会|协作会|峰会|"
                      r"合作大会|工作会|现场会|对接会|联谊会|协调小组[^。]{0,6}会议")
_COORD_CONTEXT = re.compile(
    r"领导小组|部际|省际|跨省|跨区域|区域|两地|三地|四地|各方|对口(支援|帮扶|协作|援)|东西部|协同发展|一体化|联防联控|"
    r"[两三四五六七八九十0-9]+[个]?(省|部门|地|市|方)|多部门|各部门|成员单位|各省|有关地区|有关省|沿线|流域|毗邻|"
    r"京津冀|长三角|珠三角|泛珠|粤港澳|成渝|川渝|环首都|大湾区|经济带|经济圈|都市圈|城市群")
_MEETING_NEG = re.compile(r"纪念|政协|人大常委会[^。]{0,10}(会议|全体)|全国人大|人民代表大会|专家学者|企业家|学术|研讨|"
                          r"孔子学院|董事会|村民|校友|运动会|博览会|展览|发布会|新闻发布|招商|推介会|文艺|晚会|"
                          r"外交部长|总统|首相|高端会议|跨国公司|报告会|宣讲|主题教育|教育实践活动|专题教育|会上了解到|国家和地区|公约|缔约方|公司调研|企业调研|到[^。，]{0,12}公司|国际[^。，]{0,8}(?:论坛|峰会|会议|大会|博览会|演习|演练)|世界[^。，]{0,8}(?:大会|峰会|论坛)|全球[^。，]{0,8}(?:峰会|论坛|大会)|多国|(?:文化|旅游|艺术|电影|音乐|美食|戏剧|啤酒|读书|购物|体育|民俗|冰雪|花|茶|丰收)节|节庆|节会|"
                          r"记者会|吹风会")
_AGREE = re.compile(r"签署|签订|签约|框架协议|合作协议|备忘录|合作共识|宣言")
_ACTION = re.compile(
    r"联合(印发|发布|开展|部署|执法|演练|巡航|行动|推进|打击|整治|检查|督查|出台|下发|召开)|联防联控|协作机制|合作机制|联动机制|"
    r"对口(援建|帮扶|支援|协作)|援建|结对|互派|挂职|跨省通办|全域通办|通办|互认|联考|生态补偿|异地(就医|养老|结算)|"
    r"共同(开展|发布|签署|制定)|同步施行|一体化保护|区域警务合作|[0-9一二三四五六七八九十]+(部门|部委)")
_ACTION_NEG = re.compile(r"进出口|外贸|货物贸易|开通运营|正式开通|开通一周年|通车一周年|车流量|客流量|演习|军演|多国|国际[^。，]{0,8}(?:演练|救援|合作)|"
                         r"(?:跨省)?异地就医[^。]{0,40}(?:人次|万人|亿元|同比|累计)|(?:文化|旅游|艺术|电影|音乐|美食|戏剧|啤酒|读书|购物|体育|民俗|冰雪|花|茶|丰收)节|节庆|节会")

#: Titles that are not about coordination whatever they mention: commentaries, press conferences, letters.
_NOT_COORDINATION = re.compile(r"评论员|社论|短评|新闻发布会|发布会|致贺信|贺信|通电话|会见|会谈|调研")
_LEAD_IN = re.compile(r"^[^\n：:]{0,30}(消息|报道)[^\n：:]{0,20}[：:]")
_HEADER_LINE = re.compile(r"[^\n。！？；]{0,40}\n")


@dataclass(frozen=True, slots=True)
class _View:
    """The text and its lead (the title and the first sentences), where the main event is reported."""

    text: str
    title: str
    lead_end: int

    @property
    def lead(self) -> str:
        return self.text[:self.lead_end]


def _view(doc: Document) -> _View:
    text = doc.text
    m = _LEAD_IN.match(text)
    pos = m.end() if m else 0
    # header lines of a communiqué (issuer, document number, a title broken over lines) are not the lead
    while (m := _HEADER_LINE.match(text, pos)) and text.find("\n", m.end()) >= 0:
        pos = m.end()
    sentences = 0
    end = pos
    for s in re.finditer(r"[^。！？\n]+[。！？\n]?", text[pos:]):
        end = pos + s.end()
        sentences += 1
        if sentences >= 2 and end - pos >= 60 or sentences >= 3:
            break
    return _View(text, doc.title or "", end)


def _ev(code: str, value: str, text: str, start: int, end: int) -> Evidence:
    return Evidence(code, value, start, end, text[start:end])


def _sentence(text: str, i: int) -> tuple[int, int]:
    a = max(text.rfind(c, 0, i) for c in "。！？\n") + 1
    ends = [j for j in (text.find(c, i) for c in "。！？\n") if j >= 0]
    return a, (min(ends) + 1 if ends else len(text))


def _find(pattern: re.Pattern[str], text: str, start: int = 0, end: int | None = None) -> re.Match[str] | None:
    return pattern.search(text, start, len(text) if end is None else end)


def _gov_joint(text: str, m: re.Match[str]) -> str:
    """Whether a 联席会议 mention is domestic inter-governmental ('gov'), China with foreign governments
    ('intl'), foreign ('foreign') or not governmental ('nongov')."""
    a, b = _sentence(text, m.start())
    before = text[max(a, m.start() - 24):m.start()]
    sent = text[a:b]
    if _NON_GOV.search(before):
        return "nongov"
    if _FOREIGN.search(sent) or _FOREIGN.search(before):
        return "intl" if re.search(r"中方|中国|我国|外交部牵头|多部委|(?<![\u4e00-\u9fff])中[俄哈蒙越吉塔乌朝韩日美欧印缅]",
                                   sent) and not re.search(r"美军|参谋长|国会", sent) \
            else "foreign"
    return "gov"


def doc_class(doc: Document, participants: tuple[Participant, ...] = ()) -> tuple[str, Evidence | None, bool]:
    """The class of a document by rules over its title, lead and text, with the span that decided it and
    whether the decision rests on strong cues (a joint meeting named in the lead, a signed agreement…)."""
    v = _view(doc)
    text, title, lead_end = v.text, v.title, v.lead_end
    head = title + "\n" + v.lead
    joints = [(m, _gov_joint(text, m)) for m in _JOINT.finditer(text)]
    gov_joints = [m for m, kind in joints if kind == "gov"]
    # a joint meeting between China and foreign governments
    for m, kind in joints:
        if kind == "intl":
            return "joint_meeting_international", _ev("doc_class", "joint_meeting_international", text, m.start(),
                                                      m.end()), True
    # the standing office acts
    for m in _OFFICE.finditer(text):
        a, b = _sentence(text, m.start())
        if _OFFICE_ACT.search(text, m.end(), min(b, m.end() + 30)):
            return "joint_meeting_office_activity", _ev("doc_class", "joint_meeting_office_activity", text,
                                                        m.start(), m.end()), True
    # a session of a joint meeting reported in the lead (or the joint meeting as the source of the lead)
    lead_joint = next((m for m in gov_joints if m.start() < lead_end), None)
    system = _find(_SYSTEM_SET_UP, text)
    if lead_joint and not any(s.start() <= lead_joint.start() <= s.end() for s in _SYSTEM_SET_UP.finditer(text)):
        return "joint_meeting", _ev("doc_class", "joint_meeting", text, lead_joint.start(), lead_joint.end()), True
    # a document that sets up or changes a joint-meeting system; an order to set one up later is a mechanism
    if system and any(_sentence(text, system.start()) == _sentence(text, m.start())
                      or system.start() <= m.start() < system.end() for m in gov_joints):
        a, _ = _sentence(text, system.start())
        if _SYSTEM_NOT_YET.search(text, a, system.end() + 1):
            return "cooperation_agreement_or_mechanism", _ev("doc_class", "cooperation_agreement_or_mechanism",
                                                             text, system.start(), system.end()), True
        return "joint_meeting_system_document", _ev("doc_class", "joint_meeting_system_document", text,
                                                    system.start(), system.end()), True
    for m in _JOINT_HELD.finditer(text):
        if any(m.start() <= g.start() < m.end() and re.search(r"(工作|部际|部级|省际|协作|合作|市长|首长|区域)$",
                                                               text[max(0, g.start() - 2):g.start()])
               for g in gov_joints):
            return "joint_meeting", _ev("doc_class", "joint_meeting", text, m.start(), m.end()), True
    if gov_joints and title and _JOINT.search(title):
        m = gov_joints[0]
        return "joint_meeting", _ev("doc_class", "joint_meeting", text, m.start(), m.end()), True
    neg = _MEETING_NEG.search(head) or _FOREIGN.search(head)
    # a press conference (国务院联防联控机制新闻发布会) reports statements, not coordination
    if not title and (m := re.search(r"新闻发布会|发布会上|记者会|吹风会", v.lead)) or \
            title and (m := re.search(r"新闻发布会|发布会上|记者会|吹风会", v.lead)) and not _JOINT.search(title):
        return "other", _ev("doc_class", "other", text, m.start(), m.end()), True
    if m := _NOT_COORDINATION.search(title or v.lead[:40]):
        return "other", _ev("doc_class", "other", text, m.start(), m.end()) if not title else None, False
    if _FOREIGN.search(title):
        return "other", None, False
    agree_title = _AGREE.search(title) or _AGREE.search(text[:min(lead_end, 45)])
    # another coordination venue: a leading group's or a mechanism's meeting, a regional conference
    for pat in (_LEADING_GROUP_MEETING, _MECHANISM_MEETING):
        if (m := _find(pat, text, 0, lead_end)) and not neg:
            return "coordination_meeting_other", _ev("doc_class", "coordination_meeting_other", text, m.start(),
                                                     m.end()), True
    meeting = _find(_MEETING, text, 0, lead_end)
    context = _COORD_CONTEXT.search(head)
    government = _government(text[:lead_end], participants, lead_end)
    if meeting and not neg and not agree_title and (context or government >= 2):
        return "coordination_meeting_other", _ev("doc_class", "coordination_meeting_other", text, meeting.start(),
                                                 meeting.end()), bool(context and government >= 1)
    # an agreement or joint mechanism between governments
    agree = _find(_AGREE, text, 0, lead_end)
    if agree:
        a, b = _sentence(text, agree.start())
        if _COMPANY.search(text[a:agree.start()]) or _COMPANY.search(text[agree.end():b][:20]):
            return "other", _ev("doc_class", "other", text, agree.start(), agree.end()), True
        if government >= 2 or context:
            return "cooperation_agreement_or_mechanism", _ev("doc_class", "cooperation_agreement_or_mechanism",
                                                             text, agree.start(), agree.end()), government >= 2
    action = _find(_ACTION, text, 0, lead_end)
    if action and not _ACTION_NEG.search(head) and (government >= 2 or context):
        return "cooperation_agreement_or_mechanism", _ev("doc_class", "cooperation_agreement_or_mechanism", text,
                                                         action.start(), action.end()), government >= 2
    if meeting and not neg and (context or government >= 2):
        return "coordination_meeting_other", _ev("doc_class", "coordination_meeting_other", text, meeting.start(),
                                                 meeting.end()), False
    return "other", None, False


_N_GOVS = re.compile(r"([两三四五六七八九十0-9]+|多|各|有关)(个)?(省区市|省市区|省区|省市|省份|省|部门|部委|地市|市县|城市|市|地|方)"
                     r"|[两三四]地|双城|两市|两省")


def _government(lead: str, participants: tuple[Participant, ...], lead_end: int) -> int:
    """How many distinct governments or departments act in the lead: named participants plus bloc and
    numbered plural actors (9部门, 四省十市, 京津冀)."""
    names = {p.name for p in participants if p.start < lead_end}
    n = len(names)
    provinces = _provinces_in(lead)
    n = max(n, len(provinces))
    if _N_GOVS.search(lead):
        n = max(n, 2)
    return n


def _provinces_in(text: str, keep=lambda a, b: True) -> dict[str, tuple[int, int, str]]:
    """Provincial units named in the text (full or short names, bloc names, abbreviation chains) with the
    first span that names them and that `keep(start, end)` accepts."""
    found = _KeepDict(keep)
    for bloc in sorted(BLOCS, key=len, reverse=True):
        for m in re.finditer(bloc, text):
            for p in BLOCS[bloc]:
                found.setdefault(p, (m.start(), m.end(), m.group(0)))
    for chain, members in _CHAIN_EXTRA.items():
        for m in re.finditer(chain, text):
            for p in members:
                found.setdefault(p, (m.start(), m.end(), m.group(0)))
    for m in _CHAIN.finditer(text):
        s = m.group(0)
        if len(set(s)) == len(s) and all(c in _ABBR for c in s):
            for c in s:
                found.setdefault(_ABBR[c], (m.start(), m.end(), s))
    for short, full in _SHORT.items():
        for m in re.finditer(short, text):
            found.setdefault(full, (m.start(), m.end(), m.group(0)))
    return dict(found)


class _KeepDict(dict):
    def __init__(self, keep) -> None:
        super().__init__()
        self.keep = keep

    def setdefault(self, key, value):  # type: ignore[override]
        if key not in self and self.keep(value[0], value[1]):
            self[key] = value
        return self.get(key)


# --- levels, regions and collaboration types -------------------------------------------------------------------
#: Known make-up of convening bodies (CODEBOOK §3 `levels`): a central leading group or a national mechanism
#: involves national bodies and, when its name carries a bloc, the bloc's provinces.
_CENTRAL_BODY = re.compile(r"((国务院|中央|全国|国家)[^。，、]{0,30}?(领导小组|联席会议?|工作机制|委员会)|"
                           r"(推动|推进)[^。，、]{0,16}领导小组|[^。，、]{2,24}?(大气污染防治|协同发展|建设|发展)领导小组)"
                           r"(?!办公室)")
_VENUE_BEFORE = re.compile(r"(在|赴|到|来到|抵达|位于|于)$")
_VENUE_AFTER = re.compile(r"^(召开|举行|举办|开幕|闭幕|时间)")
_GOAL_BEFORE = re.compile(r"(推动|推进|促进|服务|保障|助力|融入|对接|建设)$")
#: Provinces that only qualify the acting cities or counties (江苏、安徽…4省的10个城市, 沿淮5省29个市县).
_QUALIFIER = re.compile(r"(省|省份|省区|省区市|省市)的?[0-9一二三四五六七八九十两]+个?(城市|地市|市县|市（区）|市|县)")
_MEETING_SENT = re.compile(r"会议|会上|会见|出席|参加|主持|成员单位|签署|签订|联合|共同|牵头|组织|召集|发言")


def _main_sentences(text: str, lead_end: int, anchor: int | None) -> list[tuple[int, int]]:
    """Where the main event is told: the lead, the sentence of the class evidence, and, in a long text,
    sentences about the meeting or the joint act."""
    spans = [(0, lead_end)]
    if anchor is not None:
        spans.append(_sentence(text, anchor))
    for m in re.finditer(r"[^。！？\n]+[。！？\n]?", text):
        if m.start() >= lead_end and (len(text) <= 400 or _MEETING_SENT.search(m.group(0))):
            spans.append((m.start(), m.end()))
    return spans
_LEVEL_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("national", re.compile(r"(?<!从)(国务院|中共中央|中央(?![电财])|[0-9一二三四五六七八九十]+(个)?(部门|部委)|部际|"
                            r"国家[^。，、]{1,8}(局|委|部|署)|(公安|外交|商务|财政|教育|科技|司法|民政|水利|审计|"
                            r"工业和信息化|人力资源和社会保障|自然资源|生态环境|环境保护|住房和城乡建设|交通运输|农业农村|"
                            r"文化和旅游|应急管理|国防|卫生|农业|文化|铁道|监察|国土资源)部(?![门分队署长])|最高人民(法院|检察院)|"
                            r"[^。，、]{2,4}总局|[^。，、]{2,4}总署|中宣部|中组部)(?![^。，]{0,6}了解到)")),
    ("provincial", re.compile(r"[0-9一二三四五六七八九十两]+(个)?(省区市|省市区|省区|省市|省份|省)|各省|沿[^。，]{0,6}省|有关省")),
    ("prefectural", re.compile(r"(?<!省)[0-9一二三四五六七八九十两]+(个)?(城市|地市|市（区）|市(?![场民区县两三四]))|地州|自治州|地级市|市县|市、县")),
    ("county", re.compile(r"[0-9一二三四五六七八九十两]+(个)?(县|区县|市县)|市县|县（市|县级|区县|市、县|"
                          r"(?<=[省市州])[\u4e00-\u9fff]{1,3}(县|区)(?![域级委])")),
)
_DEPT_CUES = re.compile(r"([两三四五六七八九十0-9]+|多|各有关)(个)?(部门|部委|单位)|部际|部级联席|多部门|各部门|成员单位|和[^。，]{1,6}部门|"
                        r"领导小组(?!办公室)")
_REGIONAL_CUES = re.compile(r"([两三四五六七八九十0-9]+|多)(个)?(省区市|省市区|省区|省市|省份|省|地市|城市|市（区）)|[两三四]地|双城|"
                            r"两市|两省|省际|跨省|跨区域|各方|沿线|毗邻|东西部|对口(支援|帮扶|协作)|援建|结对")
_LEVEL_PAIR_CUES = re.compile(r"省市县三级|省市县|省、市、县|上下联动|央地|部省|省部|中央和地方|国家和地方")


def _level_of_cue(text: str) -> dict[str, Evidence]:
    out: dict[str, Evidence] = {}
    for level, cue in _LEVEL_CUES:
        if m := cue.search(text):
            out[level] = _ev("levels", level, text, m.start(), m.end())
    return out


def regions_of(doc: Document, participants: Iterable[Participant],
               spans: list[tuple[int, int]] | None = None) -> dict[str, Evidence]:
    """Provincial units involved: the participants' provinces, provinces and blocs named as acting (not as
    venues), and the provinces of a convening body's bloc."""
    text = doc.text
    out: dict[str, Evidence] = {}
    for p in participants:
        if p.province:
            out.setdefault(p.province, Evidence("regions", p.province, p.start, p.end, p.mention))
    def keep(a: int, b: int) -> bool:
        return not (_VENUE_BEFORE.search(text[max(0, a - 2):a]) or _VENUE_AFTER.match(text[b:b + 2])
                    or _GOAL_BEFORE.search(text[max(0, a - 4):a])) and \
            (spans is None or any(x <= a < y for x, y in spans))

    for prov, (a, b, s) in _provinces_in(text, keep).items():
        out.setdefault(prov, Evidence("regions", prov, a, b, s))
    return out


def collab_types(participants: Iterable[Participant], text: str, doc_cls: str) -> tuple[list[str], list[Evidence]]:
    """collab_type from the participants' jurisdictions, levels and sectors alone (CODEBOOK §3)."""
    ps = list(participants)
    out: list[str] = []
    ev: list[Evidence] = []
    if doc_cls == "other" or not ps:
        return out, ev
    by_level: dict[str, set[str]] = {}
    for p in ps:
        if p.level != "national":
            by_level.setdefault(p.level, set()).add(p.region_code)
    if len({p.province for p in ps if p.province}) >= 2 or any(len(c) >= 2 for c in by_level.values()):
        out.append("cross_regional")
    if len({p.level for p in ps}) >= 2:
        out.append("cross_level")
    national_sectors = {p.sector for p in ps if p.level == "national" and p.sector not in ("general", "party")}
    local_sectors = {p.sector for p in ps if p.level != "national" and p.sector != "general"}
    if len(national_sectors) >= 2 or len(local_sectors) >= 2:
        out.append("cross_departmental")
    for c in out:
        for p in ps[:2]:
            ev.append(Evidence("collab_type", c, p.start, p.end, p.mention))
    return out, ev


def acting(participants: Iterable[Participant], text: str) -> tuple[Participant, ...]:
    """The participants that are not venues (在京召开 names no participant, CODEBOOK §2)."""
    return tuple(p for p in participants
                 if not (_VENUE_BEFORE.search(text[max(0, p.start - 2):p.start]) or _VENUE_AFTER.match(text[p.end:p.end + 2])
                         or _GOAL_BEFORE.search(text[max(0, p.start - 4):p.start])))


def _collab(doc: Document, participants: tuple[Participant, ...], cls: str, v: _View, anchor: int | None = None
            ) -> tuple[list[str], list[str], list[str], list[Evidence]]:
    """levels, regions and collab_type with their evidence: participants, plural actors the text says take
    part (9部门, 沿江省市, 三地, 省市县三级) and the known make-up of the convening body."""
    text = doc.text
    spans = _main_sentences(text, v.lead_end, anchor)
    participants = tuple(p for p in acting(participants, text) if any(a <= p.start < b for a, b in spans))
    ev: list[Evidence] = []
    levels: dict[str, Evidence] = {}
    for p in participants:
        levels.setdefault(p.level, Evidence("levels", p.level, p.start, p.end, p.mention))
    regions = regions_of(doc, participants, spans)
    collab: dict[str, Evidence] = {}
    for c, e in zip(*collab_types(participants, text, cls), strict=False):
        collab.setdefault(c, Evidence("collab_type", c, e.start, e.end, e.text))
    lead = v.lead
    for level, e in _level_of_cue(lead).items():
        levels.setdefault(level, e)
    if q := _find(_QUALIFIER, text, 0, v.lead_end):
        qualifiers = {p.name for p in participants if p.level == "provincial" and p.end <= q.start()
                      and not re.search(r"与|同|跟|，|。", text[p.end:q.start()]) and q.start() - p.end <= 24}
        if not any(p.level == "provincial" and p.name not in qualifiers for p in participants):
            levels.pop("provincial", None)
    if len(regions) >= 1 and "provincial" not in levels and not {"prefectural", "county"} & set(levels) and not q:
        e = next(iter(regions.values()))
        levels["provincial"] = Evidence("levels", "provincial", e.start, e.end, e.text)
    body = _find(_CENTRAL_BODY, text, 0, v.lead_end)
    if body and cls != "other":
        levels.setdefault("national", _ev("levels", "national", text, body.start(), body.end()))
        collab.setdefault("cross_departmental", _ev("collab_type", "cross_departmental", text, body.start(),
                                                    body.end()))
        named = _provinces_in(body.group(0))
        for prov in named:
            regions.setdefault(prov, _ev("regions", prov, text, body.start(), body.end()))
        if named:
            levels.setdefault("provincial", _ev("levels", "provincial", text, body.start(), body.end()))
            collab.setdefault("cross_regional", _ev("collab_type", "cross_regional", text, body.start(), body.end()))
            collab.setdefault("cross_level", _ev("collab_type", "cross_level", text, body.start(), body.end()))
    if len(regions) >= 2:
        e = list(regions.values())[1]
        collab.setdefault("cross_regional", Evidence("collab_type", "cross_regional", e.start, e.end, e.text))
    if m := _find(_REGIONAL_CUES, text, 0, v.lead_end):
        collab.setdefault("cross_regional", _ev("collab_type", "cross_regional", text, m.start(), m.end()))
    if m := _find(_DEPT_CUES, text, 0, v.lead_end):
        collab.setdefault("cross_departmental", _ev("collab_type", "cross_departmental", text, m.start(), m.end()))
    elif m := _find(re.compile(r"部际联席|部级联席|各成员单位|成员单位"), text):
        collab.setdefault("cross_departmental", _ev("collab_type", "cross_departmental", text, m.start(), m.end()))
    if len({(e.start, e.end) for e in levels.values()}) >= 2:
        e = sorted(levels.values(), key=lambda e: e.start)[-1]
        collab.setdefault("cross_level", Evidence("collab_type", "cross_level", e.start, e.end, e.text))
    elif m := _find(_LEVEL_PAIR_CUES, text, 0, v.lead_end):
        collab.setdefault("cross_level", _ev("collab_type", "cross_level", text, m.start(), m.end()))
    if cls == "other":
        return ([lv for lv in LEVELS if lv in {p.level for p in participants}],
                sorted({p.province for p in participants if p.province}), [], [])
    ev.extend(levels.values())
    ev.extend(regions.values())
    ev.extend(collab.values())
    return ([lv for lv in LEVELS if lv in levels], sorted(regions), [c for c in COLLAB_TYPES if c in collab], ev)


# --- depth, institutions, guidance, goals ------------------------------------------------------------------------
DEPTH_CUES: dict[int, re.Pattern[str]] = {
    4: re.compile(r"联合(执法|巡航|巡查|检查|督查|演练|行动|办案|调查)|专项行动|联防联控|联查联防|共建共享|一网通办|跨省通办|"
                  r"全域通办|通办|互派|挂职|联考|同期开展|同步开展|巡河机制|[^。，]{0,6}平台|援建[^。]{0,20}(完成|建成)|"
                  r"(项目|工程)[^。]{0,8}(全面完成|建成)|互认|异地就医|即时结算|协作机制[^。]{0,6}建立|机制[^。]{0,4}(建立|启动)"),
    3: re.compile(r"签署|签订|签约|框架协议|合作协议|备忘录|共识|宣言|目标责任书|审议通过|通过了|审定|批复|印发|出台|"
                  r"共同(制定|发布)|发布《|条例|实施方案|行动计划|规划|揭牌|成立|设立|建立[^。，]{0,12}(机制|制度)|清单"),
    2: re.compile(r"研究|部署|审议|讨论|协商|协调|商定|安排|探讨|强调|指出|要求|召开|举行"),
    1: re.compile(r"通报|交流|听取[^。]{0,8}汇报|信息共享|了解到"),
}
_FUTURE = re.compile(r"(要(?!求|素|点|闻|害|案)|应当|应该|需要|必须|强调|希望|力争|加快|推动|鼓励|今后)[^。；，]{0,16}$|围绕[^。；]{0,24}$")
_PLANNED = re.compile(r"(将|拟|计划|决定|未来|下一步|探索)[^。]{0,40}$")
#: What a meeting itself did: decided (3) or set running (4); otherwise a meeting consults (2).
_MEETING_DECIDED = re.compile(r"审议通过|审定|通过了|签署|签订|达成[^。]{0,10}协议|共同(发布|签署)|揭牌|"
                              r"(成立|设立)[^。]{0,10}(办公室|工作组|专班)|宣言")
_MEETING_ACTED = re.compile(r"决定[^。]{0,40}(开展|实施)[^。]{0,30}(专项行动|联合)|(联合演练|联合执法行动)[^。]{0,6}(举行|开展)")
_MEETING_INFO = re.compile(r"经验交流|交流会|通报会|了解到")
#: joint action the text reports as done or running (CODEBOOK §3 depth 4), with a marker of completion in its clause
_MEETING_DONE = re.compile(r"联合(?:应急)?(?:执法|巡查|巡河|监测|演练|执法检查|调度|行动|保洁)|共同实施|[^。，]{0,4}通办|上线运行|"
                           r"(?:项目|园区|学校|医院)[^。，]{0,4}(?:建成|完成)|建成[^。，]{0,8}(?:项目|园区|学校|医院)|"
                           r"开通了?[^。，]{0,8}(?:线路|公交|专线)")
_DONE_MARK = re.compile(r"已|了|累计|完成|建成|上线|开通|达到|实现|今年以来|一年来|查处")


def depth_of(text: str, cls: str, skip: tuple[int, int] | None = None, title: str = "") -> tuple[int | None, Evidence | None]:
    """The highest depth (CODEBOOK §3) the text reports as done or decided; calls for the future count as
    coordination (2), plans announced as decided as agreement (3). A meeting report is coded by what the
    meeting itself did, not by the background it recalls; `skip` is the series name (联防联控工作机制)."""
    if cls == "other":
        return None, None
    if cls in ("coordination_meeting_other", "joint_meeting", "joint_meeting_international") and \
            not (cls == "joint_meeting" and _find(_AGREE, text, 0, 80)):
        for d, pat in ((4, _MEETING_ACTED), (4, _MEETING_DONE), (3, _MEETING_DECIDED)):
            for m in pat.finditer(text):
                a, b = _sentence(text, m.start())
                if _FUTURE.search(text[a:m.start()]):
                    continue
                if pat is _MEETING_DONE:
                    ca = max(text.rfind(c, a, m.start()) for c in "，；：") + 1 if a < m.start() else a
                    ca = max(ca, a)
                    cb = min([j for j in (text.find(c, m.end(), b) for c in "，；。") if j >= 0] or [b])
                    if not _DONE_MARK.search(text, ca, cb) or _PLANNED.search(text[a:m.start()]) or \
                            re.search(r"要|将|继续|力争|推动|推进|加快", text[ca:m.start()]):
                        continue
                return d, _ev("depth", str(d), text, m.start(), m.end())
        if (m := _MEETING_INFO.search(title)) or (m := _find(_MEETING_INFO, text, 0, 120)):
            m = _MEETING_INFO.search(text) or m
            return 1, _ev("depth", "1", text, m.start(), m.end()) if m.string is text else None
        m = DEPTH_CUES[2].search(text)
        return 2, (_ev("depth", "2", text, m.start(), m.end()) if m else None)
    best: tuple[int, int, int] | None = None
    for d in (4, 3, 2, 1):
        for m in DEPTH_CUES[d].finditer(text):
            if skip and skip[0] <= m.start() < skip[1]:
                continue
            a, _ = _sentence(text, m.start())
            before = text[a:m.start()]
            eff = d
            if d >= 3 and _FUTURE.search(before):
                eff = 2
            elif d == 4 and _PLANNED.search(before) and not re.search(r"决定", before):
                eff = 3
            if best is None or eff > best[0]:
                best = (eff, m.start(), m.end())
            if eff == d:
                break
        if best is not None and best[0] >= d:
            break
    if best is None:
        return (3 if cls == "cooperation_agreement_or_mechanism" else 2), None
    d, a, b = best
    return d, _ev("depth", str(d), text, a, b)


INSTITUTION_CUES: dict[str, re.Pattern[str]] = {
    "secretariat": re.compile(r"常设办公室|秘书处|联络处|联席会议办公室|联席办|(建设|协调|合作)办公室|领导小组办公室"),
    "rotation": re.compile(r"轮值|轮流(承办|举办|主办)|轮值主席"),
    "charter": re.compile(r"章程|议事规则|工作规则|例会制度|工作制度"),
    "agreement": re.compile(r"签署[^。]{0,40}(协议|备忘录|宣言|共识|责任书)|签订[^。]{0,40}(协议|备忘录|责任书)|"
                            r"(框架|合作|战略)协议|备忘录|《[^》]{1,40}(共识|宣言)》|达成[^。]{0,10}(协议|共识)"),
    "fund": re.compile(r"专项资金|基金|经费分担|资金(池|分担)|中央财政[^。]{0,10}补助"),
    "working_groups": re.compile(r"专题组|工作组|专委会|专项小组|专门委员会"),
}
_VERTICAL = re.compile(r"指导下|出席指导|到会指导|莅临指导|党中央、?国务院[^。]{0,6}(决策)?部署|批示|批复|国务院同意|"
                       r"(国务院|中央)[^。，]{0,10}(牵头|组织)|由[^。，]{0,10}部牵头|[^。，]{0,6}部组织")
_GOAL = re.compile(r"(推进|推动|加强|深化|促进|实现|建立|完善|共建|打造|提升|保障|打赢|打好|服务)"
                   r"([\u4e00-\u9fff“”]{2,18}?)(?=[，。、；：\n]|，|的|和|与)")


def institutions_of(text: str) -> tuple[list[str], list[Evidence]]:
    out, ev = [], []
    for name, cue in INSTITUTION_CUES.items():
        if m := cue.search(text):
            if _FUTURE.search(text[max(0, m.start() - 14):m.start()]):
                continue
            out.append(name)
            ev.append(_ev("institutions", name, text, m.start(), m.end()))
    return out, ev


def goals_of(text: str, limit: int = 5) -> tuple[list[str], list[Evidence]]:
    """Stated goals as short phrases in the text's wording (推动长三角一体化发展 …), first `limit` distinct."""
    out: list[str] = []
    ev: list[Evidence] = []
    for m in _GOAL.finditer(text):
        phrase = m.group(0)
        if phrase in out or len(phrase) < 4:
            continue
        out.append(phrase)
        ev.append(_ev("goals", phrase, text, m.start(), m.end()))
        if len(out) >= limit:
            break
    return out, ev


# --- meeting metadata ---------------------------------------------------------------------------------------------
_NUMERAL = r"[0-9一二三四五六七八九十百零〇两]+"
_NAME_CHARS = r"[\u4e00-\u9fff0-9A-Za-z“”·\-－—（）]"
_CUT = re.compile(r"^.*(从|首次|召开|举行|出席|参加|参与|主持|牵头|组成|建立|设立|成立|同意|印发|调整|关于|对|暨|在|由|是|了|和|的|、|"
                  r"年度|届|次)")
#: 和 inside a department's name (人力资源和社会保障) does not separate two names
_NAME_HE = re.compile(r"(人力资源|工业|住房|文化|发展|卫生|林业|粮食|农业|生态)和(社会保障|信息化|城乡建设|旅游|改革|计划生育|草原|"
                      r"物资储备|农村|环境)")
_HE = "\ue000"
_CUT_KEEP_DE = re.compile(r"^.*(从|首次|召开|举行|出席|参加的|参与的|主持|牵头的|组成的|建立|设立|成立|同意|(?<!应)对|暨|在|由|是|了|、|年度)")
_CUT_NAMED = re.compile(r"^.*(从|召开|举行|出席|参加的|主持|(?<!应)对|在|由|是|、)")
_JOINT_NAME = re.compile(rf"({_NAME_CHARS}{{2,40}}?)(部际联席会议?|部级联席会议?|省际联席会议?|联席会议?)(?!办公室|办)")
_GROUP_NAME = re.compile(rf"({_NAME_CHARS}{{2,40}}?)领导小组(第{_NUMERAL}次)?(全体会议|电视电话会议|会议)")
_MECH_NAME = re.compile(rf"({_NAME_CHARS}{{2,50}}?)工作机制(会议)")
_NAMED_MEETING = re.compile(rf"(?:^|[：，。\s])(?:今天|日前|近日|\d+日)?，?({_NAME_CHARS}{{4,40}}?(?:论坛暨{_NAME_CHARS}{{2,10}}会|"
                            rf"论坛|合作大会|大会|座谈会|交流会|会议))(?=今天|昨天|[0-9]+日|{_NUMERAL}月|在|正在|于)")
_NOT_SERIES = re.compile(r"(工作会议|推进会|推进大会|电视电话会议|常务会议|全体会议|动员大会|表彰大会|代表大会|新闻发布会)$|"
                         r"人大|政协|党委|常委会")
_ORDINAL_PREFIX = re.compile(rf"^(\d{{4}}年度?|第{_NUMERAL}[届次]|首届|首次)")


def _expand_short(stem: str, text: str, end: int) -> str:
    """A short stem (普查) stands for the longest phrase ending in it earlier in the text (第四次全国文物普查)."""
    best = stem
    for m in re.finditer(rf"({_NAME_CHARS}{{2,16}}){re.escape(stem)}", text[:end]):
        cand = re.split(r"[暨和与及、]", m.group(0))[-1]
        cand = re.sub(r"^.*(召开|举行|出席|主持)", "", cand)
        if len(cand) > len(best) and cand.endswith(stem):
            best = cand
    return best


#: Well-known series written in several ways: a pattern over the name as found → the canonical name.
SERIES_ALIASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^长三角城市经济协调会(市长联席会议|会议|市长联席会)?$"), "长三角城市经济协调会市长联席会议"),
    (re.compile(r"^泛珠(三角)?(区域合作)?行政首长联席会议?$"), "泛珠三角区域合作行政首长联席会议"),
    (re.compile(r"^(国务院)?打击治理电信网络新型违法犯罪(工作)?部际联席会议$"), "国务院打击治理电信网络新型违法犯罪工作部际联席会议"),
)


#: the province of a provincial government's document, from its banner (江苏省人民政府办公厅)
_HOME_PROVINCE = re.compile(r"^\s*([\u4e00-\u9fff]{2,3}省)(?:人民政府|政府|委员会|委)")


def canonical_series(name: str) -> str:
    """The canonical name of a series: ordinals and 全体 dropped for matching, known variants linked."""
    bare = re.sub(rf"第{_NUMERAL}[次届](?=(全体)?会议|[^第]{{0,6}}联席会|$)", "", name)
    bare = re.sub(r"(联席)?会议会议$", r"\1会议", bare)  # …联席会议第五次会议
    for pat, canonical in SERIES_ALIASES:
        if pat.match(bare):
            return canonical
    return bare if len(bare) >= 6 else name


def series_of(doc: Document, cls: str, v: _View) -> tuple[str | None, tuple[int, int] | None]:
    """The canonical series name of the meeting the document reports, and its span in the text (or None
    when the name comes from the title)."""
    if cls in ("other",):
        return None, None
    text, title = v.text, v.title
    cands: list[tuple[str, tuple[int, int] | None]] = []
    sources = [(title, False), (text[:v.lead_end], True)]
    if cls.startswith("joint_meeting"):
        sources.append((text, True))
    for src, in_text in sources:
        for m in _JOINT_NAME.finditer(src):
            stem = _NAME_HE.sub(rf"\1{_HE}\2", re.sub(rf"第{_NUMERAL}[次届](?=[^第]{{0,6}}$)", "", m.group(1)))
            stem = _CUT.sub("", stem).replace(_HE, "和")
            if stem.startswith("省") and (home := _HOME_PROVINCE.search(text[:300])):
                stem = home.group(1) + stem[1:]  # 省大运河文化带建设工作联席会议 of 江苏省人民政府办公厅's letter
            stem = _ORDINAL_PREFIX.sub("", stem)
            kind = m.group(2).rstrip("议").replace("部级", "部际")
            if len(stem) < 3 or re.fullmatch(r"[^\u4e00-\u9fff]*|相关部门|有关部门|专家|[两三四五六七八九十0-9]+个?部门", stem):
                continue
            a = src.rfind("国务院", 0, m.start())
            if in_text and 0 <= a and "部际" in kind and not stem.startswith("国务院") and \
                    re.match(r"国务院(同意)?(建立|设立|成立)", src[a:a + 8]):
                stem = "国务院" + stem
            if cls == "joint_meeting_international":
                continue
            bare = stem.removeprefix("国务院") if not m.group(1).endswith(stem) else stem
            cands.append((stem + kind + "议", (m.end(1) - len(bare), m.end()) if in_text else None))
        if cands:
            break
        for m in _GROUP_NAME.finditer(src):
            stem = _CUT_KEEP_DE.sub("", m.group(1))
            stem = re.sub(r"(组长|副组长|成员)$", "", stem)
            if len(stem) <= 4:
                stem = _expand_short(stem, text, len(text))
            suffix = "全体会议" if m.group(3) == "全体会议" else "会议"
            start = m.end(1) - len(stem) if m.group(1).endswith(stem) else m.end(1)
            cands.append((stem + "领导小组" + suffix, (start, m.end()) if in_text else None))
        for m in _MECH_NAME.finditer(src):
            stem = _CUT_KEEP_DE.sub("", m.group(1))
            cands.append((stem + "工作机制会议", (m.end(1) - len(stem), m.end()) if in_text else None))
        if in_text and not cands:
            base = len(title) if title and text.startswith(title) else 0  # a headline run into the body
            for m in _NAMED_MEETING.finditer(src[base:]):
                name = _ORDINAL_PREFIX.sub("", _CUT_NAMED.sub("", m.group(1)))
                if (i := name.rfind(name[:4], 1)) > 0:  # a headline run into the body: keep the last copy
                    name = name[i:]
                if _NOT_SERIES.search(name) or len(name) < 6:
                    continue
                cands.append((name, (base + m.end(1) - len(name), base + m.end(1))))
                break
    if not cands:
        return None, None
    name, span = max(cands, key=lambda c: len(c[0]))
    name = canonical_series(name)
    if span is None:  # named in the title: point at its longest part the text repeats
        for cut in range(len(name), 3, -1):
            if (i := text.find(name[len(name) - cut:])) >= 0 or (i := text.find(name[:cut])) >= 0:
                span = (i, i + cut)
                break
    return name, span


_SESSION_PATTERNS = (
    re.compile(rf"第({_NUMERAL})次(全体)?(会议|联席会|全会)"),
    re.compile(rf"第({_NUMERAL})次[^。，、]{{0,8}}联席会"),
    re.compile(r"(首次)[^。，]{0,24}(联席会|会议|座谈会|论坛)"),
    re.compile(rf"第({_NUMERAL})届[^。，]{{2,30}}?(论坛|大会|会议|联席会|座谈会|洽谈会)"),
    re.compile(r"(首届)[^。，]{2,30}?(论坛|大会|会议|联席会|座谈会)"),
)


def session_of(text: str, start: int, end: int) -> tuple[int | None, Evidence | None]:
    """The ordinal of the session (第十九次 → 19, 第一次全体会议 → 1, 首次 → 1) within text[start:end]."""
    for pat in _SESSION_PATTERNS:
        if m := pat.search(text, start, end):
            raw = m.group(1)
            n = 1 if raw in ("首次", "首届") else cn_number(raw)
            if n:
                return n, _ev("session", str(n), text, m.start(), m.end())
    return None, None


_SOURCE_DATE = re.compile(r"^[（(]?[^。，]{0,10}[)）]?[^。，]{0,3}从[^。，]{0,30}(了解到|获悉)")
_EVENT = re.compile(r"召开|举行|举办|开幕|签署|签订|签约|开展|启动|发布|印发|达成|通过|审定|成立|建立|设立|揭牌|会议|开通|部署")


def meeting_date_of(doc: Document, v: _View, anchor: int | None) -> tuple[str | None, Evidence | None]:
    """The date of the reported meeting or act: the date expression in the sentence of the event (the class
    evidence) or else the first in the lead that is not a reporting date; 日前/近日 give None."""
    text = doc.text
    dates = find_dates(text, doc.date)
    if not dates:
        return None, None
    windows = []
    if anchor is not None:
        windows.append(_sentence(text, anchor))
    windows.append((0, v.lead_end))
    for a, b in windows:
        for d in dates:
            if not (a <= d.start < b):
                continue
            if _SOURCE_DATE.match(text[d.end:d.end + 40]):
                continue
            sa, sb = _sentence(text, d.start)
            if not _EVENT.search(text, sa, sb):
                continue
            return d.iso, Evidence("meeting_date", d.iso, d.start, d.end, d.text)
    if doc.date and (m := _find(re.compile(r"正在[^。，]{0,8}(举行|召开|举办)"), text, 0, v.lead_end)):
        return doc.date, _ev("meeting_date", doc.date, text, m.start(), m.end())
    return None, None


_LOCATION = re.compile(r"在(京|北京|[\u4e00-\u9fff]{2,3}省?[\u4e00-\u9fff]{0,4}?)(召开|举行|举办|开幕|签署|签订|建立|主持)")
_CITY = re.compile(r"(?:[\u4e00-\u9fff]{2,3}(?:省|自治区))?([\u4e00-\u9fff]{2,4}?)(?:市|区)?$")


def location_of(text: str, start: int, end: int) -> tuple[str | None, Evidence | None]:
    """The city where the meeting was held (在京 → 北京, 在浙江湖州 → 湖州)."""
    if m := _LOCATION.search(text, start, end):
        place = m.group(1)
        if place in ("京", "北京"):
            city = "北京"
        else:
            for short in sorted(_SHORT, key=len, reverse=True):
                if place.startswith(short) and len(place) > len(short):
                    place = place[len(short):].lstrip("省")
                    break
            city = place.rstrip("市")
        return city, _ev("location", city, text, m.start(1), m.end(1))
    return None, None


def codes(doc: Document, participants: tuple[Participant, ...]) -> Codes:
    """Code one document (CODEBOOK §1, §3) from its text and participants; every positive code carries
    evidence spans whose offsets index into `doc.text`."""
    from pipeline import classify

    text = doc.text
    v = _view(doc)
    evidence: list[Evidence] = []
    cls, ev, strong = doc_class(doc, participants)
    if cls != "other" and not strong:
        p_other = classify.probability_other(doc)
        if p_other is not None and p_other >= classify.VETO_THRESHOLD:
            cls, ev = "other", None
    if ev:
        evidence.append(ev)
    levels, regions, collab, cev = _collab(doc, participants, cls, v, ev.start if ev else None)
    evidence.extend(cev)
    if cls == "other":
        return Codes(doc_class=cls, levels=tuple(levels), regions=tuple(regions), evidence=tuple(evidence))
    series, span = series_of(doc, cls, v)
    depth, dev = depth_of(text, cls, span, v.title)
    if dev:
        evidence.append(dev)
    institutions, iev = institutions_of(text)
    evidence.extend(iev)
    vertical = False
    if m := _VERTICAL.search(text):
        vertical = True
        evidence.append(_ev("vertical_guidance", "true", text, m.start(), m.end()))
    anchor = ev.start if ev else None
    if series and span:
        evidence.append(Evidence("series", series, span[0], span[1], text[span[0]:span[1]]))
    session, sev = None, None
    if series or cls.startswith("joint_meeting"):
        a, b = (_sentence(text, span[0]) if span else (0, v.lead_end))
        session, sev = session_of(text, min(a, 0 if span is None else a), b)
        if session is None and cls == "joint_meeting_international" and anchor is not None:
            session, sev = session_of(text, *_sentence(text, anchor))
    if sev:
        evidence.append(sev)
    meeting_date, mev = meeting_date_of(doc, v, anchor)
    if mev:
        evidence.append(mev)
    la, lb = _sentence(text, anchor) if anchor is not None else (0, v.lead_end)
    location, lev = location_of(text, min(la, 0), max(lb, v.lead_end))
    if lev:
        evidence.append(lev)
    goals, gev = goals_of(text)
    evidence.extend(gev)
    return Codes(cls, tuple(levels), tuple(regions), tuple(collab), series, session, meeting_date, location, depth,
                 tuple(institutions), vertical, tuple(goals), tuple(evidence))
