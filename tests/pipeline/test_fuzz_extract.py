"""Fuzz extraction: mutated real PDFs (../shared/corpora/pdfs and generated ones), mutated text files and
arbitrary JSON records either give a Document or raise the project's PipelineError — never another
exception, never a hang (a per-example alarm; a hard faulthandler backstop for a hang inside C)."""

from __future__ import annotations

import faulthandler
import hashlib
import json
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline import extract
from pipeline.errors import PipelineError
from pipeline.records import Document, Source
from pipeline.settings import ExtractSettings
from tests.pipeline.test_process import GB_TEXT, GOOD_TEXT, pdf_bytes

LIMITS = ExtractSettings(ocr="none")
SECONDS = 20
FUZZ = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` in extract can swallow it."""


def _alarm(_signum, _frame):
    raise Hang


def _extract(path: Path, kind: str, record: dict | None = None) -> None:
    """Extract under an alarm; fail on anything but a Document or a PipelineError."""
    source = Source(hashlib.sha256(path.read_bytes() if path.exists() else b"").hexdigest(), str(path), kind,
                    0 if record is not None else None)
    old = signal.signal(signal.SIGALRM, _alarm)
    faulthandler.dump_traceback_later(SECONDS * 3, exit=True)  # a hang inside C never returns to Python
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        doc = extract.document(source, record, LIMITS)
        assert isinstance(doc, Document)
        assert doc.text.strip()
    except PipelineError as exc:
        assert str(exc)
    except Hang:
        pytest.fail(f"extraction of {path} did not finish within {SECONDS} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def seeds(shared_pdfs: Path) -> list[bytes]:
    """The four smallest real PDFs and two generated ones (Chinese text; a table of lines)."""
    real = sorted(shared_pdfs.glob("*.pdf"), key=lambda p: p.stat().st_size)[:4]
    lines = [GOOD_TEXT[i:i + 38] for i in range(0, len(GOOD_TEXT), 38)]
    return [p.read_bytes() for p in real] + [pdf_bytes(lines), pdf_bytes(lines * 3, pages=3)]


mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 4096)),
    st.tuples(st.just("zero"), st.floats(0, 1), st.integers(1, 4096)),
)


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    buf = bytearray(data)
    for op, where, arg in ops:
        i = int(where * len(buf)) if buf else 0
        if op == "flip" and buf:
            buf[min(i, len(buf) - 1)] = arg
        elif op == "truncate":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = arg
        elif op == "delete":
            del buf[i:i + arg]
        elif op == "zero":
            buf[i:i + arg] = bytes(len(buf[i:i + arg]))
    return bytes(buf)


@FUZZ
@given(data=st.data())
def test_mutated_pdfs_give_a_document_or_an_extraction_error(seeds, tmp_path_factory, data):
    seed = data.draw(st.sampled_from(range(len(seeds))), label="seed")
    ops = data.draw(st.lists(mutation, min_size=1, max_size=6), label="mutations")
    path = tmp_path_factory.mktemp("fuzz") / "mutated.pdf"
    path.write_bytes(mutate(seeds[seed], ops))
    _extract(path, "pdf")


texts = st.one_of(
    st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([GOOD_TEXT, GB_TEXT]).flatmap(
        lambda t: st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "big5"]).map(
            lambda enc: t.encode(enc, "replace"))),
    st.binary(max_size=4000),
)


@FUZZ
@given(body=texts, ops=st.lists(mutation, max_size=4), kind=st.sampled_from(["txt", "html", "docx"]))
def test_mutated_text_files_give_a_document_or_an_extraction_error(tmp_path_factory, body, ops, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"mutated.{kind}"
    path.write_bytes(mutate(body, ops))
    _extract(path, kind)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=200),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4),
                           max_leaves=12)


@FUZZ
@given(record=st.fixed_dictionaries({}, optional={"id": json_values, "date": json_values, "title": json_values,
                                                  "text": st.one_of(st.text(max_size=500), json_values,
                                                                    st.just(GOOD_TEXT))}))
def test_arbitrary_json_records_give_a_document_or_an_extraction_error(tmp_path_factory, record):
    path = tmp_path_factory.mktemp("fuzz") / "records.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    _extract(path, "jsonl-record", record)
