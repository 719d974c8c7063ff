"""Write report.html: one self-contained page (no request leaves the machine when it is opened) with the charts
a paper needs and an evidence browser.

Charts are inline SVG drawn here, their text left as text (selectable) in a font embedded in the page: the
glyphs the report uses, subset from the project's CJK font (pipeline/fonts/, OFL), so the page looks the same on
a machine without CJK fonts. Every chart is drawn from the `panel` table (its numbers are in the page as JSON,
`jmm-charts`, and a test compares them with panel.csv). The evidence browser lists every document (search; filter by year,
class, collaboration type, participant) and shows a document's text with each participant mention and each
evidence span highlighted and labelled, its codes linked to their spans. Document texts come in chunks of
`evidence_chunk` documents, parsed only when opened: inside report.html up to `evidence_inline_mb` of text, else
as `report_files/chunk-NNNN.js` beside it (loaded by <script>, which works from file:// without a server).

The page holds no timestamp: the same store and settings give the same bytes."""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import export as export_stage
from pipeline.records import COLLAB_TYPES, INSTITUTIONS, LEVELS
from pipeline.settings import ExportSettings
from pipeline.store import Store

log = logging.getLogger(__name__)

#: The project's CJK font (a subset of Noto Sans CJK SC, OFL: pipeline/fonts/OFL.txt); the report embeds the
#: glyphs it uses, so it looks the same on a machine without CJK fonts.
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "JMMSansSC-Regular.otf"
EMBEDDED_FAMILY = "JMM Sans SC"
FONT = (f'"{EMBEDDED_FAMILY}", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
        '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "Droid Sans Fallback", sans-serif')
#: Okabe–Ito colours (safe for colour-blind readers), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
COLLAB_LABELS = {"cross_regional": "跨区域 cross-regional", "cross_level": "跨层级 cross-level",
                 "cross_departmental": "跨部门 cross-departmental"}
LEVEL_COLOURS = dict(zip(LEVELS, PALETTE))
INSTITUTION_LABELS = {"secretariat": "常设办公室 secretariat", "rotation": "轮值 rotation",
                      "charter": "章程制度 charter", "agreement": "协议 agreement", "fund": "资金 fund",
                      "working_groups": "专题组 working groups"}
DEPTH_LABELS = {1: "1 信息交流", 2: "2 协商协调", 3: "3 共同协议规划", 4: "4 联合实施"}
CHUNK_DIR = "report_files"


# -- SVG charts -------------------------------------------------------------------------------------------------
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(v: float) -> tuple[float, float]:
    """A round upper bound of the axis and the tick step."""
    if v <= 0:
        return 1.0, 0.25
    raw = v / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return step * math.ceil(v / step - 1e-9), step


def _fmt(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.0f}%"
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"


def _legend_rows(series: Sequence[Mapping[str, Any]], width: float) -> list[tuple[float, Mapping[str, Any], int]]:
    """(x, series, row) of each legend entry, wrapped to `width` (text width estimated: 11 px a CJK character)."""
    out, x, row = [], 0.0, 0
    for s in series:
        name = str(s["name"])
        w = 24 + sum(11 if ord(ch) > 0x2e80 else 6.2 for ch in name)
        if x and x + w > width:
            x, row = 0.0, row + 1
        out.append((x, s, row))
        x += w
    return out


def chart(categories: Sequence[str], series: Sequence[Mapping[str, Any]], kind: str = "bar", title: str = "",
          ylabel: str = "", percent: bool = False, stacked: bool = False, width: int = 760, height: int = 300,
          ymax: float | None = None, legend: bool = True) -> str:
    """An SVG chart over categorical x (e.g. years). Each series: name, values (None = no value), and for line
    charts optional `low`/`high` for a shaded interval. kind: bar (grouped, or stacked) or line."""
    items = _legend_rows(series, width - 56) if legend else []
    rows = (items[-1][2] + 1) if items else 0
    left, right, top, bottom = 56, 12, 30 if title else 12, 34 + 18 * rows
    w, h = width - left - right, height - top - bottom
    n = max(1, len(categories))
    vals = [v for s in series for v in list(s["values"]) + list(s.get("high") or []) if v is not None]
    if stacked:
        vals = [sum((s["values"][i] or 0) for s in series) for i in range(len(categories))] or [0]
    top_v, step = _nice_max(ymax if ymax is not None else (max(vals) if vals else 1))
    y = lambda v: top + h - (v / top_v) * h  # noqa: E731
    x0 = lambda i: left + i * w / n  # noqa: E731
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">']
    if title:
        out.append(f'<text x="{left}" y="18" class="ct">{_e(title)}</text>')
    t = 0.0
    while t <= top_v + 1e-9:
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y(t):.1f}" y2="{y(t):.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y(t) + 4:.1f}" class="tick" text-anchor="end">{_fmt(t, percent)}</text>')
        t += step
    if ylabel:
        out.append(f'<text transform="translate(14,{top + h / 2:.0f}) rotate(-90)" class="ax" '
                   f'text-anchor="middle">{_e(ylabel)}</text>')
    every = max(1, math.ceil(n / (w / 42)))
    for i, c in enumerate(categories):
        if i % every == 0:
            out.append(f'<text x="{x0(i) + w / n / 2:.1f}" y="{top + h + 16}" class="tick" '
                       f'text-anchor="middle">{_e(c)}</text>')
    if kind == "bar":
        groups = 1 if stacked else max(1, len(series))
        bw = (w / n) * 0.8 / groups
        base = [0.0] * len(categories)
        for j, s in enumerate(series):
            colour = s.get("colour", PALETTE[j % len(PALETTE)])
            for i, v in enumerate(s["values"]):
                if not v:
                    continue
                bx = x0(i) + (w / n) * 0.1 + (0 if stacked else j * bw)
                y1, y2 = y(base[i] + v), y(base[i])
                out.append(f'<rect x="{bx:.1f}" y="{y1:.1f}" width="{max(bw - 1, 1):.1f}" '
                           f'height="{max(y2 - y1, 0.5):.1f}" fill="{colour}"><title>{_e(s["name"])}, '
                           f'{_e(categories[i])}: {_fmt(v, percent) if percent else _e(round(v, 3))}</title></rect>')
                if stacked:
                    base[i] += v
    else:
        for j, s in enumerate(series):
            colour = s.get("colour", PALETTE[j % len(PALETTE)])
            cx = lambda i: x0(i) + w / n / 2  # noqa: E731
            if s.get("low") is not None and s.get("high") is not None:
                pts = [(i, lo, hi) for i, (lo, hi) in enumerate(zip(s["low"], s["high"])) if lo is not None]
                if pts:
                    poly = [f"{cx(i):.1f},{y(hi):.1f}" for i, _lo, hi in pts]
                    poly += [f"{cx(i):.1f},{y(lo):.1f}" for i, lo, _hi in reversed(pts)]
                    out.append(f'<polygon points="{" ".join(poly)}" fill="{colour}" opacity="0.18"/>')
            pts = [(i, v) for i, v in enumerate(s["values"]) if v is not None]
            if len(pts) > 1:  # a year without a value breaks the line: no slope is drawn across it
                d = " ".join(f"{'M' if k == 0 or pts[k - 1][0] != i - 1 else 'L'}{cx(i):.1f},{y(v):.1f}"
                             for k, (i, v) in enumerate(pts))
                out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for i, v in pts:
                out.append(f'<circle cx="{cx(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>'
                           f'{_e(s["name"])}, {_e(categories[i])}: {_fmt(v, percent) if percent else round(v, 3)}'
                           f'</title></circle>')
    out.append(f'<line x1="{left}" x2="{left + w}" y1="{top + h}" y2="{top + h}" class="axis"/>')
    for j, (x, s, row) in enumerate(items):
        colour = s.get("colour", PALETTE[j % len(PALETTE)])
        ly = top + h + 38 + 18 * row
        out.append(f'<rect x="{left + x}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{left + x + 14}" y="{ly}" class="lg">{_e(s["name"])}</text>')
    out.append("</svg>")
    return "".join(out)


