"""The bundled sample corpus: generated deterministically, gold consistent with the PDFs."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pypdfium2
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "corpora" / "make_sample.py"
SAMPLE = ROOT / "corpora" / "sample"
GOLD = SAMPLE / "gold.jsonl"

DOC_CLASSES = {
    "joint_meeting", "joint_meeting_system_document", "joint_meeting_office_activity",
    "coordination_meeting_other", "cooperation_agreement_or_mechanism", "joint_meeting_international", "other",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_gold() -> list[dict]:
    with open(GOLD, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return read_gold()


def test_script_is_deterministic_and_matches_committed_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert sha256(first / name) == sha256(second / name), f"{name} differs between two runs"
    committed = sorted(p.name for p in SAMPLE.iterdir() if p.suffix in {".pdf", ".jsonl"})
    assert committed == sorted(n for n in names if n.endswith((".pdf", ".jsonl")))
    for name in committed:
        assert sha256(SAMPLE / name) == sha256(first / name), f"corpora/sample/{name} is stale: rerun the script"


def test_corpus_has_at_least_40_pdfs():
    assert len(list(SAMPLE.glob("*.pdf"))) >= 40


def test_every_gold_line_is_valid_and_names_an_existing_pdf(gold):
    ids = [r["id"] for r in gold]
    assert len(ids) == len(set(ids))
    for r in gold:
        assert set(r) >= {"id", "date", "title", "file", "gold"}
        assert (GOLD.parent / r["file"]).is_file(), r["file"]
        date.fromisoformat(r["date"])
        g = r["gold"]
        assert g["doc_class"] in DOC_CLASSES
        assert set(g["participant_mentions"]) == set(g["participants"]), r["id"]
        assert (g["depth"] is None) == (g["doc_class"] == "other"), r["id"]
        assert g["session"] is None or isinstance(g["session"], int)
        if g["meeting_date"]:
            date.fromisoformat(g["meeting_date"])
    assert {r["file"] for r in gold} == {p.name for p in SAMPLE.glob("*.pdf")}


def test_every_mention_and_title_is_in_the_pdf_text(gold):
    for r in gold:
        text = squash(pdf_text(GOLD.parent / r["file"]))
        assert squash(r["title"]) in text, r["id"]
        for name, mention in r["gold"]["participant_mentions"].items():
            assert squash(mention) in text, f"{r['id']}: {name} → {mention!r}"


def test_pdfs_have_page_footers_and_varied_length(gold):
    pages = {}
    for r in gold:
        pdf = pypdfium2.PdfDocument(GOLD.parent / r["file"])
        pages[r["id"]] = len(pdf)
        last = pdf[len(pdf) - 1].get_textpage().get_text_range()
        pdf.close()
        assert f"— {pages[r['id']]} —" in last, r["id"]
    assert min(pages.values()) == 1 and max(pages.values()) >= 5


def test_years_span_at_least_ten(gold):
    years = {int(r["date"][:4]) for r in gold}
    assert max(years) - min(years) >= 10


def test_required_blocs_classes_and_series_appear(gold):
    regions = [set(r["gold"]["regions"]) for r in gold]
    assert any({"上海市", "江苏省", "浙江省", "安徽省"} <= s for s in regions), "长三角"
    assert any({"北京市", "天津市", "河北省"} <= s for s in regions), "京津冀"
    assert any({"香港特别行政区", "澳门特别行政区", "广东省", "云南省"} <= s for s in regions), "泛珠三角"
    assert any({"四川省", "重庆市"} <= s for s in regions), "川渝"
    series = {r["gold"]["series"] or "" for r in gold}
    assert sum("部际联席会议" in s for s in series) >= 3
    assert any("泛珠三角" in s for s in series) and any("长三角" in s for s in series)
    assert {r["gold"]["doc_class"] for r in gold} == DOC_CLASSES
    negatives = [r for r in gold if r["gold"]["doc_class"] not in {"joint_meeting"}]
    assert len(negatives) >= 10
