"""Office formats the pipeline does not parse itself: legacy Word (.doc), WPS Writer (.wps), RTF, ODF and Excel
sheets are converted by LibreOffice headless (`extract.convert: libreoffice`) — documents to DOCX, sheets to
tab-separated text, every sheet of a workbook — and read from the converted copy; the original is never
changed. Kinds nothing here can read (OFD, CAJ, presentations…) and convertible kinds without a converter are
named by `unreadable`, with what to do, so the run quarantines them instead of skipping them in silence.

LibreOffice runs as `soffice.bin` directly (not through the `soffice` shell script and its `oosplash` launcher),
so the process the pipeline starts is the one doing the work: it gets a parent-death signal, its own session
and a time limit (`extract.convert_timeout_s`), and is killed with its process group when the time is up.
Each process that converts keeps its own LibreOffice profile (two profiles cannot be shared at once)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import ExtractionError
from pipeline.settings import Converter, ExtractSettings

#: Word-processor kinds LibreOffice Writer reads: converted to DOCX.
WRITER = {"doc": "Word 97–2003 document (.doc)", "wps": "WPS Writer document (.wps)",
          "rtf": "RTF document (.rtf)", "odt": "OpenDocument text (.odt)"}
#: Spreadsheet kinds LibreOffice Calc reads: converted to XLSX, then read as XLSX is.
CALC = {"xls": "Excel 97–2003 workbook (.xls)", "ods": "OpenDocument spreadsheet (.ods)"}
#: Spreadsheet kinds read here without a converter (openpyxl): every sheet as tab-separated text.
SHEETS = {"xlsx": "Excel workbook (.xlsx)"}
#: Kinds of documents no converter here reads, with what the user can do instead.
UNREADABLE = {
    "ofd": ("OFD document (.ofd, the GB/T 33190 fixed-layout format)",
            "open it in an OFD reader (e.g. 数科OFD阅读器 or 福昕OFD版式办公套件), export or print it to PDF, and add the PDF"),
    "caj": ("CAJ document (.caj, CNKI)", "open it in CAJViewer, print it to PDF, and add the PDF"),
    "et": ("WPS spreadsheet (.et)", "save it in WPS as .xlsx or .xls and add that file"),
    "dps": ("WPS presentation (.dps)", "export it to PDF in WPS and add the PDF"),
    "ppt": ("PowerPoint presentation (.ppt)", "export it to PDF and add the PDF"),
    "pptx": ("PowerPoint presentation (.pptx)", "export it to PDF and add the PDF"),
}
#: Every kind this module knows, by file suffix.
SUFFIXES = {f".{k}": k for k in (*WRITER, *CALC, *SHEETS, *UNREADABLE)}
#: The kinds `converted` turns into something extract reads.
KINDS = frozenset((*WRITER, *CALC, *SHEETS))

#: The Debian packages that provide the converter (what to install when it is missing).
PACKAGES = "libreoffice-writer-nogui libreoffice-calc-nogui"

_RESTART = 81  # soffice.bin's exit status after it created a new profile: run it again


def describe(kind: str) -> str:
    """A reader's name for a kind ("Word 97–2003 document (.doc)")."""
    known = {**WRITER, **CALC, **SHEETS, **{k: what for k, (what, _todo) in UNREADABLE.items()}}
    return known.get(kind, f".{kind} file")


