"""convert: Word 97 (.doc), WPS Writer (.wps) and Excel 97 (.xls) files are read through LibreOffice headless;
XLSX is read directly; kinds nothing reads (OFD…) and convertible kinds without a converter get a reason naming
the file, its kind and what to do. The legacy files are real: written by LibreOffice from DOCX/XLSX made here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline import convert, extract, process
from pipeline.errors import ExtractionError
from pipeline.records import Source
from pipeline.settings import ExtractSettings
from pipeline.store import sha256_file

TITLE = "长三角地区主要领导座谈会在芜湖召开"
BODY = "10月15日，长三角地区主要领导座谈会在安徽省芜湖市召开。上海市、江苏省、浙江省、安徽省主要领导出席会议。"
SETTINGS = ExtractSettings(ocr="none")


def _soffice() -> Path:
    found = convert.find_libreoffice()
    if found is None:
        pytest.skip("LibreOffice is not installed (bash .ci/run installs libreoffice-writer-nogui and "
                    "libreoffice-calc-nogui)")
    return found


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> dict[str, Path]:
    """Real legacy office files: a .doc and a .xls saved by LibreOffice (MS Word 97 / MS Excel 97 filters) from a
    DOCX and an XLSX written here, and the same .doc named .wps (WPS Writer saves its .wps in that binary format)."""
    import docx
    import openpyxl

    _soffice()
    folder = tmp_path_factory.mktemp("legacy")
    d = docx.Document()
    d.add_paragraph(TITLE)
    d.add_paragraph(BODY)
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "成员单位", (0, 1): "职责", (1, 0): "江苏省发展改革委", (1, 1): "牵头"}.items():
        table.cell(r, c).text = text
    d.save(folder / "notice.docx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "成员名单"
    for row in (["序号", "成员单位", "职务"], [1, "上海市发展改革委", "主任"], [2, "浙江省发展改革委", "副主任"]):
        ws.append(row)
    wb.create_sheet("联络员").append(["安徽省发展改革委", "联络员"])
    wb.save(folder / "members.xlsx")
    profile = folder / "profile"
    for src, target in (("notice.docx", "doc"), ("members.xlsx", "xls")):
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", target,
                        "--outdir", str(folder), str(folder / src)], check=True, capture_output=True, timeout=300)
    shutil.copyfile(folder / "notice.doc", folder / "notice.wps")
    shutil.rmtree(profile, ignore_errors=True)
    return {"doc": folder / "notice.doc", "wps": folder / "notice.wps", "xls": folder / "members.xls",
            "xlsx": folder / "members.xlsx"}


def _source(path: Path) -> Source:
    return Source(sha256_file(path), str(path), path.suffix[1:])


@pytest.mark.parametrize("kind", ["doc", "wps"])
def test_word_and_wps_documents_are_read_through_libreoffice(legacy, kind):
    doc = extract.document(_source(legacy[kind]), settings=SETTINGS)
    assert doc.kind == kind and doc.title == TITLE
    assert BODY in doc.text
    assert "成员单位" in doc.text and "江苏省发展改革委" in doc.text  # the table's cells too
    assert legacy[kind].read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the original is untouched


@pytest.mark.parametrize("kind", ["xls", "xlsx"])
def test_every_sheet_of_a_workbook_is_read_in_order(legacy, kind):
    doc = extract.document(_source(legacy[kind]), settings=SETTINGS)
    text = doc.text
    assert "成员名单" in text and "联络员" in text and text.index("成员名单") < text.index("联络员")
    assert "1\t上海市发展改革委\t主任" in text and "安徽省发展改革委\t联络员" in text


def test_a_converted_document_is_tagged_like_any_other(legacy, settings_factory):
    out = process.one(_source(legacy["doc"]), settings_factory(extract__ocr="none"))
    assert out.document is not None, out.reason
    assert {"上海市", "江苏省", "浙江省", "安徽省"} <= {p.name for p in out.tagged.participants}


def test_without_a_converter_the_reason_names_the_kind_and_what_to_do(legacy, monkeypatch):
    off = ExtractSettings(ocr="none", convert="none")
    reason = convert.unreadable(legacy["doc"], "doc", off)
    assert str(legacy["doc"]) in reason and "Word 97–2003 document (.doc)" in reason
    assert "extract.convert: libreoffice" in reason and "jmm run --retry" in reason
    with pytest.raises(ExtractionError, match="extract.convert is none"):
        extract.document(_source(legacy["wps"]), settings=off)
    monkeypatch.setattr(convert, "find_libreoffice", lambda: None)
    reason = convert.unreadable(legacy["xls"], "xls", SETTINGS)
    assert "Excel 97–2003 workbook (.xls)" in reason and "not installed" in reason
    assert "apt-get install libreoffice-writer-nogui libreoffice-calc-nogui" in reason
    assert convert.unreadable(legacy["xlsx"], "xlsx", SETTINGS) is None  # read without LibreOffice


@pytest.mark.parametrize("name, needle", [("公告.ofd", "OFD document"), ("论文.caj", "CAJViewer"),
                                          ("slides.pptx", "export it to PDF"), ("photo.jpg", "a .jpg file")])
def test_kinds_nothing_reads_are_named_with_what_to_do(name, needle):
    from pipeline.collect import kind_of

    path = Path("/data") / name
    reason = convert.unreadable(path, kind_of(path), SETTINGS)
    assert reason.startswith(f"{path}: ") and needle in reason and ("PDF" in reason)


def test_a_damaged_office_file_fails_with_a_reason_and_leaves_no_process(tmp_path):
    _soffice()
    bad = tmp_path / "damaged.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4000))
    with pytest.raises(ExtractionError) as err:
        extract.document(_source(bad), settings=SETTINGS)
    assert str(err.value).startswith(f"{bad}: ")  # LibreOffice reads it as text; the quality gate says garbled
    slow = ExtractSettings(ocr="none", convert_timeout_s=0.05)  # stopped long before LibreOffice is up
    with pytest.raises(ExtractionError, match="did not convert the file within extract.convert_timeout_s=0.05"):
        extract.document(_source(bad), settings=slow)
    profile = f"jmm-libreoffice-{os.getpid()}-"  # every LibreOffice process of this test names its profile
    left = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and profile in _cmdline(p)]
    assert not left, f"LibreOffice processes outlived their conversion: {left}"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_profiles_of_processes_that_are_gone_are_removed(tmp_path, monkeypatch):
    """The helper that converts is killed, never asked to exit: its LibreOffice profile is removed by the next."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"jmm-libreoffice-{gone.pid}-abc"
    live = tmp_path / f"jmm-libreoffice-{os.getppid()}-def"
    for folder in (stale, live):
        (folder / "user").mkdir(parents=True)
    convert._profile.cache_clear()
    try:
        mine = convert._profile()
    finally:
        convert._profile.cache_clear()
    assert not stale.exists() and live.exists() and mine.parent == tmp_path
