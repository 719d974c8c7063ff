"""process.one/batch on bad inputs generated here: each is quarantined with a reason that names the file,
says what is wrong and what to do; limits of `extract` (pages, seconds, memory) stop a document, not the batch."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import threading
import time
import zlib
from pathlib import Path

import pytest

from pipeline import isolate, process
from pipeline.collect import sources
from pipeline.records import Source
from pipeline.store import sha256_file

GOOD_TEXT = ("长三角地区主要领导座谈会在上海召开\n"
             "2019年5月22日，长三角地区主要领导座谈会在安徽省芜湖市召开。上海市、江苏省、浙江省、安徽省主要负责同志"
             "出席会议。会议审议通过了《长三角地区一体化发展三年行动计划》，建立了联席会议制度和办公室。")
GB_TEXT = ("京津冀协同发展联席会议第三次会议在天津召开。北京市、天津市、河北省有关部门负责同志参加会议，"
           "会议研究了交通一体化、生态环境保护和产业转移等重点领域合作事项。")


def pdf_bytes(lines: list[str], font: str = "STSong-Light", pages: int = 1,
              size: tuple[float, float] = (595, 842)) -> bytes:
    """A small real PDF with a text layer (reportlab, CID font so Chinese text extracts)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size, invariant=1)
    for _ in range(pages):
        c.setFont(font, 12)
        y = size[1] - 40
        for line in lines:
            c.drawString(40, y, line)
            y -= 18
        c.showPage()
    c.save()
    return buf.getvalue()


def many_pages_pdf(path: Path, n: int) -> Path:
    """A PDF of `n` pages that all share one Chinese content stream (cheap to write, slow to read)."""
    import pikepdf

    src = pikepdf.open(io.BytesIO(pdf_bytes([GOOD_TEXT[:30]] * 40)))
    page = src.pages[0]
    for _ in range(n - 1):
        src.pages.append(page)
    src.save(path)
    return path


def image_pdf(path: Path, width: int, height: int, page_pt: float) -> Path:
    """A page that is one black-and-white image of width×height pixels and no text (a scan with nothing to extract),
    written without ever holding the pixels: the zlib stream of zeros is made in chunks."""
    import pikepdf

    comp = zlib.compressobj(1)
    row = bytes(-(-width // 8))  # one bit per pixel
    chunks = [comp.compress(row * 256) for _ in range(height // 256)]
    data = b"".join(chunks) + comp.compress(row * (height % 256)) + comp.flush()
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                           Height=height, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1,
                           Filter=pikepdf.Name.FlateDecode)
    content = pikepdf.Stream(pdf, f"q {page_pt} 0 0 {page_pt} 0 0 cm /Im0 Do Q".encode())
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, page_pt, page_pt], Contents=content,
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))))
    pdf.save(path)
    return path


#: file name → (what is wrong: a pattern the reason must match). None: processed, not quarantined.
BAD = {
    "zero-byte.pdf": r"empty|0 bytes",
    "truncated.pdf": r"PDF|damaged|readable",
    "random-bytes.pdf": r"PDF|damaged|readable",
    "web-page-saved-as.pdf": r"PDF|damaged|readable|HTML",
    "encrypted.pdf": r"encrypt|password",
    "three-thousand-pages.pdf": r"3000 pages.*extract\.max_pages",
    "enormous-image.pdf": r"OCR|text layer|no text",
    "scan-without-ocr.pdf": r"OCR|text layer|no text",
    "english.pdf": r"Chinese|OCR|text layer",
    "english.txt": r"not a Chinese document",
    "random-bytes.docx": r"DOCX|readable|damaged",
}
GOOD = {"good.pdf": "长三角地区主要领导座谈会", "good.txt": "长三角地区主要领导座谈会",
        "gbk.txt": "京津冀协同发展联席会议", "gb18030.txt": "京津冀协同发展联席会议",
        "z-copy-of-good.txt": "长三角地区主要领导座谈会"}


