"""Write report.html: one self-contained page (no request leaves the machine when it is opened) with the charts
a paper needs and an evidence browser.

Charts are inline SVG drawn here, their text left as text in a CJK font stack, so Chinese labels render with the
reader's system fonts and stay selectable. The evidence browser lists every document (search; filter by year,
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

FONT = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
        '"Microsoft YaHei", "WenQuanYi Micro Hei", "Droid Sans Fallback", sans-serif')
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
            if len(pts) > 1:
                d = " ".join(f"{'M' if k == 0 else 'L'}{cx(i):.1f},{y(v):.1f}" for k, (i, v) in enumerate(pts))
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


def network_svg(frames: Mapping[str, pd.DataFrame], max_nodes: int, width: int = 900, height: int = 640,
                seed: int = 42) -> tuple[str, int, int]:
    """The participant network's best-connected bodies (by meetings together), laid out by force with a fixed
    seed. Returns (svg, nodes shown, nodes in all)."""
    import networkx as nx

    g = export_stage.network(frames)
    if g.number_of_edges() == 0:
        return "", 0, g.number_of_nodes()
    strength = dict(g.degree(weight="weight"))
    keep = sorted((n for n in g if strength[n] > 0), key=lambda n: (-strength[n], n))[:max_nodes]
    sub = nx.Graph()
    sub.add_nodes_from(sorted(keep))
    # each edge written one way round (the store's row order decides how networkx holds it): the same picture
    # whatever order the documents were stored in (a resumed run)
    sub.add_edges_from(sorted((min(a, b), max(a, b), d) for a, b, d in g.subgraph(keep).edges(data=True)))
    pos = nx.spring_layout(sub, seed=seed, weight="weight", iterations=200, k=1.6 / math.sqrt(max(len(sub), 1)))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    pad = 60
    sx = lambda v: pad + (v - min(xs)) / ((max(xs) - min(xs)) or 1) * (width - 2 * pad)  # noqa: E731
    sy = lambda v: pad / 2 + (v - min(ys)) / ((max(ys) - min(ys)) or 1) * (height - pad)  # noqa: E731
    wmax = max(d["weight"] for _a, _b, d in sub.edges(data=True))
    smax = max(strength[n] for n in sub)
    out = [f'<svg class="chart net" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="participant network" xmlns="http://www.w3.org/2000/svg">']
    for a, b, d in sub.edges(data=True):
        out.append(f'<line x1="{sx(pos[a][0]):.1f}" y1="{sy(pos[a][1]):.1f}" x2="{sx(pos[b][0]):.1f}" '
                   f'y2="{sy(pos[b][1]):.1f}" stroke="#888" stroke-opacity="0.35" '
                   f'stroke-width="{0.5 + 3.5 * d["weight"] / wmax:.2f}"><title>{_e(a)} — {_e(b)}: '
                   f'{d["weight"]} meetings</title></line>')
    labelled = set(sorted(sub, key=lambda n: (-strength[n], n))[:30])
    for n in sorted(sub, key=lambda n: (strength[n], n)):
        attrs = g.nodes[n]
        r = 3 + 9 * math.sqrt(strength[n] / smax)
        colour = LEVEL_COLOURS.get(attrs.get("level", ""), PALETTE[-1])
        out.append(f'<circle cx="{sx(pos[n][0]):.1f}" cy="{sy(pos[n][1]):.1f}" r="{r:.1f}" fill="{colour}" '
                   f'stroke="#fff"><title>{_e(n)} ({_e(attrs.get("level", ""))}): {attrs.get("meetings", 0)} '
                   f'meetings</title></circle>')
        if n in labelled:
            out.append(f'<text x="{sx(pos[n][0]) + r + 2:.1f}" y="{sy(pos[n][1]) + 4:.1f}" class="nl">{_e(n)}</text>')
    lx = 10
    for level, colour in LEVEL_COLOURS.items():
        out.append(f'<circle cx="{lx + 5}" cy="{height - 10}" r="5" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="{height - 6}" class="lg">{_e(level)}</text>')
        lx += 30 + 8 * len(level)
    out.append("</svg>")
    return "".join(out), len(sub), g.number_of_nodes()


# -- what the charts show ---------------------------------------------------------------------------------------
def meeting_facts(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per meeting: year, participants, collaboration types, depth (highest over its documents) and
    institutionalisation indicators (union over its documents)."""
    collab = frames["collaboration"].set_index("doc_id") if len(frames["collaboration"]) else None
    n_of = dict(zip(frames["meetings"]["meeting_id"], frames["meetings"]["n_participants"]))
    docs_of = dict(zip(frames["meetings"]["meeting_id"], frames["meetings"]["doc_ids"]))
    rows = []
    for mid, year, _members in export_stage.meeting_members(frames):
        docs = [d for d in _text(docs_of.get(mid)).split(";") if d]
        sub = collab.loc[[d for d in docs if collab is not None and d in collab.index]] if collab is not None \
            else pd.DataFrame()
        row: dict[str, Any] = {"meeting_id": mid, "year": year, "n_participants": n_of.get(mid)}
        for t in COLLAB_TYPES:
            row[t] = bool(len(sub) and t in sub and sub[t].fillna(False).astype(bool).any())
        depths = [int(v) for v in sub["depth"].dropna()] if len(sub) and "depth" in sub else []
        row["depth"] = max(depths) if depths else None
        inst: set[str] = set()
        if len(sub) and "institutions" in sub:
            for v in sub["institutions"].dropna():
                inst.update(x for x in v.split(";") if x)
        for i in INSTITUTIONS:
            row[f"inst_{i}"] = i in inst
        rows.append(row)
    return pd.DataFrame(rows)