@functools.cache
def find_libreoffice() -> Path | None:
    """LibreOffice's `soffice.bin` (or, on a system without it beside `soffice`, `soffice` itself); None when
    LibreOffice is not installed."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        return None
    real = Path(found).resolve()
    binary = real.with_name("soffice.bin")
    return binary if binary.is_file() and os.access(binary, os.X_OK) else real


def unreadable(path: Path | str, kind: str | None, settings: ExtractSettings) -> str | None:
    """Why an input of this kind cannot be read now, naming the file, its kind and what to do; None when the
    pipeline can read it (itself, or through the converter)."""
    if kind is None:
        suffix = Path(path).suffix.lower() or "(no suffix)"
        office = ", ".join(sorted(f".{k}" for k in (*WRITER, *CALC)))
        return (f"{path}: a {suffix} file is not a kind jmm reads (PDF, TXT, HTML, DOCX, XLSX, JSON Lines; with "
                f"LibreOffice also {office}); convert it to PDF or DOCX and add that file")
    if kind in UNREADABLE:
        what, todo = UNREADABLE[kind]
        return f"{path}: {what} cannot be read by jmm; {todo}"
    if kind not in WRITER and kind not in CALC:
        return None
    if settings.convert is Converter.none:
        return (f"{path}: {describe(kind)} is read only through LibreOffice, and extract.convert is none; set "
                f"extract.convert: libreoffice in config.yaml (LibreOffice: Debian packages {PACKAGES}) and run "
                f"`jmm run --retry`, or save the file as PDF or DOCX and add that file")
    if find_libreoffice() is None:
        return (f"{path}: {describe(kind)} is read through LibreOffice, which is not installed; install it "
                f"(`apt-get install {PACKAGES}`) and run `jmm run --retry`, or save the file as PDF or DOCX and add "
                f"that file")
    return None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: LibreOffice never outlives the process that started it


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # resolved before any fork
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _PRCTL = None


_PROFILE_PREFIX = "jmm-libreoffice-"


@functools.cache
def _profile() -> Path:
    """This process's LibreOffice profile folder (made on first use, removed when the process exits). The
    extraction helper that converts is killed rather than asked to exit, so the profiles of processes that are
    gone are removed here first."""
    for old in Path(tempfile.gettempdir()).glob(f"{_PROFILE_PREFIX}*-*"):
        pid = old.name[len(_PROFILE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{_PROFILE_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _soffice(binary: Path, args: list[str], source: Path, timeout_s: float) -> None:
    """Run LibreOffice headless on one file; raise ExtractionError naming it when it fails or runs too long."""
    cmd = [str(binary), "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
           f"-env:UserInstallation={_profile().as_uri()}", *args]
    env = {**os.environ, "SAL_USE_VCLPLUGIN": "svp", "HOME": str(_profile())}
    for _attempt in range(2):  # a new profile makes soffice.bin exit with 81 once: run it again
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True,
                                preexec_fn=_die_with_parent if _PRCTL is not None else None)
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ExtractionError(
                f"{source}: LibreOffice did not convert the file within extract.convert_timeout_s={timeout_s:g} s "
                f"and was stopped; the file may be damaged — open it in an office program and save it as PDF or "
                f"DOCX, or raise extract.convert_timeout_s") from None
        if proc.returncode != _RESTART:
            break
    if proc.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise ExtractionError(f"{source}: LibreOffice failed to convert the file (exit status {proc.returncode}"
                              f"{'; ' + tail[0] if tail[0] else ''}); it is probably damaged or protected by a "
                              f"password — open it in an office program and save it as PDF or DOCX")


@contextlib.contextmanager
def converted(path: Path, kind: str, settings: ExtractSettings) -> Iterator[tuple[str, Path]]:
    """Convert `path` (a kind of KINDS) in a temporary folder; yield (kind, file) of the copy to read: ("docx", a
    DOCX) for documents, ("txt", UTF-8 text with each sheet's name above its tab-separated rows) for workbooks.
    Raise ExtractionError naming the file when it cannot be converted."""
    reason = unreadable(path, kind, settings)
    if reason:
        raise ExtractionError(reason)
    with tempfile.TemporaryDirectory(prefix="jmm-convert-") as tmp:
        work = Path(tmp)
        if kind in SHEETS:
            text = work / "sheets.txt"
            text.write_text(sheets_text(path), encoding="utf-8")
            yield "txt", text
            return
        binary = find_libreoffice()
        assert binary is not None  # unreadable() said so
        # a copy under a plain name: LibreOffice chooses a filter by the suffix, and names its output after the input
        src = work / f"input.{kind}"
        shutil.copyfile(path, src)
        out = work / "out"
        if kind in WRITER:
            _soffice(binary, ["--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(src)], path,
                     settings.convert_timeout_s)
            result = out / "input.docx"
            if not result.is_file():
                raise ExtractionError(f"{path}: LibreOffice did not recognise it as a {describe(kind)}; the file "
                                      f"is probably of another kind or damaged — open it and save it as PDF or DOCX")
            yield "docx", result
            return
        _soffice(binary, ["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)], path,
                 settings.convert_timeout_s)
        book = out / "input.xlsx"
        if not book.is_file():
            raise ExtractionError(f"{path}: LibreOffice did not recognise it as a {describe(kind)}; the file is "
                                  f"probably of another kind or damaged — open it and save it as PDF")
        text = work / "sheets.txt"
        text.write_text(sheets_text(book, path), encoding="utf-8")
        yield "txt", text


def sheets_text(book: Path, source: Path | None = None) -> str:
    """The text of every sheet of an XLSX workbook, in the workbook's order: the sheet's name, then one line per
    row with the cells joined by tabs (empty rows left out); sheets apart by a blank line."""
    import openpyxl

    where = source or book
    try:
        wb = openpyxl.load_workbook(book, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types (zipfile, KeyError, lxml) on broken files
        raise ExtractionError(f"{where}: not a readable Excel workbook ({type(exc).__name__}: {exc}); open it and "
                              f"save it again, or save it as PDF") from exc
    parts = []
    try:
        for ws in wb.worksheets:
            rows = ["\t".join(_cell(v) for v in row).rstrip("\t") for row in ws.iter_rows(values_only=True)]
            body = "\n".join(r for r in rows if r.strip())
            if body:
                parts.append(f"{ws.title}\n{body}")
    finally:
        wb.close()
    return "\n\n".join(parts)


def _cell(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\t", " ").replace("\n", " ")
