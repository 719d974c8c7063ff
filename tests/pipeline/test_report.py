"""report.html: self-contained, charts present, the evidence browser marks every span, and headless Chromium
renders it with Chinese glyphs (not empty boxes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import report
from pipeline.settings import ExportSettings
from pipeline.store import Store
from tests.pipeline.test_export import DOCS, make_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("report") / "corpus.duckdb")


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package `chromium`)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_marked_text_nests_overlapping_spans_and_reports_bad_offsets() -> None:
    text = "上海市、江苏省共同签署合作协议。"
    parts = [{"start": 0, "end": 3, "label": "上海市 · provincial"}, {"start": 4, "end": 7, "label": "江苏省"}]
    ev = [{"start": 4, "end": 13, "label": "depth=3"}, {"start": 10, "end": 99, "label": "broken"}]
    out, problems = report.marked_text(text, parts, ev)
    assert '<span id="p-0" class="lab lp">上海市 · provincial</span><mark class="p"' in out
    assert '<mark class="e p" title="江苏省; depth=3">江苏省</mark>' in out
    assert '<mark class="e" title="depth=3">共同签署合作</mark>' in out
    assert re.sub(r"<[^>]+>", "", re.sub(r'<span id="[^"]+" class="lab[^"]*">[^<]*</span>', "", out)) == text
    assert problems == ["e-1: offsets 10–99 do not fit a text of 16 characters"]


def test_report_is_self_contained_with_charts_and_browser(store_path, tmp_path) -> None:
    with Store(store_path, read_only=True) as store:
        path = report.write(store, tmp_path, ExportSettings())
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing to fetch from anywhere
    for anchor in ("meetings", "scale", "depth", "institutions", "network", "prevalence", "terms", "quarantine",
                   "browser"):
        assert f'<section id="{anchor}">' in page, anchor
    assert page.count("<svg") >= 7
    assert "corpus/broken.pdf: encrypted PDF" in page
    index = json.loads(re.search(r'id="jmm-index">(.*?)</script>', page).group(1))
    assert len(index["docs"]) == 4 and "国家发展和改革委员会" in index["names"]
    chunk = json.loads(re.search(r'id="chunk-0">(.*?)</script>', page).group(1).replace("<\\/", "</"))
    first = chunk["a" * 64]
    assert first.count('class="lab lp"') == 4 and first.count('class="lab le"') == 3
    assert 'data-go="e-0"' in first and '<span id="e-0" class="lab le">depth=3</span>' in first
    assert not (tmp_path / report.CHUNK_DIR).exists()


_NETWORK_CODE = """
import datetime, hashlib, pandas as pd
from pipeline import export, report
groups = [['北京市', '天津市', '河北省'], ['上海市', '江苏省', '浙江省', '安徽省'], ['重庆市', '四川省'], ['北京市', '上海市']]
names = [n for g in groups for n in g] + [f'机构{i}' for i in range(60)]
docs = [f'd{i}' for i, g in enumerate(groups) for _ in g] + ['dx'] * 60
ids = [f'd{i}' for i in range(len(groups))]
fr = {'participants': pd.DataFrame({'doc_id': docs, 'name': names, 'level': 'provincial', 'province': names,
                                    'region_code': '110000', 'sector': 'general', 'role': 'member'}),
      'meetings': pd.DataFrame({'meeting_id': [f'm{i}' for i in range(len(groups))], 'year': 2020,
                                'doc_ids': ids, 'blocs': ['京津冀', '长三角', '成渝', None], 'cross_regional': True,
                                'cross_level': False, 'cross_departmental': False}),
      'documents': pd.DataFrame({'doc_id': ids + ['dx'], 'date': datetime.date(2020, 1, 1)})}