def make_bad_inputs(folder: Path) -> Path:
    """Write every kind of bad input (and a few good ones) into `folder`; names are the keys of BAD/GOOD."""
    import pikepdf

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(9)
    good_pdf = pdf_bytes([GOOD_TEXT[i:i + 38] for i in range(0, len(GOOD_TEXT), 38)])
    (folder / "good.pdf").write_bytes(good_pdf)
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "z-copy-of-good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "gbk.txt").write_bytes(GB_TEXT.encode("gbk"))
    (folder / "gb18030.txt").write_bytes((GB_TEXT + "𠀀").encode("gb18030"))  # a 4-byte GB18030 character
    (folder / "zero-byte.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    (folder / "random-bytes.pdf").write_bytes(rng.randbytes(20_000))
    (folder / "web-page-saved-as.pdf").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>通知</title></head><body><p>{GOOD_TEXT}</p>"
        "</body></html>", encoding="utf-8")
    with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
        pdf.save(folder / "encrypted.pdf", encryption=pikepdf.Encryption(owner="owner", user="secret", R=6))
    many_pages_pdf(folder / "three-thousand-pages.pdf", 3000)
    image_pdf(folder / "enormous-image.pdf", 20_000, 20_000, 14_400)
    image_pdf(folder / "scan-without-ocr.pdf", 1_000, 1_400, 595)
    (folder / "english.pdf").write_bytes(pdf_bytes(["The annual report of the board was approved.",
                                                    "Nothing in this document is written in Chinese."],
                                                   font="Helvetica"))
    (folder / "english.txt").write_text("The committee met on 3 May 2021 and approved the budget. " * 20,
                                        encoding="utf-8")
    (folder / "random-bytes.docx").write_bytes(rng.randbytes(5_000))
    return folder


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bad_inputs(tmp_path_factory.mktemp("bad"))


def _source(path: Path) -> Source:
    return next(sources(path, bulletin_titles=None))[0]


def test_bad_inputs_are_quarantined_with_reasons_and_good_ones_processed(bad_dir, settings_factory):
    settings = settings_factory(extract__ocr="none")
    srcs = [_source(bad_dir / name) for name in [*BAD, *GOOD]]
    outcomes = {Path(o.source.path).name: o for o in process.batch(srcs, settings)}
    for name, what in BAD.items():
        o = outcomes[name]
        assert o.document is None, f"{name} was not quarantined"
        assert str(bad_dir / name) in o.reason, o.reason
        assert re.search(what, o.reason, re.I), f"{name}: {o.reason}"
    for name, text in GOOD.items():
        o = outcomes[name]
        assert o.document is not None, f"{name}: {o.reason}"
        assert text in o.document.text
        assert o.tagged is not None and o.tokens
    assert "𠀀" in outcomes["gb18030.txt"].document.text


def test_our_own_reasons_say_what_to_do(bad_dir, settings_factory):
    settings = settings_factory(extract__ocr="none")
    for name in ("three-thousand-pages.pdf", "english.txt"):
        o = process.one(_source(bad_dir / name), settings)
        assert re.search(r"split|raise|remove", o.reason), o.reason


def test_a_document_over_the_time_limit_is_stopped_and_the_next_one_runs(tmp_path, bad_dir, settings_factory):
    slow = many_pages_pdf(tmp_path / "slow.pdf", 1000)
    settings = settings_factory(extract__ocr="none", extract__max_pages=5000, extract__seconds_per_document=0.5)
    t0 = time.perf_counter()
    o = process.one(_source(slow), settings)
    took = time.perf_counter() - t0
    assert o.document is None and "extract.seconds_per_document=0.5 s" in o.reason, o.reason
    assert took < 10, f"the time limit of 1 s stopped the document only after {took:.1f} s"
    after = process.one(_source(bad_dir / "good.pdf"), settings)
    assert after.document is not None, after.reason


