"""Exports: every format opens in the tools researchers use, the codebook matches the schema, the network is
weighted by meetings, and the same store gives the same bytes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline import export as ex
from pipeline.records import Codes, Document, Evidence, Page, Participant, Tagged
from pipeline.settings import ExportSettings
from pipeline.store import Store

GOV = {"上海市": ("provincial", "310000", "上海市"), "江苏省": ("provincial", "320000", "江苏省"),
       "浙江省": ("provincial", "330000", "浙江省"), "安徽省": ("provincial", "340000", "安徽省"),
       "北京市": ("provincial", "110000", "北京市"), "天津市": ("provincial", "120000", "天津市"),
       "河北省": ("provincial", "130000", "河北省"), "国家发展和改革委员会": ("national", "000000", "")}

LONG_TITLE = "长三角地区合作与发展联席会议纪要。" * 2200  # > 32,767 characters: Excel cannot hold it

DOCS = [
    # (doc_id, date, title, text, participants, codes)
    ("a" * 64, "2019-03-16", "长三角地区主要领导座谈会在芜湖召开",
     "2019年3月15日，长三角地区主要领导座谈会在芜湖召开。上海市、江苏省、浙江省、安徽省主要领导出席会议，"
     "共同签署了《长三角地区一体化发展合作协议》。会议决定建立轮值制度，设立联席会议办公室。",
     ["上海市", "江苏省", "浙江省", "安徽省"],
     dict(doc_class="joint_meeting", collab_type=("cross_regional",), series="长三角地区主要领导座谈会",
          meeting_date="2019-03-15", location="芜湖市", depth=3, institutions=("rotation", "secretariat"),
          evidence=[("depth", "3", "签署"), ("institutions", "rotation", "轮值制度"),
                    ("institutions", "secretariat", "联席会议办公室")])),
    ("b" * 64, "2019-06-21", "京津冀协同发展联席会议第三次会议召开",
     "2019年6月20日，京津冀协同发展联席会议第三次会议在天津召开。北京市、天津市、河北省及国家发展和改革委员会"
     "负责同志参加会议，会议听取了工作汇报，研究部署下一步重点工作。",
     ["北京市", "天津市", "河北省", "国家发展和改革委员会"],
     dict(doc_class="joint_meeting", collab_type=("cross_regional", "cross_level"), series="京津冀协同发展联席会议",
          session=3, meeting_date="2019-06-20", location="天津市", depth=2, evidence=[("depth", "2", "研究部署")])),
    ("c" * 64, "2020-05-12", "长三角地区主要领导座谈会\x07在湖州召开",
     "2020年5月11日，长三角地区主要领导座谈会在湖州召开。上海市、江苏省主要领导出席会议并讲话。",
     ["上海市", "江苏省"],
     dict(doc_class="joint_meeting", collab_type=("cross_regional",), series="长三角地区主要领导座谈会",
          meeting_date="2020-05-11", location="湖州市", depth=1, evidence=[("depth", "1", "讲话")])),
    ("d" * 64, "2020-08-01", LONG_TITLE, "会议通报了长三角地区合作与发展情况。上海市有关部门参加。",
     ["上海市"], dict(doc_class="other")),
]


def make_store(path: Path) -> Path:
    """A corpus store with four real-language documents, one quarantined input and a small topic fit."""
    with Store(path) as store:
        for doc_id, date, title, text, names, codes in DOCS:
            codes = dict(codes)  # DOCS is shared by every test that builds a store
            parts = []
            for name in names:
                start = text.index(name)
                level, code, province = GOV[name]
                role = "host" if (doc_id[0], name) == ("a", "安徽省") else "member"  # 芜湖 hosts it
                parts.append(Participant(name, name, start, start + len(name), level, code, province,
                                         "development_reform" if level == "national" else "general", role))
            ev = tuple(Evidence(c, v, text.index(s), text.index(s) + len(s), s) for c, v, s in codes.pop("evidence", []))
            doc = Document(doc_id, f"corpus/{doc_id[:4]}.pdf", title, date, text, pages=(Page(1, text),),
                           kind="pdf")
            store.write_document(doc, list(text[:10]), Tagged(doc_id, tuple(parts), Codes(evidence=ev, **codes)),
                                 {"extract": "1"})
            store.add_source(doc_id, f"corpus/{doc_id[:4]}.pdf", None)
        store.quarantine("e" * 64, "corpus/broken.pdf", "corpus/broken.pdf: encrypted PDF", "extract")
        topics = pd.DataFrame({"topic_id": [0, 1], "label": ["区域合作", "协同发展"],
                               "top_terms": ["合作 协议 轮值", "协同 发展 京津冀"]})
        terms = pd.DataFrame({"topic_id": [0, 0, 1, 1], "period": ["2019", "2020", "2019", "2020"],
                              "rank": [1, 1, 1, 1], "term": ["合作", "协议", "协同", "发展"],
                              "weight": [0.2, 0.1, 0.3, 0.25]})
        doc_topics = pd.DataFrame({"doc_id": ["a" * 64, "b" * 64], "topic_id": [0, 1], "weight": [0.8, 0.7]})
        prev = pd.DataFrame({"topic_id": [0, 0, 1, 1], "group_type": ["period"] * 4,
                             "group": ["2019", "2020", "2019", "2020"], "share": [0.5, 0.4, 0.5, 0.6],
                             "ci_low": [0.3, 0.2, 0.3, 0.4], "ci_high": [0.7, 0.6, 0.7, 0.8], "n_docs": [2, 2, 2, 2]})
        tables = {n: df.assign(fit_id="fit1") for n, df in (("topics", topics), ("topic_terms_by_period", terms),
                                                          ("doc_topics", doc_topics), ("topic_prevalence", prev))}
        store.write_topics("fit1", {"k": 2}, {}, tables)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("export")
    db = make_store(root / "corpus.duckdb")
    settings = ExportSettings(include_page_text=True)
    with Store(db, read_only=True) as store:
        counts = ex.export(store, root / "out", {"inputs": []}, settings)
    return db, root / "out", counts


def test_export_writes_every_table_in_every_format(exported) -> None:
    _db, out, counts = exported
    names = {s.name for s in ex.TABLES}
    assert set(counts) == names
    for name in names:
        for suffix in (".csv", ".parquet", ".dta"):
            assert (out / f"{name}{suffix}").is_file(), f"{name}{suffix}"
    for f in ("tables.xlsx", "network.graphml", "codebook.md", "codebook.csv", "manifest.json"):
        assert (out / f).is_file()
    assert counts["documents"] == 5 and counts["participants"] == 11 and counts["meetings"] == 3


def test_csv_starts_with_bom_and_keeps_chinese(exported) -> None:
    _db, out, _ = exported
    raw = (out / "participants.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(out / "participants.csv", encoding="utf-8-sig")
    assert list(df.columns)[:5] == ["doc_id", "name", "mention", "start", "end"]
    assert "国家发展和改革委员会" in set(df["name"])


def test_parquet_has_explicit_types(exported) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _db, out, _ = exported
    schema = pq.read_schema(out / "documents.parquet")
    assert schema.field("date").type == pa.date32()
    assert schema.field("pages").type == pa.int64()
    assert schema.field("quarantined").type == pa.bool_()
    assert schema.field("doc_class").metadata[b"meaning"] == b"CODEBOOK \xc2\xa71 class"
    t = pq.read_table(out / "edges.parquet").to_pandas()
    assert t["weight"].dtype.kind == "i"


def test_dta_reads_back_with_labels(exported) -> None:
    import pyreadstat

    _db, out, _ = exported
    df, meta = pyreadstat.read_dta(out / "participants.dta")
    assert (out / "participants.dta").read_bytes().startswith(b"<stata_dta><header><release>118</release>")
    assert meta.column_names_to_labels["level"] == "行政级别 administrative level"
    assert "end_" in df.columns and "end" not in df.columns  # a Mata reserved word gets a trailing underscore
    labels = meta.variable_value_labels["level"]
    assert labels[1].startswith("national") and labels[2].startswith("provincial")
    assert {labels[int(v)] for v in df["level"]} == {"national 国家", "provincial 省级"}
    docs, meta = pyreadstat.read_dta(out / "documents.dta")
    assert meta.original_variable_types["date"] == "%td"
    assert meta.variable_value_labels["quarantined"] == {0: "否 no", 1: "是 yes"}
    assert int(docs["quarantined"].sum()) == 1
    collab, meta = pyreadstat.read_dta(out / "collaboration.dta")
    assert meta.variable_value_labels["depth"][3].startswith("3 共同协议")
    pages, meta = pyreadstat.read_dta(out / "pages.dta")
    assert set(pages["text"]) >= {DOCS[0][3]}


def test_xlsx_opens_strips_control_characters_and_says_where_long_text_is(exported) -> None:
    from openpyxl import load_workbook

    _db, out, _ = exported
    wb = load_workbook(out / "tables.xlsx", read_only=True)
    assert wb.sheetnames[0] == "README" and "participants" in wb.sheetnames
    rows = list(wb["documents"].values)
    header = rows[0]
    titles = [r[header.index("title")] for r in rows[1:]]
    assert "长三角地区主要领导座谈会在湖州召开" in titles  # \x07 stripped
    long = [t for t in titles if t and t.startswith("长三角地区合作与发展联席会议纪要")]
    assert len(long) == 1 and len(long[0]) == ex.XLSX_MAX_CHARS and "full text is in the .parquet" in long[0]
    assert "text" not in next(wb["pages"].values)  # long-text column left to Parquet/CSV
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["xlsx_cut_cells"] == {"documents.title": 1}
    assert pd.read_parquet(out / "documents.parquet")["title"].str.len().max() == len(LONG_TITLE)


def test_edges_count_meetings_by_year_and_graphml_loads(exported) -> None:
    import networkx as nx

    _db, out, _ = exported
    edges = pd.read_csv(out / "edges.csv", encoding="utf-8-sig")
    pair = edges[(edges["source"] == "上海市") & (edges["target"] == "江苏省")]
    assert dict(zip(pair["year"], pair["weight"])) == {2019: 1, 2020: 1}  # two meetings of one series
    assert not ((edges["source"] == "上海市") & (edges["target"] == "北京市")).any()  # never met
    co = edges[edges["kind"] == "co_participation"]
    assert (co["source"] < co["target"]).all()
    convenes = edges[edges["kind"] == "convenes"]  # the host → each other participant of its meeting
    assert sorted(zip(convenes["source"], convenes["target"], convenes["year"])) == [
        ("安徽省", "上海市", 2019), ("安徽省", "江苏省", 2019), ("安徽省", "浙江省", 2019)]
    edges = co
    g = nx.read_graphml(out / "network.graphml")
    assert g["上海市"]["江苏省"]["weight"] == 2
    assert g["上海市"]["江苏省"]["weight_by_year"] == "2019:1;2020:1"
    assert g.nodes["国家发展和改革委员会"]["level"] == "national"
    assert g.number_of_edges() == len(edges.groupby(["source", "target"]))


def test_codebook_documents_every_exported_column(exported) -> None:
    _db, out, _ = exported
    book = pd.read_csv(out / "codebook.csv", encoding="utf-8-sig", keep_default_na=False)
    for s in ex.TABLES:
        exported_cols = list(pd.read_csv(out / f"{s.name}.csv", encoding="utf-8-sig", nrows=0).columns)
        assert list(book[book["table"] == s.name]["column"]) == exported_cols, s.name
    level = book[(book["table"] == "participants") & (book["column"] == "level")].iloc[0]
    assert level["values"].startswith("national (国家)")
    md = (out / "codebook.md").read_text(encoding="utf-8")
    assert "## edges" in md and "end (Stata: end_)" in md and "not in tables.xlsx" in md
    assert "## panel" in md and "corpora/lexicons/panel/blocs.csv" in md
    assert "| 长三角 | Yangtze River Delta | 上海市、安徽省、江苏省、浙江省 |" in md  # the blocs table, cited and listed


def test_meetings_carry_year_codes_blocs_and_counts_by_level(exported) -> None:
    _db, out, _ = exported
    m = pd.read_csv(out / "meetings.csv", encoding="utf-8-sig").set_index("series")
    jjj = m.loc["京津冀协同发展联席会议"]
    assert (jjj["year"], jjj["cross_regional"], jjj["cross_level"], jjj["cross_departmental"]) == (2019, True, True,
                                                                                                  False)
    assert (jjj["depth"], jjj["n_participants"], jjj["n_provincial"], jjj["n_national"]) == (2, 4, 3, 1)
    assert jjj["blocs"] == "京津冀"  # its series names the bloc
    yrd = m.loc["长三角地区主要领导座谈会"].sort_values("year")
    assert list(yrd["year"]) == [2019, 2020] and list(yrd["institutions"].fillna("")) == ["rotation;secretariat", ""]
    assert list(yrd["blocs"]) == ["长三角", "长三角"]


@pytest.mark.parametrize("regions, series, blocs", [
    (["上海市", "江苏省", "浙江省", "安徽省"], None, ["长三角", "长江经济带"]),  # within both, four take part
    (["上海市", "江苏省"], None, ["长三角", "长江经济带"]),
    (["上海市"], None, []),  # one province is no bloc meeting
    (["上海市", "北京市"], None, []),  # not within one bloc
    (["重庆市"], "重庆市渝东北片区区县协同发展联席会议", []),  # 渝东北 is not 东北
    (["四川省", "重庆市"], "推动成渝地区双城经济圈建设重庆四川党政联席会议", ["成渝", "长江经济带"]),  # 重庆 is not 泛珠三角
    ([], "京津冀协同发展联席会议", ["京津冀"]),  # the series names it
    (["广东省", "香港特别行政区"], None, ["粤港澳大湾区", "泛珠三角"]),
])
def test_blocs_of_a_meeting(regions, series, blocs) -> None:
    table = ex.read_blocs(Path(__file__).resolve().parents[2] / "corpora" / "lexicons" / "panel" / "blocs.csv")
    assert ex.blocs_of(regions, series, table) == blocs


def recompute_panel(meetings: pd.DataFrame) -> pd.DataFrame:
    """The panel's count and share measures recomputed from meetings.csv alone, another way (pandas explode and
    groupby): what a researcher would do to check it."""
    m = meetings.assign(bloc=meetings["blocs"].fillna("").str.split(";")).explode("bloc")
    m = pd.concat([meetings.assign(bloc="all"), m[m["bloc"] != ""]])
    m["year"] = m["year"].astype("Int64")
    inst = m["institutions"].fillna("").astype(str).ne("")
    g = m.assign(inst=inst, vg=m["vertical_guidance"].astype(bool)).groupby(["bloc", "year"], dropna=False)
    out = pd.DataFrame({"meetings": g.size(), "cross_regional": g["cross_regional"].sum(),
                        "cross_level": g["cross_level"].sum(), "cross_departmental": g["cross_departmental"].sum(),
                        "vertical_guidance": g["vg"].sum(), "mean_depth": g["depth"].mean(),
                        "share_institutionalised": g["inst"].mean(), "share_vertical_guidance": g["vg"].mean()})
    return out.reset_index().melt(["bloc", "year"], var_name="measure").dropna(subset=["value"])


def assert_panel_matches(panel: pd.DataFrame, meetings: pd.DataFrame) -> int:
    """Every recomputed value equals the panel's (to 1e-6); returns how many were compared."""
    panel = panel.assign(year=panel["year"].astype("Int64"))
    want = recompute_panel(meetings)
    got = want.merge(panel, on=["bloc", "year", "measure"], how="left", suffixes=("", "_panel"))
    assert got["value_panel"].notna().all(), got[got["value_panel"].isna()]
    assert (got["value"].astype(float) - got["value_panel"]).abs().max() < 1e-6, got
    assert set(panel["bloc"]) == set(want["bloc"])
    return len(got)