def _text_width(text: str, size: float = 11.0) -> float:
    """Estimated width of a label in px: a CJK character is one em, other characters ~0.56 em."""
    return sum(size if ord(ch) > 0x2E80 else 0.56 * size for ch in text)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(nodes: Sequence[tuple[str, float, float, float]], width: float, height: float,
                 size: float = 11.0) -> dict[str, tuple[float, float, str]]:
    """Labels that overlap neither each other nor any node: for each node (name, x, y, radius), most important
    first, the first of right, left, above, below where its box fits inside the picture; a node with no room
    stays unlabelled (its name is in its tooltip). Returns name → (x, y, text-anchor)."""
    circles = [(x - r, y - r, x + r, y + r) for _n, x, y, r in nodes]
    placed: list[tuple[float, float, float, float]] = []
    out = {}
    for name, x, y, r in nodes:
        w, h = _text_width(name, size), size + 2
        for lx, ly, anchor, box in (
                (x + r + 2, y + size / 3, "start", (x + r + 2, y - h / 2, x + r + 2 + w, y + h / 2)),
                (x - r - 2, y + size / 3, "end", (x - r - 2 - w, y - h / 2, x - r - 2, y + h / 2)),
                (x, y - r - 3, "middle", (x - w / 2, y - r - 3 - h, x + w / 2, y - r - 3)),
                (x, y + r + h, "middle", (x - w / 2, y + r + 2, x + w / 2, y + r + 2 + h))):
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
                continue
            if any(_overlaps(box, b) for b in placed) or any(_overlaps(box, c) for c in circles):
                continue
            placed.append(box)
            out[name] = (lx, ly, anchor)
            break
    return out


def _edge_tags(frames: Mapping[str, pd.DataFrame]) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """For each co-participation pair: the blocs and the collaboration types (R, L, D) of the meetings behind it."""
    m = frames["meetings"]
    tags_of: dict[str, tuple[set[str], set[str]]] = {}
    for r in m.itertuples(index=False):
        blocs = set(_text(r.blocs).split(";")) - {""}
        types = {c for c, t in zip("RLD", COLLAB_TYPES) if getattr(r, t) is True}
        tags_of[r.meeting_id] = (blocs, types)
    e = frames["edges"]
    out: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for a, b, kind, ids in zip(e["source"], e["target"], e["kind"], e["meeting_ids"]):
        if kind != "co_participation":
            continue
        bl, ty = out[(a, b)]
        for mid in _text(ids).split(";"):
            if mid in tags_of:
                bl.update(tags_of[mid][0])
                ty.update(tags_of[mid][1])
    return out


def packed_layout(g: Any, width: float, height: float, seed: int = 42, margin: float = 60.0
                  ) -> dict[str, tuple[float, float]]:
    """Pixel positions for a graph of several components: each component laid out by force (fixed seed) in a
    square whose side grows with the root of its size, the squares packed in rows (largest first) and scaled to
    fill `width` × `height`, so that no component is squeezed into a corner."""
    import networkx as nx

    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c[0]))
    local = []
    for c in comps:
        h = nx.Graph()  # not g.subgraph(c): a view walks its nodes in a set's order, which varies by process
        h.add_nodes_from(c)
        h.add_edges_from(sorted((min(a, b), max(a, b), d) for a, b, d in g.subgraph(c).edges(data=True)))
        p = nx.spring_layout(h, seed=seed, weight="weight", iterations=200, k=1.5 / math.sqrt(len(c))) \
            if len(c) > 1 else {c[0]: (0.0, 0.0)}
        xs, ys = [v[0] for v in p.values()], [v[1] for v in p.values()]
        local.append({n: ((v[0] - min(xs)) / ((max(xs) - min(xs)) or 1), (v[1] - min(ys)) / ((max(ys) - min(ys)) or 1))
                      for n, v in p.items()})
    sides = [math.sqrt(len(c)) for c in comps]
    scale = 1.0
    while True:  # shelf packing; shrink until the rows fit the height
        x = y = row_h = 0.0
        cells = []
        for side in sides:
            w = side * scale + margin
            if x and x + w > width:
                x, y, row_h = 0.0, y + row_h, 0.0
            cells.append((x, y, side * scale))
            x += w
            row_h = max(row_h, w)
        if y + row_h <= height or scale < 1.0:
            break
        scale *= 0.95
        if scale * max(sides) < 10:
            break
    if y + row_h <= height:  # grow until the packing fills the picture
        while True:
            bigger = scale * 1.05
            x = y = row_h = 0.0
            trial = []
            for side in sides:
                w = side * bigger + margin
                if x and x + w > width:
                    x, y, row_h = 0.0, y + row_h, 0.0
                trial.append((x, y, side * bigger))
                x += w
                row_h = max(row_h, w)
            if y + row_h > height or any(cx + c + margin > width for cx, _cy, c in trial):
                break
            scale, cells = bigger, trial
    out = {}
    for (cx, cy, size), pos in zip(cells, local):
        for n, (u, v) in pos.items():
            out[n] = (cx + margin / 2 + u * size, cy + margin / 2 + v * size)
    return out