fr['edges'] = export.edges(fr)
print(hashlib.sha256(report.network_svg(fr, 60)[0].encode()).hexdigest())
"""


def test_network_chart_is_the_same_in_every_process() -> None:
    """The network SVG does not depend on Python's string hashing, so a resumed run writes the same report. With
    few bodies shown among many, networkx walks the shown ones in a set's order and holds each edge either way
    round; before the fix this fixture gave three different pictures over six hash seeds."""
    root = Path(__file__).resolve().parents[2]
    digests = {subprocess.run([sys.executable, "-c", _NETWORK_CODE], cwd=root, capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in "123456"}
    assert len(digests) == 1, digests


def test_large_corpora_get_lazy_chunk_files(store_path, tmp_path) -> None:
    with Store(store_path, read_only=True) as store:
        path = report.write(store, tmp_path, ExportSettings(evidence_inline_mb=0, evidence_chunk=3))
    chunks = sorted((tmp_path / report.CHUNK_DIR).glob("chunk-*.js"))
    assert [c.name for c in chunks] == ["chunk-0000.js", "chunk-0001.js"]
    assert chunks[1].read_text(encoding="utf-8").startswith("JMM_CHUNK(1, {")
    assert 'id="chunk-0"' not in path.read_text(encoding="utf-8")


def test_report_renders_chinese_in_headless_chromium(store_path, tmp_path) -> None:
    """Screenshot the report, and check that its own font stack gives Chinese glyphs: each character of a
    heading rendered in a cell of its own must differ from the others, which missing-glyph boxes do not."""
    from PIL import Image, ImageChops, ImageStat

    with Store(store_path, read_only=True) as store:
        path = report.write(store, tmp_path / "out", ExportSettings(evidence_inline_mb=0))
    doc = "b" * 64
    shot = tmp_path / "report.png"
    r = _chromium([f"--screenshot={shot}", "--window-size=1280,1600", path.as_uri()], tmp_path)
    assert shot.is_file(), r.stderr[-2000:]
    img = Image.open(shot).convert("L")
    assert ImageStat.Stat(img).stddev[0] > 20  # not a blank page
    header = img.crop((0, 0, 1280, 60))
    assert ImageStat.Stat(header).mean[0] < 120  # the dark header bar with its title
    assert ImageStat.Stat(img.crop((0, 160, 800, 480))).stddev[0] > 20  # the first chart
    # the evidence browser opened the document from its lazily loaded chunk
    dom = _chromium(["--virtual-time-budget=4000", "--dump-dom", f"{path.as_uri()}#doc={doc}"], tmp_path).stdout
    assert "京津冀协同发展联席会议第三次会议召开" in dom.split('<div id="doc">', 1)[1][:400]
    assert '<mark class="p"' in dom and "4 / 4 documents" in dom

    page = path.read_text(encoding="utf-8")
    css = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    title = "联席会议研究报告"
    assert title in page

    def cells(chars: str, name: str) -> list:
        spans = "".join(f'<span style="display:inline-block;width:80px;height:80px">{c}</span>' for c in chars)
        probe = tmp_path / f"{name}.html"
        probe.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head>'
                         f'<body style="margin:0;background:#fff;color:#000"><div style="font-size:64px;'
                         f'line-height:80px;white-space:nowrap">{spans}</div></body></html>', encoding="utf-8")
        png = tmp_path / f"{name}.png"
        _chromium([f"--screenshot={png}", "--window-size=800,400", probe.as_uri()], tmp_path)
        im = Image.open(png).convert("L")
        return [im.crop((i * 80, 0, i * 80 + 80, 80)) for i in range(len(chars))]

    def distinct(crops: list) -> bool:
        inked = all(ImageStat.Stat(c).stddev[0] > 10 for c in crops)
        differ = all(ImageChops.difference(a, b).getbbox() is not None
                     for i, a in enumerate(crops) for b in crops[i + 1:])
        return inked and differ

    assert distinct(cells(title[:6], "cjk")), "Chinese characters render as identical boxes or not at all"
    # the check can fail: unassigned code points render as identical missing-glyph boxes
    assert not distinct(cells("\u0378\u0379\u0380\u0381", "tofu"))


def chart_numbers(page: str) -> dict:
    """The numbers every chart of a report draws (its `jmm-charts` JSON)."""
    return json.loads(re.search(r'id="jmm-charts">(.*?)</script>', page).group(1).replace("<\\/", "</"))


def assert_charts_match_panel(page: str, panel) -> int:
    """Each value a chart draws equals the panel's value for its year, bloc and measure (a year the panel has no
    row for is drawn as nothing); returns how many values were compared."""
    import pandas as pd

    panel = panel.assign(year=pd.to_numeric(panel["year"], errors="coerce"))
    got = {(int(y), b, m): v for y, b, m, v in zip(panel["year"], panel["bloc"], panel["measure"], panel["value"])
           if y == y}
    n = 0
    for anchor, series in chart_numbers(page).items():
        for s in series:
            for year, value in zip(s["years"], s["values"]):
                want = got.get((year, s["bloc"], s["measure"]))
                want = None if want is None or want != want else float(want)
                assert (value is None and want is None) or abs(value - want) < 1e-9, (anchor, s["bloc"],
                                                                                    s["measure"], year, value, want)
                n += 1
    return n


def test_every_chart_draws_the_panels_numbers(store_path, tmp_path) -> None:
    from pipeline import export

    with Store(store_path, read_only=True) as store:
        path = report.write(store, tmp_path, ExportSettings())
        panel = export.tables(store, ExportSettings())["panel"]
    page = path.read_text(encoding="utf-8")
    numbers = chart_numbers(page)
    assert {"meetings", "scale", "depth", "institutions", "guidance", "blocs", "bloc-types"} <= set(numbers)
    assert assert_charts_match_panel(page, panel) >= 50
    for anchor in ("guidance", "blocs", "bloc-types", "topics"):
        assert f'<section id="{anchor}">' in page, anchor
    index = json.loads(re.search(r'id="jmm-index">(.*?)</script>', page).group(1))
    assert index["blocs"] == ["京津冀", "长三角"] and "f-bloc" in page and "f-region" in page
    by_id = {d[0]: d for d in index["docs"]}
    assert [index["blocs"][i] for i in by_id["b" * 64][7]] == ["京津冀"]  # the bloc of the meeting it reports


def test_labels_overlap_neither_each_other_nor_nodes() -> None:
    nodes = [("上海市", 100, 100, 8), ("江苏省", 108, 100, 8), ("浙江省", 100, 110, 6), ("安徽省", 300, 300, 5),
             ("国家发展和改革委员会", 590, 50, 5)]
    placed = report.place_labels(nodes, 600, 400)
    assert set(placed) >= {"上海市", "安徽省", "国家发展和改革委员会"}
    boxes = []
    for name, (x, y, anchor) in placed.items():
        w = report._text_width(name)
        left = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        boxes.append((left, y - 11, left + w, y + 2))
        assert 0 <= left and left + w <= 600
    assert not any(report._overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert placed["国家发展和改革委员会"][2] == "end"  # no room on the right: the label goes left


def test_network_labels_do_not_overlap_and_a_dense_network_is_a_matrix(store_path, tmp_path) -> None:
    frames: dict = {}
    exec(_NETWORK_CODE.replace("print(", "_unused = ("), {"__builtins__": __builtins__}, frames)
    svg, shown, _total, kind = report.network_svg(frames["fr"], 60)
    assert kind == "graph" and shown == 9
    boxes = []
    for x, y, anchor, name in re.findall(r'<text data-n="\d+" x="([\d.]+)" y="([\d.]+)" class="nl" '
                                         r'text-anchor="(\w+)">([^<]+)</text>', svg):
        w = report._text_width(name)
        left = float(x) if anchor == "start" else float(x) - w if anchor == "end" else float(x) - w / 2
        boxes.append((left, float(y) - 11, left + w, float(y) + 2))
    assert len(boxes) >= 4
    assert not any(report._overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert 'data-b="京津冀"' in svg and 'data-t="R"' in svg  # ties carry their blocs and types for the filters
    with Store(store_path, read_only=True) as store:  # four provinces that all met: dense, drawn as a matrix
        page = report.write(store, tmp_path, ExportSettings()).read_text(encoding="utf-8")
    assert '<svg class="chart net matrix"' in page and 'id="n-bloc"' in page and 'id="n-type"' in page


def test_report_looks_the_same_without_cjk_fonts(store_path, tmp_path) -> None:
    """Headless Chromium with a fontconfig that hides every system CJK font: the report's own embedded font still
    gives every Chinese character of its title a glyph of its own (glyph coverage of a screenshot), the page
    looks as it does with the system fonts, and the same page without its embedded font shows boxes."""
    from PIL import Image, ImageChops, ImageStat

    with Store(store_path, read_only=True) as store:
        path = report.write(store, tmp_path / "out", ExportSettings())
    page = path.read_text(encoding="utf-8")
    assert "@font-face" in page and "font-src data:" in page
    conf = tmp_path / "fonts.conf"  # the system's configuration (same rendering settings), CJK fonts rejected
    reject = "".join(f"<glob>{g}</glob>" for g in ("*CJK*", "*cjk*", "*wqy*", "*arphic*", "*Droid*", "*/noto/*CJK*",
                                                    "*SourceHan*", "*uming*", "*ukai*"))
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                    f'<selectfont><rejectfont>{reject}</rejectfont></selectfont></fontconfig>', encoding="utf-8")
    hidden = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, env=hidden).stdout
    assert listed.strip() == "", listed  # no CJK font is left to fall back on

    def shot(html: Path, name: str, env: dict | None) -> Image.Image:
        if CHROMIUM is None:
            pytest.skip("chromium is not installed (Debian package `chromium`)")
        png = tmp_path / f"{name}.png"
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / ('profile-' + name)}", "--window-size=1200,700", f"--screenshot={png}",
               html.as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert png.is_file(), r.stderr[-2000:]
        return Image.open(png).convert("L")

    def glyph_coverage(css: str, name: str, chars: str = "联席会议研究报告") -> int:
        """Distinct inked glyph images among `chars`, each drawn in a cell of its own with the report's styles
        (its font stack, and its embedded font unless `css` drops it), screenshot under the hidden fonts."""
        spans = "".join(f'<span style="display:inline-block;width:80px;height:80px">{c}</span>' for c in chars)
        probe = tmp_path / f"{name}.html"
        probe.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head>'
                         f'<body style="margin:0;background:#fff;color:#000"><div style="font-size:64px;'
                         f'line-height:80px;white-space:nowrap">{spans}</div></body></html>', encoding="utf-8")
        img = shot(probe, name, hidden)
        cells = [img.crop((i * 80, 0, i * 80 + 80, 80)).point(lambda v: 0 if v > 128 else 255)
                 for i in range(len(chars))]
        return len({c.tobytes() for c in cells if ImageStat.Stat(c).mean[0] > 5})

    css = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert glyph_coverage(css, "probe-embedded") == 8  # 联席会议研究报告: eight different glyphs
    assert glyph_coverage(re.sub(r"@font-face\{[^}]*\}", "", css), "probe-control") <= 2  # boxes look alike
    control = tmp_path / "control.html"  # the same page without its embedded font
    control.write_text(re.sub(r"@font-face\{[^}]*\}", "", page, count=1), encoding="utf-8")
    embedded, without = shot(path, "embedded", hidden), shot(control, "control", hidden)
    system = shot(path, "system", None)
    header = (0, 0, 1200, 118)
    diff = ImageStat.Stat(ImageChops.difference(embedded.crop(header), system.crop(header))).mean[0]
    assert diff < 1.0, diff  # with or without system CJK fonts, the page looks the same
    assert ImageStat.Stat(ImageChops.difference(embedded.crop(header), without.crop(header))).mean[0] > 2