def test_panel_counts_equal_those_recomputed_from_meetings_csv(exported) -> None:
    _db, out, _ = exported
    panel = pd.read_csv(out / "panel.csv", encoding="utf-8-sig")
    meetings = pd.read_csv(out / "meetings.csv", encoding="utf-8-sig")
    assert assert_panel_matches(panel, meetings) >= 3 * 8
    assert set(panel["measure"]) == set(ex.PANEL_MEASURES)
    assert panel[(panel.bloc == "all") & (panel.measure == "meetings")]["value"].sum() == len(meetings)


def test_evidence_reaches_every_format_and_the_workbook(exported) -> None:
    from openpyxl import load_workbook

    _db, out, _ = exported
    ev = pd.read_csv(out / "evidence.csv", encoding="utf-8-sig")
    assert len(ev) == 5 and set(ev["code"]) == {"depth", "institutions"}
    wb = load_workbook(out / "tables.xlsx", read_only=True)
    rows = list(wb["evidence"].values)
    assert rows[0] == ("doc_id", "idx", "code", "value", "start", "end", "text") and len(rows) == 1 + len(ev)
    assert ("a" * 64, 1, "institutions", "rotation") == rows[2][:4] and rows[2][6] == "轮值制度"
    assert (out / "evidence.dta").is_file() and len(pd.read_parquet(out / "evidence.parquet")) == len(ev)


