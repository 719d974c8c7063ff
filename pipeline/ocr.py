"""Recognise the text of rendered PDF pages — RapidOCR by default, tesseract as the fallback setting — and tidy
OCR output of Chinese text.

RapidOCR (`rapidocr-onnxruntime`) runs PP-OCRv4's text detection and recognition models, which its wheel
carries, on onnxruntime: nothing is downloaded at run time. Pages are OCR'd in a pool of worker processes
(`pages_text`), one page a process at a time with one inference thread each, so the pages of a document run
in parallel on every core; a worker loads the models once and serves page after page.

Guarantees: `page_text`/`pages_text` return text whose spaces between CJK characters are removed and whose
half-width punctuation between Chinese characters is full width (`tidy`), one recognised line a line, in reading
order (top to bottom, left to right along a line); they raise (or return) OcrError, never another type, when
the engine is missing, lacks the language or fails on a page.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import logging
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipeline.errors import ExtractionError
from pipeline.settings import ExtractSettings, OcrEngine

log = logging.getLogger(__name__)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】—…·「」『』〔〕"
_GAP = re.compile(f"(?<=[{_CJK}{_CJK_PUNCT}])[ \t\u3000]+(?=[{_CJK}{_CJK_PUNCT}])")
_GAP_BEFORE_DIGIT = re.compile(f"(?<=[{_CJK}{_CJK_PUNCT}]) +(?=[0-9])|(?<=[0-9]) +(?=[{_CJK}{_CJK_PUNCT}])")
_GAP_AT_PUNCT = re.compile(f"(?<=[{_CJK}]) +(?=[,.;:?!()])|(?<=[{_CJK}][,.;:?!()]) +(?=[{_CJK}0-9])|(?<=[,.;:?!()]) +(?=[{_CJK}])")
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
# half-width punctuation with Chinese on the left (or a closing bracket) and Chinese or a line end on the right
_PUNCT_AFTER_CJK = re.compile(f"(?<=[{_CJK}])[,;:?!](?=[{_CJK}（“《]|$)", re.M)
_PAREN = re.compile(f"\\((?=[{_CJK}])([^()\\n]{{0,40}}?)\\)")
_PERIOD = re.compile(f"(?<=[{_CJK}])\\.(?=$|[{_CJK}])", re.M)

#: RapidOCR finds text lines on the page scaled down to this longest side (pixels); it reads each line from the
#: page as rendered. Detection at 1,280 px finds the same lines as at full size on 200-dpi A4 pages, in a third
#: of the time; recognition scales every line to 48 px high whatever the resolution.
DETECT_SIDE = 1280
#: Recognition scores below this are dropped (RapidOCR's default).
MIN_SCORE = 0.5


class OcrError(ExtractionError):
    """OCR could not run on a page (engine or language missing, engine failure)."""


# -- engines -------------------------------------------------------------------------------------------------

def available(engine: OcrEngine | str = OcrEngine.rapidocr, language: str = "chi_sim") -> bool:
    """Whether `engine` can run here: RapidOCR importable, or tesseract installed with `language` (e.g.
    chi_sim, or chi_sim+eng)."""
    engine = OcrEngine(engine)
    if engine == OcrEngine.rapidocr:
        return importlib.util.find_spec("rapidocr_onnxruntime") is not None
    if engine == OcrEngine.tesseract:
        if shutil.which("tesseract") is None:
            return False
        have = load_languages()
        return all(lang in have for lang in language.split("+"))
    return False


def missing(engine: OcrEngine | str, language: str = "chi_sim") -> str:
    """What to install for `engine` to run (for messages about pages that need OCR)."""
    if OcrEngine(engine) == OcrEngine.rapidocr:
        return "RapidOCR is not installed (pip install rapidocr-onnxruntime, or `make setup`)"
    return (f"tesseract with language {language!r} is not installed "
            f"(apt-get install tesseract-ocr tesseract-ocr-chi-sim)")


@functools.cache
def load_languages() -> frozenset[str]:
    """The languages tesseract has installed (empty when tesseract is absent or broken)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("tesseract --list-langs failed: %s", exc)
        return frozenset()
    lines = (out.stdout + out.stderr).splitlines()
    return frozenset(x.strip() for x in lines if x.strip() and not x.lower().startswith("list of"))