def network_svg(frames: Mapping[str, pd.DataFrame], max_nodes: int, width: int = 960, height: int = 680,
                seed: int = 42, dense: float = 0.35) -> tuple[str, int, int, str]:
    """The co-participation network of the best-connected bodies (by meetings together, `max_nodes` at most):
    a force layout with a fixed seed, colour by level, labels placed so that none overlaps another or a node;
    or, when the network is dense (more than `dense` of the possible ties), an adjacency matrix. Every line
    (cell) and node carries the blocs (data-b) and collaboration types (data-t: R, L, D) of its meetings, for the
    filters. Returns (svg, nodes shown, nodes in all, "graph" or "matrix")."""
    import networkx as nx

    g = export_stage.network(frames)
    if g.number_of_edges() == 0:
        return "", 0, g.number_of_nodes(), ""
    strength = dict(g.degree(weight="weight"))
    keep = sorted((n for n in g if strength[n] > 0), key=lambda n: (-strength[n], n))[:max_nodes]
    sub = nx.Graph()
    sub.add_nodes_from(sorted(keep))
    sub.add_edges_from(sorted((min(a, b), max(a, b), d) for a, b, d in g.subgraph(keep).edges(data=True)))
    tags = _edge_tags(frames)
    index = {n: i for i, n in enumerate(sorted(sub))}

    def attrs(a: str, b: str) -> str:
        bl, ty = tags.get((min(a, b), max(a, b)), (set(), set()))
        return (f'class="nf" data-a="{index[a]}" data-z="{index[b]}" data-b="{_e("|".join(sorted(bl)))}" '
                f'data-t="{"".join(sorted(ty))}"')

    n = len(sub)
    density = 2 * sub.number_of_edges() / (n * (n - 1)) if n > 1 else 0.0
    wmax = max(d["weight"] for _a, _b, d in sub.edges(data=True))
    if density > dense:
        order = sorted(sub, key=lambda x: (LEVELS.index(g.nodes[x].get("level")) if g.nodes[x].get("level") in LEVELS
                                           else len(LEVELS), -strength[x], x))
        lab = max(_text_width(x) for x in order) + 8
        cell = max(6.0, min(16.0, (min(width, height) - lab) / max(n, 1)))
        size = lab + cell * n + 4
        out = [f'<svg class="chart net matrix" viewBox="0 0 {size:.0f} {size:.0f}" width="{size:.0f}" '
               f'height="{size:.0f}" role="img" aria-label="participant adjacency matrix" '
               'xmlns="http://www.w3.org/2000/svg">']
        for i, x in enumerate(order):
            colour = LEVEL_COLOURS.get(g.nodes[x].get("level", ""), PALETTE[-1])
            out.append(f'<text x="{lab - 4:.1f}" y="{lab + cell * i + cell * 0.8:.1f}" class="nl" text-anchor="end" '
                       f'fill="{colour}" data-n="{index[x]}">{_e(x)}</text>')
            out.append(f'<text transform="translate({lab + cell * i + cell * 0.75:.1f},{lab - 4:.1f}) rotate(-90)" '
                       f'class="nl" fill="{colour}" data-n="{index[x]}">{_e(x)}</text>')
        for i, a in enumerate(order):
            for j, b in enumerate(order):
                if i != j and sub.has_edge(a, b):
                    w = sub[a][b]["weight"]
                    out.append(f'<rect {attrs(a, b)} x="{lab + cell * j:.1f}" y="{lab + cell * i:.1f}" '
                               f'width="{cell - 1:.1f}" height="{cell - 1:.1f}" fill="#123" '
                               f'fill-opacity="{0.2 + 0.8 * w / wmax:.2f}"><title>{_e(a)} — {_e(b)}: {w} meetings'
                               f'</title></rect>')
        out.append("</svg>")
        return "".join(out), n, g.number_of_nodes(), "matrix"
    xy = packed_layout(sub, width, height - 24, seed)
    sx = lambda v: v  # noqa: E731
    sy = lambda v: v  # noqa: E731
    pos = xy
    smax = max(strength[x] for x in sub)
    radius = {x: 3 + 9 * math.sqrt(strength[x] / smax) for x in sub}
    out = [f'<svg class="chart net" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="participant network" xmlns="http://www.w3.org/2000/svg">']
    for a, b, d in sub.edges(data=True):
        out.append(f'<line {attrs(a, b)} x1="{sx(pos[a][0]):.1f}" y1="{sy(pos[a][1]):.1f}" x2="{sx(pos[b][0]):.1f}" '
                   f'y2="{sy(pos[b][1]):.1f}" stroke="#888" stroke-opacity="0.35" '
                   f'stroke-width="{0.5 + 3.5 * d["weight"] / wmax:.2f}"><title>{_e(a)} — {_e(b)}: '
                   f'{d["weight"]} meetings</title></line>')
    ranked = sorted(sub, key=lambda x: (-strength[x], x))
    labels = place_labels([(x, sx(pos[x][0]), sy(pos[x][1]), radius[x]) for x in ranked], width, height - 24)
    for x in sorted(sub, key=lambda x: (strength[x], x)):
        attrs_n = g.nodes[x]
        colour = LEVEL_COLOURS.get(attrs_n.get("level", ""), PALETTE[-1])
        out.append(f'<circle data-n="{index[x]}" cx="{sx(pos[x][0]):.1f}" cy="{sy(pos[x][1]):.1f}" '
                   f'r="{radius[x]:.1f}" fill="{colour}" stroke="#fff"><title>{_e(x)} ({_e(attrs_n.get("level", ""))}): '
                   f'{attrs_n.get("meetings", 0)} meetings</title></circle>')
    for x in ranked:
        if x in labels:
            lx, ly, anchor = labels[x]
            out.append(f'<text data-n="{index[x]}" x="{lx:.1f}" y="{ly:.1f}" class="nl" '
                       f'text-anchor="{anchor}">{_e(x)}</text>')
    lx = 10
    for level, colour in LEVEL_COLOURS.items():
        out.append(f'<circle cx="{lx + 5}" cy="{height - 10}" r="5" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="{height - 6}" class="lg">{_e(level)}</text>')
        lx += 30 + 8 * len(level)
    out.append("</svg>")
    return "".join(out), n, g.number_of_nodes(), "graph"


# -- what the charts show: the panel -------------------------------------------------------------------------------
def panel_values(panel: pd.DataFrame, bloc: str, measure: str, years: Sequence[int]) -> list[float | None]:
    """The panel's values of one bloc and measure for each year (None where the panel has no value)."""
    sub = panel[(panel["bloc"] == bloc) & (panel["measure"] == measure) & panel["year"].notna()]
    got = {int(y): (None if export_stage.isna(v) else float(v)) for y, v in zip(sub["year"], sub["value"])}
    return [got.get(y) for y in years]


