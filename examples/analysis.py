"""Worked analysis with pandas and matplotlib: read the exported tables in out/ and redraw three charts of
report.html as PNG files — meetings per year by collaboration type, depth of collaboration over time, meetings per
year by bloc.

    .venv/bin/python examples/analysis.py             # reads out/, writes out/figures/*.png
    .venv/bin/python examples/analysis.py OUT --to DIR

It reads only the exports (meetings.csv and panel.csv, UTF-8 with BOM) and prints, as CSV, the numbers it drew.
The counts by type are computed from meetings.csv, one row per meeting, the way you would for your own question;
the depth shares and the blocs come from panel.csv (long format: year × bloc × measure), the table every chart of
the report is drawn from. Chinese labels use the project's font (pipeline/fonts) when it is there, else yours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

HERE = Path(__file__).resolve().parent
TYPES = {"cross_regional": "跨区域 cross-regional", "cross_level": "跨层级 cross-level",
         "cross_departmental": "跨部门 cross-departmental"}
DEPTHS = {1: "1 信息交流", 2: "2 协商协调", 3: "3 共同协议规划", 4: "4 联合实施"}
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def use_cjk_font() -> None:
    """Draw Chinese with the project's font if it is there (a subset of Noto Sans CJK SC), else a system one."""
    font = HERE.parent / "pipeline" / "fonts" / "JMMSansSC-Regular.otf"
    names = []
    if font.is_file():
        font_manager.fontManager.addfont(str(font))
        names.append(font_manager.FontProperties(fname=str(font)).get_name())
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = names + ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False


def meetings_by_type(meetings: pd.DataFrame) -> pd.DataFrame:
    """Meetings per year, all and of each collaboration type (a meeting may have several)."""
    dated = meetings.dropna(subset=["year"]).astype({"year": int})
    table = dated.groupby("year").agg(meetings=("meeting_id", "size"),
                                      **{t: (t, "sum") for t in TYPES})
    return table.reindex(range(table.index.min(), table.index.max() + 1), fill_value=0).astype(int)


def panel_wide(panel: pd.DataFrame, bloc: str, measures: list[str]) -> pd.DataFrame:
    """Years × measures of one bloc from the long panel."""
    sub = panel[(panel["bloc"] == bloc) & panel["measure"].isin(measures)].dropna(subset=["year"])
    return sub.astype({"year": int}).pivot(index="year", columns="measure", values="value")[measures]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path, default=Path("out"), help="folder of a jmm export")
    ap.add_argument("--to", type=Path, default=None, help="folder for the PNG files (default OUT/figures)")
    args = ap.parse_args()
    meetings = pd.read_csv(args.out / "meetings.csv", encoding="utf-8-sig")
    panel = pd.read_csv(args.out / "panel.csv", encoding="utf-8-sig")
    to = args.to or args.out / "figures"
    to.mkdir(parents=True, exist_ok=True)
    use_cjk_font()

    by_type = meetings_by_type(meetings)
    ax = by_type.rename(columns={"meetings": "全部 all meetings", **TYPES}).plot.bar(
        figsize=(10, 4.5), color=["#999999"] + COLOURS[:3], width=0.8)
    ax.set(title="每年会议数（按合作类型） Meetings per year by collaboration type", xlabel="", ylabel="会议 meetings")
    ax.figure.tight_layout()
    ax.figure.savefig(to / "meetings_by_type.png", dpi=120)
    plt.close(ax.figure)

    depth = panel_wide(panel, "all", [f"share_depth_{d}" for d in DEPTHS])
    ax = depth.rename(columns={f"share_depth_{d}": label for d, label in DEPTHS.items()}).plot.bar(
        stacked=True, figsize=(10, 4.5), color=COLOURS[:4], width=0.8)
    ax.set(title="合作深度 Depth of collaboration over time", xlabel="", ylabel="会议占比 share of meetings", ylim=(0, 1))
    ax.figure.tight_layout()
    ax.figure.savefig(to / "depth_over_time.png", dpi=120)
    plt.close(ax.figure)

    blocs = panel[(panel["bloc"] != "all") & (panel["measure"] == "meetings")].dropna(subset=["year"])
    per_bloc = blocs.astype({"year": int}).pivot(index="year", columns="bloc", values="value").fillna(0)
    per_bloc = per_bloc.reindex(range(int(panel["year"].min()), int(panel["year"].max()) + 1), fill_value=0)
    ax = per_bloc.plot.bar(figsize=(10, 4.5), color=COLOURS[:len(per_bloc.columns)], width=0.8)
    ax.set(title="各区域板块每年会议数 Meetings per year by bloc", xlabel="", ylabel="会议 meetings")
    ax.figure.tight_layout()
    ax.figure.savefig(to / "blocs.png", dpi=120)
    plt.close(ax.figure)

    by_type.to_csv(sys.stdout, lineterminator="\n")
    print(f"wrote {to / 'meetings_by_type.png'}, {to / 'depth_over_time.png'}, {to / 'blocs.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