@functools.cache
def load_rapidocr() -> Any:
    """RapidOCR with the PP-OCRv4 models of its wheel, loaded once per process, one inference thread (pages run
    in parallel processes instead), recognition two lines a batch (larger batches pad lines to the longest and
    run slower on CPU)."""
    from rapidocr_onnxruntime import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, rec_batch_num=2)


# -- tidying -------------------------------------------------------------------------------------------------

def tidy(text: str) -> str:
    """Tidy OCR output of Chinese text: drop spaces between CJK characters (and between CJK and digits),
    turn half-width , ; : ? ! ( ) . into full width where Chinese surrounds them."""
    out = []
    for line in text.replace("\r", "").split("\n"):
        line = _GAP.sub("", line.strip())
        line = _GAP_BEFORE_DIGIT.sub("", line)
        line = _GAP_AT_PUNCT.sub("", line)
        line = _PUNCT_AFTER_CJK.sub(lambda m: _HALF_TO_FULL[m.group()], line)
        line = _PAREN.sub(lambda m: f"（{m.group(1)}）", line)
        line = _PERIOD.sub("。", line)
        line = _GAP.sub("", line)
        out.append(line)
    return "\n".join(out)


def lines_text(boxes: list[tuple[float, float, float, float, str]]) -> str:
    """Join recognised text boxes (x0, top, x1, bottom, text) into lines: boxes whose vertical centres fall
    inside one another's extent form a line, read left to right (separated by a space); lines top to bottom."""
    rows: list[list[tuple[float, float, float, float, str]]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        centre = (box[1] + box[3]) / 2
        if rows:
            top, bottom = rows[-1][0][1], rows[-1][0][3]
            if top <= centre <= bottom:
                rows[-1].append(box)
                continue
        rows.append([box])
    return "\n".join(" ".join(b[4] for b in sorted(row, key=lambda b: b[0])) for row in rows)


# -- recognising one image -----------------------------------------------------------------------------------

def image_text(image: Any, settings: ExtractSettings | None = None) -> str:
    """Recognise the text of an image (a PIL image or a numpy array, grey or colour) with the engine of
    `settings` and tidy it (see `tidy`)."""
    settings = settings or ExtractSettings()
    if not available(settings.ocr, settings.ocr_language):
        raise OcrError(missing(settings.ocr, settings.ocr_language))
    if settings.ocr == OcrEngine.tesseract:
        return tidy(_tesseract(image, settings.ocr_language, settings.ocr_psm, settings.ocr_timeout_s))
    return tidy(_rapidocr(image))


def _tesseract(image: Any, language: str, psm: int, timeout_s: float) -> str:
    import pytesseract
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(image)
    try:
        return pytesseract.image_to_string(image, lang=language, config=f"--psm {psm}", timeout=timeout_s)
    except RuntimeError as exc:  # pytesseract raises RuntimeError on timeout
        raise OcrError(f"tesseract did not finish within {timeout_s:g} s ({exc})") from exc
    except (pytesseract.TesseractError, OSError) as exc:
        raise OcrError(f"tesseract failed: {exc}") from exc


def _rapidocr(image: Any) -> str:
    """RapidOCR's detection on the image scaled to DETECT_SIDE, recognition of each line found, cut from the
    image at full size (RapidOCR's own steps: its text_det, sorted_boxes, get_crop_img_list and text_rec)."""
    import cv2
    import numpy as np

    img = np.asarray(image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    engine = load_rapidocr()
    scale = min(1.0, DETECT_SIDE / max(img.shape[:2]))
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img
    try:
        found, _seconds = engine.text_det(small)
        if found is None or len(found) == 0:
            return ""
        found = engine.sorted_boxes(np.asarray(found, dtype=np.float32) / scale)
        read, _seconds = engine.text_rec(engine.get_crop_img_list(img, found))
    except (cv2.error, ValueError, RuntimeError) as exc:  # onnxruntime raises RuntimeError subclasses
        raise OcrError(f"RapidOCR failed: {type(exc).__name__}: {exc}") from exc
    boxes = [(float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 0].max()), float(b[:, 1].max()), text)
             for b, (text, score) in zip(found, read) if score >= MIN_SCORE and text.strip()]
    return lines_text(boxes)