def charts(frames: Mapping[str, pd.DataFrame], settings: ExportSettings
           ) -> tuple[list[tuple[str, str, str, str]], dict[str, list[dict[str, Any]]]]:
    """(anchor, heading, svg or html, caption) of every chart, in the order of the report, and the numbers each
    chart draws: anchor → [{bloc, measure, years, values}] (all from the `panel` table)."""
    panel = frames["panel"]
    data: dict[str, list[dict[str, Any]]] = {}
    out: list[tuple[str, str, str, str]] = []
    known = panel[panel["year"].notna()] if len(panel) else panel
    all_years = sorted(int(y) for y in known[known["bloc"] == "all"]["year"].unique()) if len(known) else []
    years = list(range(all_years[0], all_years[-1] + 1)) if all_years else []
    cats = [str(y) for y in years]
    undated = panel[(panel["bloc"] == "all") & panel["year"].isna() & (panel["measure"] == "meetings")] \
        if len(panel) else panel
    n_undated = int(undated["value"].sum()) if len(undated) else 0
    note = f" {n_undated} meetings without a known year are left out (panel rows with an empty year)." \
        if n_undated else ""

    def series(anchor: str, bloc: str, measure: str, name: str, colour: str, **extra: Any) -> dict[str, Any]:
        values = panel_values(panel, bloc, measure, years)
        data.setdefault(anchor, []).append({"bloc": bloc, "measure": measure, "years": years, "values": values})
        return {"name": name, "values": values, "colour": colour, **extra}

    if years:
        total = len(frames["meetings"])
        s = [series("meetings", "all", "meetings", "全部 all meetings", "#999999")]
        s += [series("meetings", "all", t, COLLAB_LABELS[t], PALETTE[i]) for i, t in enumerate(COLLAB_TYPES)]
        out.append(("meetings", "每年会议数（按合作类型） Meetings per year by collaboration type",
                    chart(cats, s, "bar", ylabel="会议 meetings"),
                    f"{total} meetings (rows of meetings.csv; panel.csv, bloc all). A meeting has a type when any "
                    f"document reporting it is coded so; types overlap, so the coloured bars of a year may sum to more "
                    f"than all.{note}"))
        med = series("scale", "all", "participants_median", "中位数 median (band: 25–75%)", PALETTE[0])
        med["low"] = series("scale", "all", "participants_p25", "p25", PALETTE[0])["values"]
        med["high"] = series("scale", "all", "participants_p75", "p75", PALETTE[0])["values"]
        mean = series("scale", "all", "participants_mean", "均值 mean", PALETTE[1])
        out.append(("scale", "每次会议的参与主体数 Participants per meeting over time",
                    chart(cats, [med, mean], "line", ylabel="参与主体 participants"),
                    "Distinct participants named in the documents that report each meeting (meetings.n_participants; "
                    "panel measures participants_median, _p25, _p75, _mean)." + note))
        depth = [series("depth", "all", f"share_depth_{d}", DEPTH_LABELS[d], PALETTE[d - 1]) for d in (1, 2, 3, 4)]
        out.append(("depth", "合作深度 Depth of collaboration over time",
                    chart(cats, depth, "bar", stacked=True, percent=True, ymax=1.0, ylabel="会议占比 share of meetings"),
                    "Share of the meetings of each year at each depth, of those with a depth code (CODEBOOK §3: the "
                    "highest over the documents reporting a meeting; panel share_depth_1 … 4)."))
        inst = [series("institutions", "all", f"share_{i}", INSTITUTION_LABELS[i], PALETTE[k])
                for k, i in enumerate(INSTITUTIONS)]
        out.append(("institutions", "制度化程度 Institutionalisation over time",
                    chart(cats, inst, "line", percent=True, ymax=1.0, ylabel="会议占比 share of meetings", height=320),
                    "Share of the meetings of each year whose documents show each institutionalisation indicator "
                    "(meetings.institutions; panel share_<indicator>)."))
        blocs = [b for b in sorted(set(panel["bloc"]) - {"all"}) if any(panel_values(panel, b, "meetings", years))]
        vg = [series("guidance", "all", "share_vertical_guidance", "全部 all meetings", "#333333")]
        out.append(("guidance", "纵向指导 Vertical guidance over time",
                    chart(cats, vg, "line", percent=True, ymax=1.0, ylabel="会议占比 share of meetings", height=280),
                    "Share of the meetings of each year in which a higher-level body directs or guides "
                    "(meetings.vertical_guidance; panel share_vertical_guidance, bloc all; each bloc's share is in "
                    "the panel too)." + note))
        if blocs:
            per = [series("blocs", b, "meetings", b, PALETTE[k % len(PALETTE)]) for k, b in enumerate(blocs)]
            out.append(("blocs", "各区域板块每年会议数 Meetings per year by bloc",
                        chart(cats, per, "bar", ylabel="会议 meetings", height=320),
                        "Meetings of each bloc (meetings.blocs, from corpora/lexicons/panel/blocs.csv: its provinces "
                        "all within the bloc and at least two taking part, or its series naming it). Blocs overlap: "
                        "a 长三角 meeting is also within 长江经济带."))
            panels = []
            for b in blocs:
                anchor = f"bloc-{b}"
                sb = [series(anchor, b, "meetings", "全部 all", "#999999")]
                sb += [series(anchor, b, t, COLLAB_LABELS[t].split(" ")[0], PALETTE[i])
                       for i, t in enumerate(COLLAB_TYPES)]
                data["bloc-types"] = data.get("bloc-types", []) + data.pop(anchor)
                panels.append(f'<div class="panel">{chart(cats, sb, "bar", title=b, width=460, height=220)}</div>')
            out.append(("bloc-types", "各区域板块的合作类型 Collaboration types per bloc", '<div class="grid">'
                        + "".join(panels) + "</div>", "Meetings per year of each bloc by collaboration type "
                        "(panel, bloc = the bloc)."))
    svg, shown, total_nodes, kind = network_svg(frames, settings.report_network_nodes)
    if svg:
        blocs_all = sorted(set(panel["bloc"]) - {"all"}) if len(panel) else []
        filters = ('<div class="filters">'
                   '<select id="n-bloc"><option value="">bloc 区域板块: all</option>'
                   + "".join(f'<option value="{_e(b)}">{_e(b)}</option>' for b in blocs_all) + '</select>'
                   '<select id="n-type"><option value="">collaboration 合作类型: all</option>'
                   + "".join(f'<option value="{c}">{_e(COLLAB_LABELS[t])}</option>' for c, t in zip("RLD", COLLAB_TYPES))
                   + '</select><span id="n-count" class="muted"></span></div>')
        what = ("an adjacency matrix (the network is dense): a dark cell joins two bodies that took part in the same "
                "meetings, darker for more; rows and columns ordered by level" if kind == "matrix" else
                "a line joins two bodies that took part in the same meeting, thicker for more meetings; size: "
                "meetings together with others; labels are placed where they overlap nothing (hover a node for "
                "its name)")
        out.append(("network", "参与主体合作网络 Participant network", filters + svg,
                    f"The {shown} best-connected of {total_nodes} participants: {what}. Colour: administrative "
                    f"level. Filter by bloc and collaboration type: only the ties formed in such meetings stay. "
                    f"edges.csv has every tie by year (kind co_participation, and convenes: host or chair → "
                    f"member); network.graphml the co-participation network for Gephi."))
    prev = frames["topic_prevalence"]
    topics = frames["topics"]
    if len(prev) and len(topics):
        out += _topic_sections(frames)
    docs = frames["documents"]
    q = docs[docs["quarantined"].fillna(False).astype(bool)] if len(docs) else docs
    rows = "".join(f"<tr><td>{_e(r.source)}</td><td><code>{_e(str(r.doc_id)[:12])}</code></td><td>{_e(r.reason)}</td>"
                   f"</tr>" for r in q.itertuples())
    out.append(("quarantine", "隔离文档 Quarantined inputs",
                f"<div class='scroll'><table><thead><tr><th>input</th><th>SHA-256</th><th>reason</th></tr></thead>"
                f"<tbody>{rows or '<tr><td colspan=3>none</td></tr>'}</tbody></table></div>",
                f"{len(q)} inputs could not be processed; `jmm status` lists them too. Their raw copies are kept."))
    return out, data


