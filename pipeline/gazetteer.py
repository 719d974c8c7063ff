"""The gazetteer: jurisdictions (GB/T 2260), central bodies with their abbreviations and names over time,
blocs, and department suffixes mapped to a sector. Read from the CSV files in `corpora/lexicons/`; its
version (a hash of those files) goes into every export."""

from __future__ import annotations

import csv
import functools
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


@dataclass(frozen=True, slots=True)
class Entry:
    """A body or jurisdiction that can be a participant."""

    name: str
    level: str
    region_code: str
    province: str
    sector: str
    kind: str  # jurisdiction | body
    valid_from: str | None = None
    valid_to: str | None = None
    successor: str | None = None
    parent_code: str | None = None


@dataclass(frozen=True, slots=True)
class Department:
    """A department type of a local government: the words that name it and its full name at each level."""

    sector: str
    pattern: str  # regex alternatives after the jurisdiction name
    provincial: str
    municipal: str  # for 直辖市 and cities
    valid_from: str | None = None
    valid_to: str | None = None


@dataclass
class Gazetteer:
    entries: dict[str, Entry]
    aliases: dict[str, str]  # alias (incl. the name itself) → canonical name
    blocs: dict[str, tuple[str, ...]]
    departments: tuple[Department, ...]
    version: str
    by_code: dict[str, Entry] = field(default_factory=dict)

    def lookup(self, alias: str) -> Entry | None:
        name = self.aliases.get(alias)
        return self.entries.get(name) if name else None

    def as_of(self, entry: Entry, date: str | None) -> Entry:
        """The body's name as of `date`: follows `successor` links when the date is past `valid_to`,
        and back to the predecessor when the date is before `valid_from`."""
        if not date:
            return entry
        seen = {entry.name}
        while entry.valid_to and date >= entry.valid_to and entry.successor in self.entries:
            entry = self.entries[entry.successor]
            if entry.name in seen:
                break
            seen.add(entry.name)
        while entry.valid_from and date < entry.valid_from:
            prev = next((e for e in self.entries.values() if e.successor == entry.name), None)
            if prev is None or prev.name in seen:
                break
            entry = prev
            seen.add(entry.name)
        return entry

    def department(self, jurisdiction: Entry, sector_words: str, date: str | None) -> tuple[str, str] | None:
        """Full name and sector of a jurisdiction's department named by `sector_words` (e.g. 发改委)."""
        for dep in self.departments:
            if re.fullmatch(dep.pattern, sector_words):
                if date and ((dep.valid_to and date >= dep.valid_to) or (dep.valid_from and date < dep.valid_from)):
                    continue
                base = jurisdiction.name
                suffix = dep.provincial if jurisdiction.level == "provincial" and base not in MUNICIPALITIES \
                    else dep.municipal
                return base + suffix, dep.sector
        return None


