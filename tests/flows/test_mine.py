"""Smoke test of the `mine` flow on the bundled sample corpus: real PDFs, a real Prefect flow run, a real
DuckDB file; a second run of the same batch adds nothing and changes no output byte."""

import csv
import json
from pathlib import Path

import pytest

TABLES = ("documents", "participants", "meetings", "collaboration", "topics", "doc_topics", "topic_prevalence")


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "manifest.json"}


def _manifest(out: Path) -> dict:
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m.pop("exported_at", None)
    return m


@pytest.fixture(scope="module")
def two_runs(prefect_harness, sample_dir, tmp_path_factory):
    from flows.mine import run_mine
    from pipeline.settings import read_settings

    pdfs = sorted(sample_dir.glob("*.pdf"))
    if len(pdfs) < 40:
        pytest.fail(f"the sample corpus in {sample_dir} has {len(pdfs)} PDFs; run `make sample`")
    tmp = tmp_path_factory.mktemp("mine")
    root = Path(__file__).resolve().parents[2]
    settings = read_settings(root / "config.yaml", store__root=str(tmp / "data"),
                             topics__models_dir=str(tmp / "models"))
    first = run_mine([str(sample_dir)], str(tmp / "out1"), settings)
    second = run_mine([str(sample_dir)], str(tmp / "out2"), settings)
    return pdfs, tmp, first, second