def _topic_sections(frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, str, str, str]]:
    """Topic prevalence over the dated periods (the unknown period listed apart), the topics with their quality
    metrics, and their words by period."""
    from pipeline.topics import UNKNOWN_PERIOD

    out = []
    prev, topics, metrics = frames["topic_prevalence"], frames["topics"], frames.get("topic_metrics")
    per = prev[prev["group_type"] == "period"]
    periods = sorted(p for p in per["group"].unique() if p != UNKNOWN_PERIOD)
    undated = per[per["group"] == UNKNOWN_PERIOD]
    panels = []
    for tid, label in zip(topics["topic_id"], topics["label"]):
        t = per[per["topic_id"] == tid].set_index("group")
        get = lambda col, t=t: [float(t.at[p, col]) if p in t.index else None for p in periods]  # noqa: E731
        panels.append(f'<div class="panel">{chart(periods, [{"name": label, "values": get("share"), "low": get("ci_low"), "high": get("ci_high")}], "line", title=f"T{tid} {label}", percent=True, width=300, height=190, legend=False)}</div>')
    apart = ""
    if len(undated):
        n = int(undated["n_docs"].iloc[0])
        cells = "".join(f"<td>T{int(r.topic_id)} {r.share * 100:.0f}%</td>" for r in undated.itertuples())
        apart = (f"<p class='cap'>Documents without a date ({n}) are listed apart, not on the time axis:</p>"
                 f"<table><tr><th>unknown period 日期不详</th>{cells}</tr></table>")
    out.append(("prevalence", "主题热度随时间变化 Topic prevalence over time", '<div class="grid">' + "".join(panels)
                + "</div>" + apart, "Mean share of each topic in the documents of each period, with bootstrap 95% "
                "intervals (topic_prevalence.csv, group_type = period)."))
    m = metrics if metrics is not None and len(metrics) else pd.DataFrame(columns=["topic_id", "metric", "value", "note"])
    fit = m[m["topic_id"].isna()].set_index("metric")["value"] if len(m) else pd.Series(dtype=float)
    corpus = _text(m["corpus"].iloc[0]) if len(m) and "corpus" in m else ""
    head = " · ".join(f"{k} {fit[k]:.3g}" for k in ("k", "n_docs", "npmi", "c_v", "topic_diversity", "stability")
                      if k in fit.index and not export_stage.isna(fit[k]))
    rows = ["<table class='metrics'><thead><tr><th>topic</th><th>top words</th><th>NPMI</th><th>stability</th>"
            "<th>guided / anchored words held</th></tr></thead><tbody>"]
    for tid, label, terms in zip(topics["topic_id"], topics["label"], topics["top_terms"]):
        mt = m[m["topic_id"] == tid].set_index("metric") if len(m) else pd.DataFrame()
        val = lambda k, mt=mt: (f"{mt.at[k, 'value']:.3f}" if k in mt.index and not export_stage.isna(  # noqa: E731
            mt.at[k, "value"]) else "")
        held = "; ".join(_text(mt.at[k, "note"]) for k in ("seed_words_in_top", "anchor_words_in_top") if k in mt.index)
        rows.append(f"<tr><th>T{tid} {_e(label)}</th><td>{_e(' '.join(_text(terms).split()[:10]))}</td>"
                    f"<td>{val('npmi')}</td><td>{val('stability')}</td><td>{_e(held)}</td></tr>")
    rows.append("</tbody></table>")
    out.append(("topics", "主题与质量 Topics and their quality", "<div class='scroll'>" + "".join(rows) + "</div>",
                f"The fit covers the {corpus or 'stored'} documents (topics.corpus): {head}. NPMI: coherence of a "
                f"topic's top 10 words (document co-occurrence, −1…1); stability: agreement of refits with other "
                f"seeds (topics.stability_seeds; empty when not measured). topic_metrics.csv has every value."))
    terms = frames["topic_terms_by_period"]
    if len(terms):
        tperiods = sorted(p for p in terms["period"].unique() if p != UNKNOWN_PERIOD)
        if (terms["period"] == UNKNOWN_PERIOD).any():
            tperiods.append(UNKNOWN_PERIOD)  # listed apart, after the dated periods
        top = terms[terms["rank"] <= 8]
        cell = {(int(r.topic_id), r.period): [] for r in top.itertuples()}
        for r in top.sort_values(["topic_id", "period", "rank"]).itertuples():
            cell[(int(r.topic_id), r.period)].append(r.term)
        rows = ["<table class='terms'><thead><tr><th>topic</th>" + "".join(f"<th>{_e(p)}</th>" for p in tperiods)
                + "</tr></thead><tbody>"]
        for tid, label in zip(topics["topic_id"], topics["label"]):
            rows.append(f"<tr><th>T{tid} {_e(label)}</th>" + "".join(
                f"<td>{_e(' '.join(cell.get((int(tid), p), [])))}</td>" for p in tperiods) + "</tr>")
        rows.append("</tbody></table>")
        out.append(("terms", "各时期主题词 Top words of each topic by period", "<div class='scroll'>" +
                    "".join(rows) + "</div>", "The eight best words of each topic in each period "
                    "(topic_terms_by_period.csv has the top 20 with weights)."))
    return out


# -- the evidence browser ---------------------------------------------------------------------------------------
def marked_text(text: str, participants: Iterable[Mapping[str, Any]], evidence: Iterable[Mapping[str, Any]]
                ) -> tuple[str, list[str]]:
    """The text as HTML with every participant mention (<mark class="p">) and evidence span (<mark class="e">)
    highlighted, labelled at its start and anchored (#p-i, #e-i); overlapping spans nest by splitting. Returns
    (html, problems) where problems name spans whose offsets do not fit the text."""
    spans, problems = [], []
    for kind, items in (("p", participants), ("e", evidence)):
        for i, s in enumerate(items):
            start, end = s.get("start"), s.get("end")
            if start is None or end is None or not (0 <= int(start) < int(end) <= len(text)):
                problems.append(f"{kind}-{i}: offsets {start}–{end} do not fit a text of {len(text)} characters")
                continue
            spans.append((int(start), int(end), kind, i, s["label"]))
    cuts = sorted({0, len(text), *(s[0] for s in spans), *(s[1] for s in spans)})
    starts = defaultdict(list)
    for s in spans:
        starts[s[0]].append(s)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        for start, _end, kind, i, label in sorted(starts.get(a, []), key=lambda s: (s[2], s[3])):
            out.append(f'<span id="{kind}-{i}" class="lab l{kind}">{_e(label)}</span>')
        active = [s for s in spans if s[0] <= a and s[1] >= b]
        seg = _e(text[a:b])
        if active:
            kinds = sorted({s[2] for s in active})
            title = "; ".join(s[4] for s in active)
            out.append(f'<mark class="{" ".join(kinds)}" title="{_e(title)}">{seg}</mark>')
        else:
            out.append(seg)
    return "".join(out), problems