def page_text(page: Any, settings: ExtractSettings | None = None) -> str:
    """Render a pypdfium2 page at `settings.ocr_dpi` (grey) and recognise its text (see `image_text`)."""
    import pypdfium2 as pdfium

    settings = settings or ExtractSettings()
    try:
        image = page.render(scale=settings.ocr_dpi / 72, grayscale=True).to_numpy()
    except (pdfium.PdfiumError, ValueError, MemoryError) as exc:
        raise OcrError(f"page cannot be rendered for OCR ({type(exc).__name__}: {exc})") from exc
    return image_text(image, settings)


def file_page_text(path: str, n: int, settings: ExtractSettings) -> str:
    """Open a PDF, render its page `n` (1-based) and recognise its text (what a pool worker runs)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise OcrError(f"cannot open the PDF for OCR ({exc})") from exc
    try:
        page = pdf[n - 1]
        try:
            return page_text(page, settings)
        finally:
            page.close()
    finally:
        pdf.close()


# -- pages in parallel ---------------------------------------------------------------------------------------

def workers(settings: ExtractSettings) -> int:
    """How many processes OCR pages at once: `ocr_workers`, or one per CPU core when it is 0."""
    return settings.ocr_workers or len(os.sched_getaffinity(0)) or 1


def pages_text(path: str, numbers: list[int], settings: ExtractSettings) -> list[str | OcrError]:
    """Recognise the text of pages `numbers` (1-based) of the PDF at `path`, in that order: each page's text,
    or the OcrError that stopped it. With more than one worker (see `workers`) the pages run in the pool of OCR
    processes, in parallel; with one, here, one after the other."""
    if not numbers:
        return []
    if workers(settings) <= 1:
        return [_page_or_error(path, n, settings) for n in numbers]
    futures: list[Future[str]] = []
    pool = load_pool(workers(settings))
    for n in numbers:
        futures.append(pool.submit(file_page_text, path, n, settings))
    out: list[str | OcrError] = []
    for n, future in zip(numbers, futures):
        try:
            out.append(future.result())
        except OcrError as exc:
            out.append(exc)
        except BrokenProcessPool as exc:  # a worker died (killed, out of memory): the next document gets a new pool
            out.append(OcrError(f"the OCR process of page {n} died ({exc})"))
            close_pool()
        except Exception as exc:  # noqa: BLE001 - any library failure on one page becomes that page's reason
            out.append(OcrError(f"OCR of page {n} failed ({type(exc).__name__}: {exc})"))
    return out


def _page_or_error(path: str, n: int, settings: ExtractSettings) -> str | OcrError:
    try:
        return file_page_text(path, n, settings)
    except OcrError as exc:
        return exc


_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def load_pool(size: int) -> ProcessPoolExecutor:
    """This process's pool of OCR processes (made on first use, kept for the next documents). Workers are
    forked when this process runs a single thread (no imports to repeat), else spawned; each dies with its
    parent."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE != size:
            if _POOL is not None:
                _POOL.shutdown(wait=False, cancel_futures=True)
            method = "fork" if threading.active_count() == 1 else "spawn"
            _POOL = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context(method),
                                        initializer=_worker_start)
            _POOL_SIZE = size
        return _POOL


def _worker_start() -> None:
    """In an OCR worker: die with the parent (a helper killed for a time-out takes its OCR with it), leave
    Ctrl-C to the parent."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@atexit.register
def close_pool() -> None:
    """Stop the OCR processes of this process: pages not started are cancelled, a page being read is finished."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL = None
