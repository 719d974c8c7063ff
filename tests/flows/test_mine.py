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