def document_html(doc: Mapping[str, Any], participants: list[dict[str, Any]], evidence: list[dict[str, Any]],
                  codes: Mapping[str, Any]) -> str:
    """One document's page of the evidence browser: its codes (each linked to its evidence spans), its
    participants (linked to their mentions) and its marked-up text."""
    for p in participants:
        p["label"] = f"{p['name']} · {p.get('level') or ''} · {p.get('role') or ''}"
    for e in evidence:
        e["label"] = f"{e['code']}={e['value']}"
    body, problems = marked_text(doc.get("text") or "", participants, evidence)
    ev_of = defaultdict(list)
    for i, e in enumerate(evidence):
        ev_of[e["code"]].append(i)
    rows = []
    for key in ("doc_class", "collab_type", "levels", "regions", "series", "session", "meeting_date", "location",
                "depth", "institutions", "vertical_guidance", "goals"):
        value = codes.get(key)
        if isinstance(value, (list, tuple)):
            value = "; ".join(str(v) for v in value)
        links = " ".join(f'<a href="#" data-go="e-{i}">{_e(evidence[i]["value"])}</a>' for i in ev_of.get(key, []))
        rows.append(f"<tr><th>{_e(key)}</th><td>{_e('' if value is None else value)}</td><td>{links}</td></tr>")
    extra = sorted(set(ev_of) - {"doc_class", "collab_type", "levels", "regions", "series", "session",
                                 "meeting_date", "location", "depth", "institutions", "vertical_guidance", "goals"})
    for key in extra:
        links = " ".join(f'<a href="#" data-go="e-{i}">{_e(evidence[i]["value"])}</a>' for i in ev_of[key])
        rows.append(f"<tr><th>{_e(key)}</th><td></td><td>{links}</td></tr>")
    plist = "".join(f'<li><a href="#" data-go="p-{i}">{_e(p["name"])}</a> <span class="muted">{_e(p.get("level"))}'
                    f' · {_e(p.get("role"))} · “{_e(p.get("mention"))}”</span></li>' for i, p in enumerate(participants))
    head = (f"<h3>{_e(doc.get('title') or '(untitled)')}</h3><p class='muted'>{_e(doc.get('date') or '')} · "
            f"<code>{_e(doc['doc_id'][:12])}</code> · {_e(doc.get('source') or '')}</p>")
    warn = "".join(f"<p class='warn'>{_e(p)}</p>" for p in problems)
    return (f"{head}<div class='cols'><div><h4>codes 编码 (click a value to see its evidence)</h4><table class='codes'>"
            f"<tbody>{''.join(rows)}</tbody></table></div><div><h4>participants 参与主体 ({len(participants)})</h4>"
            f"<ol class='plist'>{plist}</ol></div></div>{warn}<h4>text 原文</h4><div class='text'>{body}</div>")


def _codes_of(store: Store) -> dict[str, dict[str, Any]]:
    rows = store.con.execute(
        "SELECT doc_id, doc_class, collab_type, levels, regions, series, session, meeting_date, location, depth, "
        "institutions, vertical_guidance, goals FROM codes").fetchall()
    keys = ("doc_class", "collab_type", "levels", "regions", "series", "session", "meeting_date", "location",
            "depth", "institutions", "vertical_guidance", "goals")
    return {r[0]: dict(zip(keys, r[1:])) for r in rows}


def evidence_pages(store: Store, doc_ids: Sequence[str]) -> Iterable[tuple[str, str]]:
    """(doc_id, page html) for the given documents, in that order, read from the store in batches."""
    codes = _codes_of(store)
    for i in range(0, len(doc_ids), 500):
        batch = list(doc_ids[i:i + 500])
        docs = {r[0]: {"doc_id": r[0], "title": r[1], "date": r[2], "source": r[3], "text": r[4]} for r in
                store.con.execute("SELECT doc_id, title, date, source, text FROM documents WHERE list_contains(?, "
                                  "doc_id)", [batch]).fetchall()}
        parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in store.con.execute('SELECT doc_id, name, mention, start, "end", level, role FROM participants '
                                   "WHERE list_contains(?, doc_id) ORDER BY doc_id, idx", [batch]).fetchall():
            parts[r[0]].append(dict(zip(("name", "mention", "start", "end", "level", "role"), r[1:])))
        evs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in store.con.execute('SELECT doc_id, code, value, start, "end", text FROM evidence '
                                   "WHERE list_contains(?, doc_id) ORDER BY doc_id, idx", [batch]).fetchall():
            evs[r[0]].append(dict(zip(("code", "value", "start", "end", "text"), r[1:])))
        for d in batch:  # one page for every id asked for, so chunk n holds documents n·chunk … (n+1)·chunk-1
            if d in docs:
                yield d, document_html(docs[d], parts[d], evs[d], codes.get(d, {}))
            else:
                yield d, f"<p class='warn'>{_e(d)}: not in the corpus store</p>"