def _years(facts: pd.DataFrame) -> list[int]:
    if not len(facts):
        return []
    ys = [int(y) for y in facts["year"].dropna().unique()]
    return list(range(min(ys), max(ys) + 1)) if ys else []


def charts(frames: Mapping[str, pd.DataFrame], settings: ExportSettings) -> list[tuple[str, str, str, str]]:
    """(anchor, heading, svg or html, caption) of every chart, in the order of the report."""
    facts = meeting_facts(frames)
    years = _years(facts)
    cats = [str(y) for y in years]
    known = facts[facts["year"].notna()] if len(facts) else facts
    unknown = len(facts) - len(known)
    note = f" {unknown} meetings without a known year are left out." if unknown else ""
    out = []
    by_year = {y: known[known["year"] == y] for y in years}
    if years:
        series = [{"name": "全部 all meetings", "values": [len(by_year[y]) for y in years], "colour": "#999999"}]
        series += [{"name": COLLAB_LABELS[t], "values": [int(by_year[y][t].sum()) for y in years],
                    "colour": PALETTE[i]} for i, t in enumerate(COLLAB_TYPES)]
        out.append(("meetings", "每年会议数（按合作类型） Meetings per year by collaboration type",
                    chart(cats, series, "bar", ylabel="会议 meetings"),
                    f"{len(facts)} meetings (rows of meetings.csv). A meeting has a type when any document reporting "
                    f"it is coded so; types overlap, so the coloured bars of a year may sum to more than all.{note}"))
        med, lo, hi, mean = [], [], [], []
        for y in years:
            v = by_year[y]["n_participants"].dropna().astype(float)
            med.append(float(v.median()) if len(v) else None)
            lo.append(float(v.quantile(0.25)) if len(v) else None)
            hi.append(float(v.quantile(0.75)) if len(v) else None)
            mean.append(float(v.mean()) if len(v) else None)
        out.append(("scale", "每次会议的参与主体数 Participants per meeting over time",
                    chart(cats, [{"name": "中位数 median (band: 25–75%)", "values": med, "low": lo, "high": hi},
                                 {"name": "均值 mean", "values": mean, "colour": PALETTE[1]}], "line",
                          ylabel="参与主体 participants"),
                    "Distinct participants named in the documents that report each meeting (meetings.n_participants)."
                    + note))
        depth_series = []
        for d in (1, 2, 3, 4):
            vals = []
            for y in years:
                coded = by_year[y]["depth"].dropna()
                vals.append(float((coded == d).mean()) if len(coded) else None)
            depth_series.append({"name": DEPTH_LABELS[d], "values": vals, "colour": PALETTE[d - 1]})
        n_coded = int(known["depth"].notna().sum()) if len(known) else 0
        out.append(("depth", "合作深度 Depth of collaboration over time",
                    chart(cats, depth_series, "bar", stacked=True, percent=True, ymax=1.0,
                          ylabel="会议占比 share of meetings"),
                    f"Share of the meetings of each year at each depth (CODEBOOK §3: the highest evidenced over the "
                    f"documents reporting a meeting); {n_coded} meetings have a depth code."))
        inst_series = [{"name": INSTITUTION_LABELS[i], "values": [float(by_year[y][f"inst_{i}"].mean())
                                                                  if len(by_year[y]) else None for y in years],
                        "colour": PALETTE[k]} for k, i in enumerate(INSTITUTIONS)]
        out.append(("institutions", "制度化程度 Institutionalisation over time",
                    chart(cats, inst_series, "line", percent=True, ymax=1.0, ylabel="会议占比 share of meetings",
                          height=320),
                    "Share of the meetings of each year whose documents show each institutionalisation indicator "
                    "(collaboration.institutions)."))
    svg, shown, total = network_svg(frames, settings.report_network_nodes)
    if svg:
        out.append(("network", "参与主体合作网络 Participant network", svg,
                    f"The {shown} best-connected of {total} participants; a line joins two bodies that took part in "
                    f"the same meeting, thicker for more meetings (edges.csv; all of it in network.graphml). "
                    f"Colour: administrative level; size: meetings together with others."))
    prev = frames["topic_prevalence"]
    topics = frames["topics"]
    if len(prev) and len(topics):
        per = prev[prev["group_type"] == "period"]
        periods = sorted(per["group"].unique())
        panels = []
        for tid, label in zip(topics["topic_id"], topics["label"]):
            t = per[per["topic_id"] == tid].set_index("group")
            get = lambda col, t=t: [float(t.at[p, col]) if p in t.index else None for p in periods]  # noqa: E731
            panels.append(f'<div class="panel">{chart(periods, [{"name": label, "values": get("share"), "low": get("ci_low"), "high": get("ci_high")}], "line", title=f"T{tid} {label}", percent=True, width=300, height=190, legend=False)}</div>')
        out.append(("prevalence", "主题热度随时间变化 Topic prevalence over time", '<div class="grid">' + "".join(panels)
                    + "</div>", "Mean share of each topic in the documents of each period, with bootstrap 95% "
                    "intervals (topic_prevalence.csv, group_type = period)."))
        terms = frames["topic_terms_by_period"]
        if len(terms):
            tperiods = sorted(terms["period"].unique())
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
    docs = frames["documents"]
    q = docs[docs["quarantined"].fillna(False).astype(bool)] if len(docs) else docs
    rows = "".join(f"<tr><td>{_e(r.source)}</td><td><code>{_e(str(r.doc_id)[:12])}</code></td><td>{_e(r.reason)}</td>"
                   f"</tr>" for r in q.itertuples())
    out.append(("quarantine", "隔离文档 Quarantined inputs",
                f"<div class='scroll'><table><thead><tr><th>input</th><th>SHA-256</th><th>reason</th></tr></thead>"
                f"<tbody>{rows or '<tr><td colspan=3>none</td></tr>'}</tbody></table></div>",
                f"{len(q)} inputs could not be processed; `jmm status` lists them too. Their raw copies are kept."))
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
    participant numbers, series]; participant names are listed once."""
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
    series_of = {}
    if len(frames["meetings"]):
        for s, ids in zip(frames["meetings"]["series"], frames["meetings"]["doc_ids"]):
            for d in _text(ids).split(";"):
                if _text(s):
                    series_of[d] = _text(s)
    order = docs.assign(_d=docs["date"].map(lambda v: "" if export_stage.isna(v) else v.isoformat())).sort_values(
        ["_d", "doc_id"], kind="mergesort")
    rows = []
    classes = list(export_stage.CATEGORIES["doc_class"])
    for r in order.itertuples():
        c = collab.loc[r.doc_id] if len(collab) and r.doc_id in collab.index else None
        bits = "".join(("1" if c is not None and bool(c.get(t)) is True else "0") for t in COLLAB_TYPES)
        rows.append([r.doc_id, _text(r.title), r.date.isoformat() if not export_stage.isna(r.date) else "",
                     classes.index(r.doc_class) if r.doc_class in classes else -1, bits,
                     sorted(parts.get(r.doc_id, [])), series_of.get(r.doc_id, "")])
    return {"names": names, "classes": classes, "collab": [COLLAB_LABELS[t] for t in COLLAB_TYPES], "docs": rows}


def _text(v: Any) -> str:
    return "" if export_stage.isna(v) else str(v)


def _json_for_script(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


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
#browser .filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
#browser input,#browser select{font:inherit;font-size:14px;padding:3px}
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
const dl = $('names'); IDX.names.forEach(function(n){ const o = document.createElement('option'); o.value = n; dl.appendChild(o); });
let shown = [], limit = 200;
function matches(d){
  const q = $('f-q').value.trim(), y = $('f-year').value, c = $('f-class').value, t = $('f-collab').value,
        p = $('f-part').value.trim();
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
['f-q', 'f-year', 'f-class', 'f-collab', 'f-part'].forEach(function(id){ $(id).addEventListener('input', function(){ limit = 200; render(); }); });
function route(){ const m = location.hash.match(/^#doc=([0-9a-f]+)/); if (m) show(m[1]); }
window.addEventListener('hashchange', route);
render(); route();
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
    pages = evidence_pages(store, order)
    for n in range(0, len(order), chunk):
        data = dict(itertools.islice(pages, chunk))
        n_pages += len(data)
        if progress is not None:
            progress(min(n + chunk, len(order)), len(order))
        if inline:
            blobs.append(f'<script type="application/json" id="chunk-{n // chunk}">{_json_for_script(data)}</script>')
        else:
            chunk_dir.mkdir(exist_ok=True)
            export_stage.write_bytes(chunk_dir / f"chunk-{n // chunk:04d}.js", (
                f"JMM_CHUNK({n // chunk}, {_json_for_script(data)});\n").encode("utf-8"))
    sections = charts(frames, settings)
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
        '<span id="count" class="muted"></span></div><div id="list"></div><div id="doc"></div></section>')
    page = (
        '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'self' "
        "'unsafe-inline' file:; style-src 'unsafe-inline'; img-src data:\">"
        '<title>联席会议研究报告 Joint Meeting Miner report</title>'
        f'<style>{_CSS % {"font": FONT}}</style></head><body>'
        f'<header><h1>联席会议研究报告 Joint Meeting Miner report</h1><p>{_e(facts)}</p></header>'
        f'<nav>{nav}<a href="#browser">证据浏览</a></nav><main>{body}{browser}</main>'
        f'<script type="application/json" id="jmm-index">{_json_for_script(index)}</script>{"".join(blobs)}'
        f'<script>{_JS % {"chunk": chunk, "dir": json.dumps(CHUNK_DIR)}}</script></body></html>')
    path = out / "report.html"
    export_stage.write_bytes(path, page.encode("utf-8"))
    log.info("report: %s (%d documents, evidence %s)", path, n_pages, "inline" if inline else f"in {chunk_dir}")
    return path
