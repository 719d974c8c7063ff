"""Recognise the text of a rendered PDF page with tesseract, and tidy OCR output of Chinese text.

Guarantees: `page_text` returns text whose spaces between CJK characters are removed and whose half-width
punctuation between Chinese characters is full width; it raises OcrError (never another type) when
tesseract is missing, lacks the language or fails on the image.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import subprocess
from typing import Any

from pipeline.errors import ExtractionError

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


class OcrError(ExtractionError):
    """OCR could not run on a page (engine or language missing, engine failure)."""


def available(language: str = "chi_sim") -> bool:
    """Whether tesseract is installed with `language` (e.g. chi_sim, or chi_sim+eng)."""
    if shutil.which("tesseract") is None:
        return False
    have = load_languages()
    return all(lang in have for lang in language.split("+"))


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


def image_text(image: Any, language: str = "chi_sim", psm: int = 3, timeout_s: float = 120.0) -> str:
    """Recognise the text of a PIL image with tesseract and tidy it (see `tidy`)."""
    import pytesseract

    if not available(language):
        raise OcrError(f"tesseract with language {language!r} is not installed "
                       f"(apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    try:
        raw = pytesseract.image_to_string(image, lang=language, config=f"--psm {psm}", timeout=timeout_s)
    except RuntimeError as exc:  # pytesseract raises RuntimeError on timeout
        raise OcrError(f"tesseract did not finish within {timeout_s:g} s ({exc})") from exc
    except (pytesseract.TesseractError, OSError) as exc:
        raise OcrError(f"tesseract failed: {exc}") from exc
    return tidy(raw)


def page_text(page: Any, language: str = "chi_sim", dpi: int = 300, psm: int = 3,
              timeout_s: float = 120.0) -> str:
    """Render a pypdfium2 page at `dpi` (grey) and recognise its text (see `image_text`)."""
    import pypdfium2 as pdfium

    try:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    except (pdfium.PdfiumError, ValueError, MemoryError) as exc:
        raise OcrError(f"page cannot be rendered for OCR ({type(exc).__name__}: {exc})") from exc
    return image_text(image, language, psm, timeout_s)