def test_same_store_gives_byte_identical_exports(exported, tmp_path) -> None:
    db, out, _ = exported
    time.sleep(2.1)  # zip entries keep 2-second times, openpyxl stamps seconds: a second run must not differ
    with Store(db, read_only=True) as store:
        ex.export(store, tmp_path, {"inputs": []}, ExportSettings(include_page_text=True))
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(p.name for p in tmp_path.iterdir())
    differ = [f for f in files if (out / f).read_bytes() != (tmp_path / f).read_bytes()]
    assert differ == ["manifest.json"]
    a, b = (json.loads((d / "manifest.json").read_text(encoding="utf-8")) for d in (out, tmp_path))
    assert a.pop("exported_at") and b.pop("exported_at")
    assert a == b
    assert a["files"]["participants.csv"] == ex.sha256_path(out / "participants.csv")


def test_formats_can_be_chosen_and_unknown_dates_fail_with_the_value(tmp_path) -> None:
    from pipeline.errors import ExportError

    db = make_store(tmp_path / "corpus.duckdb")
    with Store(db, read_only=True) as store:
        ex.export(store, tmp_path / "csv", {}, ExportSettings(), formats=["csv"])
    assert not list((tmp_path / "csv").glob("*.dta")) and (tmp_path / "csv" / "edges.csv").is_file()
    with pytest.raises(ExportError, match="'2019年3月'"):
        ex.typed(pd.DataFrame({"date": ["2019年3月"]}), [ex.Column("date", "date", "d")])