def test_a_file_over_the_memory_limit_is_stopped(tmp_path, settings_factory):
    big = tmp_path / "big.txt"
    with big.open("w", encoding="utf-8") as f:
        for _ in range(1200):
            f.write(GOOD_TEXT * 500 + "\n")  # about 150 MB of Chinese text; the helper itself needs about 130 MB
    settings = settings_factory(extract__memory_mb_per_worker=300)
    o = process.one(_source(big), settings)
    assert o.document is None
    assert "extract.memory_mb_per_worker=300 MB" in o.reason, o.reason


def test_a_parser_crash_is_a_reason_not_a_dead_worker(tmp_path, bad_dir, settings_factory):
    slow = many_pages_pdf(tmp_path / "slow.pdf", 1000)
    settings = settings_factory(extract__ocr="none", extract__max_pages=5000)
    assert process.one(_source(bad_dir / "good.pdf"), settings).document is not None  # the helper is up
    ex = isolate.load_extractor(settings.extract.memory_mb_per_worker)

    def crash() -> None:  # what a segfault in the parser looks like from outside: the helper dies
        time.sleep(1.0)
        ex._proc.kill()

    threading.Thread(target=crash).start()
    o = process.one(_source(slow), settings)
    assert o.document is None and "crashed" in o.reason and "SIGKILL" in o.reason, o.reason
    assert process.one(_source(bad_dir / "good.pdf"), settings).document is not None


def test_json_lines_records_stay_in_process_and_bad_lines_are_reasons(tmp_path, settings_factory):
    path = tmp_path / "news.jsonl"
    good = {"id": "n1", "date": "2019-05-22", "title": "长三角", "text": GOOD_TEXT}
    path.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{not json", "[1, 2]",
                               json.dumps({"id": "n2", "text": ""}), json.dumps({"id": "n3", "text": "Hello world, "
                                                                                 "this is English."})]) + "\n",
                    encoding="utf-8")
    found = list(sources(path, bulletin_titles=None))
    errors = [e for _s, _r, e in found if e]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3"]
    isolate._local.__dict__.clear()
    outcomes = process.batch([s for s, _r, e in found if not e], settings_factory())
    assert getattr(isolate._local, "extractor", None) is None  # no helper process for records
    assert outcomes[0].document is not None and outcomes[0].document.external_id == "n1"
    assert str(path) in outcomes[1].reason and "'text'" in outcomes[1].reason
    assert f"{path} line 5: not a Chinese document" in outcomes[2].reason


def test_a_damaged_gzip_of_records_keeps_the_records_before_the_damage(tmp_path, settings_factory):
    lines = [json.dumps({"id": f"n{i}", "date": "2020-01-01", "text": GOOD_TEXT + str(i)}, ensure_ascii=False)
             for i in range(50)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "news.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    got = []
    with pytest.raises(Exception) as info:
        for s, r, e in sources(path, bulletin_titles=None):
            got.append(s)
    assert "news.jsonl.gz" in str(info.value)
    outcomes = process.batch(got, settings_factory())
    assert got and all(o.document is not None for o in outcomes)


@pytest.mark.parametrize("text, kind, expected, inferred", [
    ("会议于2019年10月15日在上海召开。\n二〇一九年十月二十日", "pdf", "2019-10-20", False),  # the signature date
    ("6月20日，全国农民工工作部际联席会议第一次全体会议在北京召开。会议审议通过了2013年工作要点。", "pdf",
     "2013-06-20", True),
    ("会议研究了2021年和2022年的工作，明确2022年重点任务。", "txt", "2022-01-01", True),
    ("会议在北京召开。", "txt", None, False),
])
def test_document_date_from_the_text(text, kind, expected, inferred):
    from pipeline.process import _with_date
    from pipeline.records import Document

    doc = _with_date(Document("a" * 64, "x", "t", None, text, kind=kind))
    assert doc.date == expected
    assert any("inferred" in w for w in doc.warnings) is inferred