def test_first_run_processes_every_sample_document(two_runs):
    pdfs, tmp, first, _ = two_runs
    assert first["new_documents"] + first["quarantined_now"] == len(pdfs)
    assert first["quarantined_now"] == 0
    with open(tmp / "out1" / "documents.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(pdfs)
    assert all(len(r["doc_id"]) == 64 for r in rows)
    assert {r["extraction"] for r in rows} <= {"text", "ocr", "mixed"}


def test_every_table_exists_with_rows_and_bom(two_runs):
    _, tmp, first, _ = two_runs
    assert first["topics"]["fitted"], first["topics"]
    for name in TABLES:
        data = (tmp / "out1" / f"{name}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), name
        assert data.count(b"\n") >= 2, f"{name}.csv has no rows"
    manifest = json.loads((tmp / "out1" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["inputs"]) == len(two_runs[0])
    assert len(manifest["config_hash"]) == 64 and manifest["code_version"]


def test_participants_come_from_the_text(two_runs):
    _, tmp, _, _ = two_runs
    with open(tmp / "out1" / "participants.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 40
    assert {"provincial", "national"} <= {r["level"] for r in rows}
    assert any(r["name"] == "上海市" and r["region_code"] == "310000" for r in rows)


def test_second_run_adds_nothing_and_changes_no_byte(two_runs):
    pdfs, tmp, first, second = two_runs
    assert second["new_documents"] == 0
    assert second["already_known"] == len(pdfs)
    assert second["documents"] == first["documents"]
    assert _files(tmp / "out1") == _files(tmp / "out2")
    assert _manifest(tmp / "out1") == _manifest(tmp / "out2")


def test_unchanged_run_keeps_up_to_date_exports(two_runs):
    from flows.mine import run_mine
    from pipeline.settings import read_settings

    pdfs, tmp, first, _ = two_runs
    root = Path(__file__).resolve().parents[2]
    settings = read_settings(root / "config.yaml", store__root=str(tmp / "data"),
                             topics__models_dir=str(tmp / "models"))
    before = (tmp / "out1" / "manifest.json").read_bytes()
    third = run_mine([str(pdfs[0].parent)], str(tmp / "out1"), settings)
    assert third["new_documents"] == 0 and third["exports_reused"]
    kept = third["topics"]  # the fit is kept, and the summary still says what it is
    assert kept["reused"] and kept["fit_id"] == first["topics"]["fit_id"] and kept["k"] == first["topics"]["k"]
    assert (tmp / "out1" / "manifest.json").read_bytes() == before  # not even the export time changed
    # a changed configuration makes them stale: written again
    changed = read_settings(root / "config.yaml", store__root=str(tmp / "data"),
                            topics__models_dir=str(tmp / "models"), export__formats=["csv"])
    fourth = run_mine([str(pdfs[0].parent)], str(tmp / "out1"), changed)
    assert not fourth["exports_reused"]


def test_sample_run_dates_its_documents_and_meetings(two_runs, sample_dir):
    """The targets of the sample, measured from the exports: every document dated (from the sample's
    metadata.csv), and the meetings whose gold states a date have it in meetings.csv (month-day dates such as
    9月25日 resolved against the document date). bench/dates.py prints the same figures."""
    _, tmp, _, _ = two_runs
    gold = {json.loads(x)["file"]: json.loads(x) for x in (sample_dir / "gold.jsonl").read_text("utf-8").splitlines()}
    with open(tmp / "out1" / "documents.csv", encoding="utf-8-sig", newline="") as f:
        docs = list(csv.DictReader(f))
    with open(tmp / "out1" / "meetings.csv", encoding="utf-8-sig", newline="") as f:
        meetings = list(csv.DictReader(f))
    assert sum(bool(d["date"]) for d in docs) >= 0.9 * len(docs)
    assert {d["date_source"] for d in docs} == {"sidecar"}
    gold_of = {d["doc_id"]: gold[Path(d["source"]).name] for d in docs}
    stated = [(m, {gold_of[i]["gold"]["meeting_date"] for i in m["doc_ids"].split(";")} - {None}) for m in meetings]
    stated = [(m, want) for m, want in stated if want]
    assert len(stated) >= 30
    right = sum(m["meeting_date"] in want for m, want in stated)
    assert right >= 0.8 * len(stated), [(m["series"], m["meeting_date"], want) for m, want in stated]


def test_sidecar_dates_documents_and_an_edit_dates_them_again(prefect_harness, sample_batch, settings_factory,
                                                              tmp_path):
    """A batch's metadata.csv gives dates, URLs and titles; a file it does not date is dated from its text;
    editing the sidecar re-dates the document on the next run; --metadata names a sidecar elsewhere."""
    from flows.mine import run_mine
    from pipeline.store import Store

    batch, pdfs = sample_batch(3)
    settings = settings_factory(topics__enabled=False, export__formats=["csv"], export__report=False)
    (batch / "metadata.csv").write_text(
        f"file,date,url\n{pdfs[0].name},2012-04-20,https://www.example.gov.cn/a.html\n{pdfs[1].name},,\n",
        encoding="utf-8")

    def dated(out: str) -> dict[str, dict]:
        with open(tmp_path / out / "documents.csv", encoding="utf-8-sig", newline="") as f:
            return {Path(r["source"]).name: r for r in csv.DictReader(f)}

    first = run_mine([str(batch)], str(tmp_path / "o1"), settings)
    rows = dated("o1")
    a = rows[pdfs[0].name]
    assert (a["date"], a["date_source"], a["source_url"]) == ("2012-04-20", "sidecar",
                                                              "https://www.example.gov.cn/a.html")
    assert rows[pdfs[1].name]["date_source"] in ("text", "none")  # no date in the sidecar: the text decides
    assert first["new_documents"] == 3
    (batch / "metadata.csv").write_text(f"file,date\n{pdfs[0].name},2012-04-21\n", encoding="utf-8")
    second = run_mine([str(batch)], str(tmp_path / "o2"), settings)
    assert second["new_documents"] == 1  # only the document whose sidecar row changed
    assert dated("o2")[pdfs[0].name]["date"] == "2012-04-21"
    (batch / "metadata.csv").unlink()
    elsewhere = tmp_path / "meta.csv"
    elsewhere.write_text(f"file,date,title\n{batch / pdfs[2].name},2013-01-02,另一个标题\n", encoding="utf-8")
    run_mine([str(batch)], str(tmp_path / "o3"), settings, metadata=str(elsewhere))
    c = dated("o3")[pdfs[2].name]
    assert (c["date"], c["date_source"], c["title"]) == ("2013-01-02", "sidecar", "另一个标题")
    with Store(tmp_path / "data" / "corpus.duckdb", read_only=True) as store:
        assert store.count("documents") == 3


def test_sample_panel_equals_what_meetings_csv_gives(two_runs):
    """The target: the panel's counts equal those recomputed from meetings.csv, on the sample run's exports."""
    import pandas as pd

    from tests.pipeline.test_export import assert_panel_matches

    _, tmp, _, _ = two_runs
    panel = pd.read_csv(tmp / "out1" / "panel.csv", encoding="utf-8-sig")
    meetings = pd.read_csv(tmp / "out1" / "meetings.csv", encoding="utf-8-sig")
    assert assert_panel_matches(panel, meetings) >= 100
    assert {"长三角", "京津冀", "成渝", "泛珠三角"} <= set(panel["bloc"])


def test_sample_topics_cover_the_coordination_documents_only(two_runs):
    """topics.corpus: coordination (the default) fits the documents whose doc_class is not `other`."""
    import pandas as pd

    _, tmp, first, _ = two_runs
    docs = pd.read_csv(tmp / "out1" / "documents.csv", encoding="utf-8-sig")
    coordination = set(docs[docs["doc_class"] != "other"]["doc_id"])
    assert 0 < len(coordination) < len(docs)
    fitted = set(pd.read_csv(tmp / "out1" / "doc_topics.csv", encoding="utf-8-sig")["doc_id"])
    assert fitted <= coordination and len(fitted) >= 0.9 * len(coordination)
    tm = pd.read_csv(tmp / "out1" / "topic_metrics.csv", encoding="utf-8-sig")
    assert set(tm["corpus"]) == {"coordination"}
    assert tm[tm["topic_id"].isna()].set_index("metric")["value"]["n_docs"] == first["topics"]["n_docs"]


def test_sample_report_charts_draw_the_panels_numbers(two_runs):
    """The target: every chart of the sample's report.html draws the numbers of its panel.csv."""
    import pandas as pd

    from tests.pipeline.test_report import assert_charts_match_panel, chart_numbers

    _, tmp, _, _ = two_runs
    page = (tmp / "out1" / "report.html").read_text(encoding="utf-8")
    panel = pd.read_csv(tmp / "out1" / "panel.csv", encoding="utf-8-sig")
    assert {"meetings", "depth", "guidance", "blocs", "bloc-types"} <= set(chart_numbers(page))
    assert assert_charts_match_panel(page, panel) >= 300


@pytest.mark.parametrize("cmd", ["python", "R"])
def test_worked_analyses_redraw_the_charts_from_out(two_runs, cmd, tmp_path):
    """examples/analysis.py (pandas + matplotlib) and examples/analysis.R (base R) read only the exports and draw
    meetings by type per year, depth over time and meetings by bloc as PNG files; the counts they print equal
    the panel's."""
    import shutil
    import subprocess
    import sys

    import pandas as pd

    _, tmp, _, _ = two_runs
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"  # only the exports the scripts need: nothing else is there to read
    out.mkdir()
    for name in ("meetings.csv", "panel.csv"):
        shutil.copy(tmp / "out1" / name, out / name)
    figures = tmp_path / "figures"
    if cmd == "R":
        rscript = shutil.which("Rscript")
        if rscript is None:
            pytest.skip("Rscript is not installed (Debian package r-base-core, installed by .ci/run)")
        args = [rscript, str(root / "examples" / "analysis.R"), str(out), str(figures)]
    else:
        args = [sys.executable, str(root / "examples" / "analysis.py"), str(out), "--to", str(figures)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("meetings_by_type.png", "depth_over_time.png", "blocs.png"):
        data = (figures / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, name
    import io

    drawn = pd.read_csv(io.StringIO(r.stdout)).set_index("year")
    panel = pd.read_csv(out / "panel.csv", encoding="utf-8-sig")
    allp = panel[(panel["bloc"] == "all") & panel["year"].notna()]
    for measure in ("meetings", "cross_regional", "cross_level", "cross_departmental"):
        want = allp[allp["measure"] == measure].set_index("year")["value"]
        got = drawn[measure]
        assert all(got.get(int(y), 0) == v for y, v in want.items()), measure
        assert got[~got.index.isin(want.index.astype(int))].eq(0).all()  # years without meetings drawn as 0
