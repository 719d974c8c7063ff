"""Shared fixtures: the real corpora beside the clone, settings isolated in tmp_path, one Prefect harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT.parent / "shared" / "corpora").resolve()
SAMPLE = ROOT / "corpora" / "sample"

os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora (real data nobody here wrote); tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED}: these tests need ../shared/corpora beside the clone")
    return SHARED


@pytest.fixture(scope="session")
def dev_gold(corpora_dir: Path) -> Path:
    path = corpora_dir / "dev" / "gold.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def shared_pdfs(corpora_dir: Path) -> Path:
    path = corpora_dir / "pdfs"
    if not (path / "manifest.jsonl").is_file():
        pytest.skip(f"{path}/manifest.jsonl is absent")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def settings_factory(tmp_path: Path):
    """Settings from the project's config.yaml with the store (and models) moved into tmp_path.
    Keyword overrides use `section__key=value`."""
    from pipeline.settings import read_settings

    def make(**overrides):
        base = {"store__root": str(tmp_path / "data"), "topics__models_dir": str(tmp_path / "models")}
        base.update(overrides)
        return read_settings(ROOT / "config.yaml", **base)

    return make


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session, flow heartbeats off (as Prefect's own tests do)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture
def sample_batch(tmp_path: Path):
    """Copy the first `n` sample PDFs into a new folder `tmp_path/<name>` (a batch a user dropped somewhere);
    return (folder, the original PDFs)."""
    import shutil

    def make(n: int, name: str = "batch") -> tuple[Path, list[Path]]:
        pdfs = sorted(SAMPLE.glob("*.pdf"))[:n]
        if len(pdfs) < n:
            pytest.fail(f"{SAMPLE} has {len(pdfs)} PDFs, {n} needed: run `make sample`")
        folder = tmp_path / name
        folder.mkdir()
        for p in pdfs:
            shutil.copy(p, folder / p.name)
        return folder, pdfs

    return make


@pytest.fixture(scope="session")
def lexicons(tmp_path_factory) -> tuple[Path, Path]:
    """The project's gazetteer folder and a user dictionary generated from it (as `make run` does)."""
    from pipeline import segment
    from pipeline.gazetteer import load_gazetteer

    lex = ROOT / "corpora" / "lexicons"
    udict = segment.write_user_dictionary(load_gazetteer(lex), tmp_path_factory.mktemp("lex") / "user_dict.txt",
                                          lex / "domain_terms.txt")
    return lex, udict


@pytest.fixture(scope="session")
def tagger(lexicons):
    """The whole tagger with the shipped models, on a text read as `jmm run` reads a JSON Lines record (the title,
    when not given, is the text's first line or its opening words): tagger(text, date, title="") → (Tagged,
    candidates)."""
    from pipeline import candidates, process, segment
    from pipeline.collect import record_id
    from pipeline.records import Source
    from pipeline.settings import read_settings

    lex, udict = lexicons
    settings = read_settings(ROOT / "config.yaml", segment__user_dictionary=str(udict))

    def run(text: str, date: str | None = "2020-06-01", title: str = ""):
        rec = {"id": "t", "date": date, "title": title or None, "text": text}
        doc = process.read(Source(record_id(rec), "t", "jsonl-record", 0), settings, rec, date)
        words = segment.words(doc.text, udict)
        return process.tag_document(doc, words, settings), candidates.find(doc, words, lex, udict)

    return run