def browser_index(frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The compact list the browser searches: per document [id, title, date, class, collab types (RLD bits),
    participant numbers, series, bloc numbers (of the meetings it reports), region numbers]; participant, bloc and
    region names are listed once."""
    docs = frames["documents"]
    docs = docs[~docs["quarantined"].fillna(False).astype(bool)] if len(docs) else docs
    collab = frames["collaboration"].set_index("doc_id") if len(frames["collaboration"]) else pd.DataFrame()
    names = sorted({_text(n) for n in frames["participants"]["name"] if _text(n)}) if len(frames["participants"]) \
        else []
    number = {n: i for i, n in enumerate(names)}
    parts: dict[str, list[int]] = defaultdict(list)
    if len(frames["participants"]):
        for d, n in zip(frames["participants"]["doc_id"], frames["participants"]["name"]):
            if not export_stage.isna(n) and number[n] not in parts[d]:
                parts[d].append(number[n])
    series_of: dict[str, str] = {}
    blocs_of: dict[str, set[str]] = defaultdict(set)
    if len(frames["meetings"]):
        for s, ids, bl in zip(frames["meetings"]["series"], frames["meetings"]["doc_ids"], frames["meetings"]["blocs"]):
            for d in _text(ids).split(";"):
                if _text(s):
                    series_of[d] = _text(s)
                blocs_of[d].update(x for x in _text(bl).split(";") if x)
    bloc_names = sorted({b for v in blocs_of.values() for b in v})
    regions_of = {d: [x for x in _text(r).split(";") if x] for d, r in zip(collab.index, collab["regions"])} \
        if len(collab) else {}
    region_names = sorted({r for v in regions_of.values() for r in v})
    order = docs.assign(_d=docs["date"].map(lambda v: "" if export_stage.isna(v) else v.isoformat())).sort_values(
        ["_d", "doc_id"], kind="mergesort")
    rows = []
    classes = list(export_stage.CATEGORIES["doc_class"])
    for r in order.itertuples():
        c = collab.loc[r.doc_id] if len(collab) and r.doc_id in collab.index else None
        bits = "".join(("1" if c is not None and bool(c.get(t)) is True else "0") for t in COLLAB_TYPES)
        rows.append([r.doc_id, _text(r.title), r.date.isoformat() if not export_stage.isna(r.date) else "",
                     classes.index(r.doc_class) if r.doc_class in classes else -1, bits,
                     sorted(parts.get(r.doc_id, [])), series_of.get(r.doc_id, ""),
                     [bloc_names.index(b) for b in sorted(blocs_of.get(r.doc_id, ()))],
                     [region_names.index(x) for x in regions_of.get(r.doc_id, [])]])
    return {"names": names, "classes": classes, "collab": [COLLAB_LABELS[t] for t in COLLAB_TYPES],
            "blocs": bloc_names, "regions": region_names, "docs": rows}


def _text(v: Any) -> str:
    return "" if export_stage.isna(v) else str(v)


def _json_for_script(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


# -- the embedded font ---------------------------------------------------------------------------------------------
def font_face(chars: Iterable[str], font: Path = FONT_FILE) -> str:
    """A CSS @font-face rule that embeds, as a WOFF data URL, the glyphs of `chars` from the project's CJK font
    (pipeline/fonts/JMMSansSC-Regular.otf, a subset of Noto Sans CJK SC under the OFL); "" when the font file is
    missing (the report then relies on the reader's fonts). The same characters give the same bytes."""
    import base64
    import io as _io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    if not font.is_file():
        log.warning("%s: the report's CJK font is missing; Chinese text relies on the reader's fonts", font)
        return ""
    wanted = {ord(c) for c in chars if ord(c) >= 0x20}
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["kern", "palt"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and licence names
    options.recalc_timestamp = False
    f = TTFont(str(font), recalcTimestamp=False, recalcBBoxes=False)  # the full font's bounds hold the subset's
    sub = subset.Subsetter(options)
    sub.populate(unicodes=wanted & set(f.getBestCmap()))
    sub.subset(f)
    buf = _io.BytesIO()
    f.flavor = "woff"
    f.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face{{font-family:"{EMBEDDED_FAMILY}";src:url(data:font/woff;base64,{data}) format("woff");'
            f'font-weight:normal;font-style:normal}}')


# -- the page ---------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:%(font)s;margin:0;color:#222;background:#fff;line-height:1.5}
header{background:#123;color:#fff;padding:18px 28px}header h1{margin:0;font-size:26px}
header p{margin:4px 0 0;color:#cde;font-size:13px}
nav{padding:8px 28px;background:#eef2f6;font-size:14px;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#135}
main{padding:0 28px 40px;max-width:1280px}section{margin-top:26px}h2{font-size:20px;border-bottom:1px solid #ccd;
padding-bottom:4px}.cap{color:#555;font-size:13px;max-width:900px}
svg.chart text{font-family:%(font)s}.ct{font-size:13px;font-weight:bold}.tick{font-size:11px;fill:#444}
.ax{font-size:12px;fill:#333}.lg{font-size:11px;fill:#333}.nl{font-size:11px;fill:#111}
.grid{stroke:#e4e4e4}.axis{stroke:#444}.grid-cards,.grid{}div.grid{display:flex;flex-wrap:wrap;gap:6px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #dde;padding:3px 6px;text-align:left;
vertical-align:top}.scroll{overflow-x:auto;max-height:520px}.terms td{min-width:150px}
.muted{color:#667}.warn{color:#a00}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
.filters input,.filters select{font:inherit;font-size:14px;padding:3px}
#list{max-height:420px;overflow:auto;border:1px solid #dde}#list div{padding:4px 8px;border-bottom:1px solid #eef;
cursor:pointer}#list div:hover{background:#f3f6fa}#list .sel{background:#dbe8f7}
#doc{margin-top:14px;border-top:3px solid #123;padding-top:6px}.cols{display:flex;gap:24px;flex-wrap:wrap}
.cols>div{flex:1;min-width:320px}.text{white-space:pre-wrap;font-size:15px;line-height:1.9;border:1px solid #dde;
padding:10px;max-height:640px;overflow:auto}
mark.p{background:#cfe6ff}mark.e{background:#ffe39a}mark.e.p{background:#bfe7b0}
.lab{font-size:10px;vertical-align:super;border-radius:3px;padding:0 2px;margin:0 1px;white-space:nowrap}
.lp{background:#0072B2;color:#fff}.le{background:#b36b00;color:#fff}.flash{outline:3px solid #d00}
"""

_JS = r"""
(function(){
const IDX = JSON.parse(document.getElementById('jmm-index').textContent);
const CHUNK = %(chunk)d, DIR = %(dir)s;
const chunks = {};
window.JMM_CHUNK = function(n, data){ chunks[n] = data; };
function loadChunk(n){
  return new Promise(function(resolve, reject){
    if (chunks[n]) return resolve(chunks[n]);
    const inl = document.getElementById('chunk-' + n);
    if (inl) { chunks[n] = JSON.parse(inl.textContent); return resolve(chunks[n]); }
    const s = document.createElement('script');
    s.src = DIR + '/chunk-' + String(n).padStart(4, '0') + '.js';
    s.onload = function(){ chunks[n] ? resolve(chunks[n]) : reject(new Error('chunk ' + n + ' is empty')); };
    s.onerror = function(){ reject(new Error('cannot load ' + s.src + ': keep the ' + DIR + ' folder beside the report')); };
    document.head.appendChild(s);
  });
}
const $ = function(id){ return document.getElementById(id); };
const years = Array.from(new Set(IDX.docs.map(function(d){ return d[2].slice(0, 4); }).filter(Boolean))).sort();
years.forEach(function(y){ $('f-year').add(new Option(y, y)); });
IDX.classes.forEach(function(c, i){ $('f-class').add(new Option(c, i)); });
IDX.collab.forEach(function(c, i){ $('f-collab').add(new Option(c, i)); });
IDX.blocs.forEach(function(c, i){ $('f-bloc').add(new Option(c, i)); });
IDX.regions.forEach(function(c, i){ $('f-region').add(new Option(c, i)); });
const dl = $('names'); IDX.names.forEach(function(n){ const o = document.createElement('option'); o.value = n; dl.appendChild(o); });
let shown = [], limit = 200;
function matches(d){
  const q = $('f-q').value.trim(), y = $('f-year').value, c = $('f-class').value, t = $('f-collab').value,
        p = $('f-part').value.trim(), b = $('f-bloc').value, r = $('f-region').value;
  if (b !== '' && d[7].indexOf(Number(b)) < 0) return false;
  if (r !== '' && d[8].indexOf(Number(r)) < 0) return false;
  if (y && d[2].slice(0, 4) !== y) return false;
  if (c !== '' && String(d[3]) !== c) return false;
  if (t !== '' && d[4][Number(t)] !== '1') return false;
  if (p && !d[5].some(function(i){ return IDX.names[i].indexOf(p) >= 0; })) return false;
  if (q) {
    const hay = d[1] + ' ' + d[6] + ' ' + d[0] + ' ' + d[5].map(function(i){ return IDX.names[i]; }).join(' ');
    if (hay.indexOf(q) < 0) return false;
  }
  return true;
}
function render(){
  shown = []; IDX.docs.forEach(function(d, i){ if (matches(d)) shown.push(i); });
  $('count').textContent = shown.length + ' / ' + IDX.docs.length + ' documents';
  const list = $('list'); list.innerHTML = '';
  shown.slice(0, limit).forEach(function(i){
    const d = IDX.docs[i], el = document.createElement('div');
    el.textContent = d[2] + '  ' + (d[1] || '(untitled)') + (d[6] ? '  〔' + d[6] + '〕' : '');
    el.dataset.i = i; el.onclick = function(){ location.hash = 'doc=' + d[0]; };
    list.appendChild(el);
  });
  if (shown.length > limit) { const m = document.createElement('div'); m.textContent = '… ' + (shown.length - limit) +
    ' more: narrow the filters, or click to show more'; m.onclick = function(){ limit += 500; render(); }; list.appendChild(m); }
}
function show(id){
  const i = IDX.docs.findIndex(function(d){ return d[0] === id; });
  if (i < 0) return;
  document.querySelectorAll('#list .sel').forEach(function(e){ e.classList.remove('sel'); });
  const li = document.querySelector('#list div[data-i="' + i + '"]'); if (li) li.classList.add('sel');
  $('doc').innerHTML = '<p class="muted">loading…</p>';
  loadChunk(Math.floor(i / CHUNK)).then(function(c){
    $('doc').innerHTML = c[id];
    $('doc').scrollIntoView();
  }).catch(function(e){ $('doc').innerHTML = '<p class="warn">' + e.message + '</p>'; });
}
$('doc').addEventListener('click', function(ev){
  const a = ev.target.closest('a[data-go]'); if (!a) return;
  ev.preventDefault();
  const t = document.getElementById(a.dataset.go); if (!t) return;
  t.scrollIntoView({block: 'center'}); t.classList.add('flash'); setTimeout(function(){ t.classList.remove('flash'); }, 1500);
});
['f-q', 'f-year', 'f-class', 'f-collab', 'f-part', 'f-bloc', 'f-region'].forEach(function(id){ $(id).addEventListener('input', function(){ limit = 200; render(); }); });
function route(){ const m = location.hash.match(/^#doc=([0-9a-f]+)/); if (m) show(m[1]); }
window.addEventListener('hashchange', route);
render(); route();
function netFilter(){
  const b = $('n-bloc').value, t = $('n-type').value, on = new Set();
  let shown = 0;
  document.querySelectorAll('svg.net .nf').forEach(function(e){
    const ok = (!b || e.dataset.b.split('|').indexOf(b) >= 0) && (!t || e.dataset.t.indexOf(t) >= 0);
    e.style.display = ok ? '' : 'none';
    if (ok) { on.add(e.dataset.a); on.add(e.dataset.z); shown++; }
  });
  document.querySelectorAll('svg.net [data-n]').forEach(function(e){
    e.style.display = (!b && !t) || on.has(e.dataset.n) ? '' : 'none';
  });
  $('n-count').textContent = shown + ' ties shown';
}
if ($('n-bloc')) { ['n-bloc', 'n-type'].forEach(function(id){ $(id).addEventListener('input', netFilter); }); netFilter(); }
})();
"""


def write(store: Store, out: Path, settings: ExportSettings, meta: Mapping[str, Any] | None = None,
          frames: Mapping[str, pd.DataFrame] | None = None,
          progress: Callable[[int, int], None] | None = None) -> Path:
    """Write `out`/report.html (and `out`/report_files/ when the texts are too large to inline); return its path.
    `progress(done, total)` hears of the documents of the evidence browser as their chunks are written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = frames or export_stage.tables(store, settings)
    meta = dict(meta or {})
    index = browser_index(frames)
    order = [d[0] for d in index["docs"]]
    chunk = settings.evidence_chunk
    # marked-up text takes about three bytes a character of UTF-8 Chinese, plus its markup
    text_bytes = 4 * int(store.con.execute("SELECT coalesce(sum(length(text)), 0) FROM documents").fetchone()[0])
    inline = text_bytes <= settings.evidence_inline_mb * 1e6
    chunk_dir = out / CHUNK_DIR
    if chunk_dir.exists():
        shutil.rmtree(chunk_dir)
    blobs = []
    n_pages = 0
    text_chars: set[str] = set()  # every character the evidence pages show: the embedded font covers them
    pages = evidence_pages(store, order)
    for n in range(0, len(order), chunk):
        data = dict(itertools.islice(pages, chunk))
        n_pages += len(data)
        for page_html in data.values():
            text_chars.update(page_html)
        if progress is not None:
            progress(min(n + chunk, len(order)), len(order))
        if inline:
            blobs.append(f'<script type="application/json" id="chunk-{n // chunk}">{_json_for_script(data)}</script>')
        else:
            chunk_dir.mkdir(exist_ok=True)
            export_stage.write_bytes(chunk_dir / f"chunk-{n // chunk:04d}.js", (
                f"JMM_CHUNK({n // chunk}, {_json_for_script(data)});\n").encode("utf-8"))
    sections, chart_data = charts(frames, settings)
    counts = {k: len(v) for k, v in frames.items()}
    docs = frames["documents"]
    n_q = int(docs["quarantined"].fillna(False).astype(bool).sum()) if len(docs) else 0
    facts = " · ".join(f"{k}: {v}" for k, v in (
        ("documents", counts["documents"] - n_q), ("quarantined", n_q), ("meetings", counts["meetings"]),
        ("participant mentions", counts["participants"]), ("topic fit", store.current_fit() or "none"),
        *((k, v) for k, v in meta.items() if v)))
    nav = "".join(f'<a href="#{a}">{_e(h.split(" ")[0])}</a>' for a, h, _s, _c in sections)
    body = "".join(f'<section id="{a}"><h2>{_e(h)}</h2>{svg}<p class="cap">{_e(cap)}</p></section>'
                   for a, h, svg, cap in sections)
    browser = (
        '<section id="browser"><h2>证据浏览 Evidence browser</h2><p class="cap">Every processed document: search '
        'titles, series and participants, filter, and open one to see its codes, each linked to the sentence that '
        'supports it, and its text with every participant mention (blue) and evidence span (yellow; green where '
        'both) highlighted and labelled. The address (#doc=…) links to a document.</p><div class="filters">'
        '<input id="f-q" type="search" placeholder="搜索 search title / series / participant" size="34">'
        '<select id="f-year"><option value="">year 年份: all</option></select>'
        '<select id="f-class"><option value="">doc_class 类别: all</option></select>'
        '<select id="f-collab"><option value="">collaboration 合作类型: all</option></select>'
        '<input id="f-part" list="names" placeholder="participant 参与主体" size="22"><datalist id="names"></datalist>'
        '<select id="f-bloc"><option value="">bloc 区域板块: all</option></select>'
        '<select id="f-region"><option value="">region 省份: all</option></select>'
        '<span id="count" class="muted"></span></div><div id="list"></div><div id="doc"></div></section>')
    title = "联席会议研究报告 Joint Meeting Miner report"
    visible = (f'<header><h1>{title}</h1><p>{_e(facts)}</p></header>'
               f'<nav>{nav}<a href="#browser">证据浏览</a></nav><main>{body}{browser}</main>')
    script = _JS % {"chunk": chunk, "dir": json.dumps(CHUNK_DIR)}
    used = set(visible) | set(script) | set(_json_for_script(index)) | text_chars
    page = (
        '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'self' "
        "'unsafe-inline' file:; style-src 'unsafe-inline'; img-src data:; font-src data:\">"
        f'<title>{title}</title>'
        f'<style>{font_face(used)}{_CSS % {"font": FONT}}</style></head><body>{visible}'
        f'<script type="application/json" id="jmm-index">{_json_for_script(index)}</script>'
        f'<script type="application/json" id="jmm-charts">{_json_for_script(chart_data)}</script>{"".join(blobs)}'
        f'<script>{script}</script></body></html>')
    path = out / "report.html"
    export_stage.write_bytes(path, page.encode("utf-8"))
    log.info("report: %s (%d documents, evidence %s)", path, n_pages, "inline" if inline else f"in {chunk_dir}")
    return path