# Department words after a jurisdiction name → sector and full name (province / municipality or city).
DEPARTMENTS: tuple[Department, ...] = (
    Department("development_reform", r"发展和改革委员会|发展改革委|发改委|发展改革部门", "发展和改革委员会", "发展和改革委员会"),
    Department("public_security", r"公安厅|公安局|公安机关|公安部门", "公安厅", "公安局"),
    Department("health", r"卫生厅|卫生局|卫生部门", "卫生厅", "卫生局", None, "2013-06-01"),
    Department("health", r"卫生健康委员会|卫生健康委|卫健委|卫生健康部门|卫生部门", "卫生健康委员会", "卫生健康委员会", "2018-10-01"),
    Department("health", r"卫生和计划生育委员会|卫生计生委|卫生部门", "卫生和计划生育委员会", "卫生和计划生育委员会", "2013-06-01", "2018-10-01"),
    Department("environment", r"生态环境厅|生态环境局|生态环境部门|环保部门|环境保护部门", "生态环境厅", "生态环境局", "2018-10-01"),
    Department("environment", r"环境保护厅|环境保护局|环保厅|环保局|环保部门|环境保护部门", "环境保护厅", "环境保护局", None, "2018-10-01"),
    Department("civil_affairs", r"民政厅|民政局|民政部门", "民政厅", "民政局"),
    Department("transport", r"交通运输厅|交通运输局|交通运输委员会|交通厅|交通部门|交通运输部门", "交通运输厅", "交通运输局"),
    Department("commerce", r"商务厅|商务局|商务委员会|商务委|商务部门", "商务厅", "商务局"),
    Department("water", r"水利厅|水利局|水务局|水利部门", "水利厅", "水务局"),
    Department("education", r"教育厅|教育局|教育委员会|教委|教育部门", "教育厅", "教育局"),
    Department("justice", r"司法厅|司法局|司法部门", "司法厅", "司法局"),
    Department("finance", r"财政厅|财政局|财政部门", "财政厅", "财政局"),
    Department("human_resources", r"人力资源和社会保障厅|人力资源社会保障厅|人社厅|人力资源和社会保障局|人社局|人社部门",
               "人力资源和社会保障厅", "人力资源和社会保障局"),
    Department("natural_resources", r"自然资源厅|自然资源局|自然资源部门", "自然资源厅", "自然资源局", "2018-10-01"),
    Department("natural_resources", r"林业和草原局|林草局|林业局|林业部门", "林业和草原局", "林业局"),
    Department("agriculture", r"农业农村厅|农业农村局|农业农村委员会|农业农村部门", "农业农村厅", "农业农村局", "2018-10-01"),
    Department("agriculture", r"农业厅|农业局|农业部门", "农业厅", "农业局", None, "2018-10-01"),
    Department("housing", r"住房和城乡建设厅|住房城乡建设厅|住建厅|住房和城乡建设局|住建局|住房和城乡建设委员会|住建部门",
               "住房和城乡建设厅", "住房和城乡建设局"),
    Department("emergency", r"应急管理厅|应急管理局|应急管理部门|应急部门", "应急管理厅", "应急管理局", "2018-10-01"),
    Department("market_regulation", r"市场监督管理局|市场监管局|市场监管部门", "市场监督管理局", "市场监督管理局", "2018-10-01"),
    Department("culture_tourism", r"文化和旅游厅|文化和旅游局|文旅厅|文旅局|文化旅游部门|文旅部门", "文化和旅游厅", "文化和旅游局", "2018-10-01"),
    Department("science_technology", r"科学技术厅|科技厅|科学技术局|科技局|科学技术委员会|科委|科技部门", "科学技术厅", "科学技术局"),
    Department("industry_it", r"工业和信息化厅|工信厅|经济和信息化委员会|经信委|工业和信息化局|工信局|经信部门|工信部门",
               "工业和信息化厅", "经济和信息化委员会"),
    Department("legislature", r"人大常委会|人民代表大会常务委员会", "人民代表大会常务委员会", "人民代表大会常务委员会"),
    Department("general", r"人民政府办公厅|政府办公厅|办公厅", "人民政府办公厅", "人民政府办公厅"),
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def load_gazetteer(folder: Path | str) -> Gazetteer:
    """Read the gazetteer CSVs in `folder` once per process."""
    folder = Path(folder)
    files = sorted(folder.glob("*.csv"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    entries: dict[str, Entry] = {}
    aliases: dict[str, str] = {}
    codes: dict[str, Entry] = {}
    province_of: dict[str, str] = {}
    jur_rows = _read_csv(folder / "jurisdictions.csv")
    for row in jur_rows:
        if row["level"] == "provincial":
            province_of[row["code"][:2]] = row["name"]
    for row in jur_rows:
        e = Entry(row["name"], row["level"], row["code"], province_of.get(row["code"][:2], ""), "general",
                  "jurisdiction", parent_code=row.get("parent_code") or None)
        entries.setdefault(e.name, e)
        codes[e.region_code] = e
        for a in [e.name, *filter(None, (row.get("aliases") or "").split("|"))]:
            aliases.setdefault(a, e.name)
    for row in _read_csv(folder / "central_bodies.csv"):
        e = Entry(row["name"], "national", "000000", "", row["sector"], "body",
                  row.get("valid_from") or None, row.get("valid_to") or None, row.get("successor") or None)
        entries[e.name] = e
        for a in [e.name, *filter(None, (row.get("aliases") or "").split("|"))]:
            aliases.setdefault(a, e.name)
    blocs = {r["bloc"]: tuple(r["members"].split("|")) for r in _read_csv(folder / "blocs.csv")}
    return Gazetteer(entries, aliases, blocs, DEPARTMENTS, h.hexdigest()[:12], codes)


def level_of(gaz: Gazetteer, name: str) -> str | None:
    """The level of a normalised participant name: its own entry, else the jurisdiction its name starts with
    (江苏省发展和改革委员会 → provincial), else national for central-sounding names, else None."""
    if name in gaz.entries:
        return gaz.entries[name].level
    best: Entry | None = None
    for n, e in gaz.entries.items():
        if e.kind == "jurisdiction" and name.startswith(n) and (best is None or len(n) > len(best.name)):
            best = e
    if best is not None:
        return best.level
    if name.startswith(("国务院", "中共中央", "中央", "国家", "全国")) or name.endswith(("部", "总局", "总署")):
        return "national"
    return None
