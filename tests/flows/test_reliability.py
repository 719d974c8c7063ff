"""A real `jmm run` on real and broken inputs: bad files are quarantined and listed by `jmm status --json`
(exit status 3); kill -9 in the middle of the document batches, run again, and the exports are byte for
byte those of an uninterrupted run; a second run on the same store at the same time refuses with a clear
message and the store is not corrupted."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.pipeline.test_process import BAD, GOOD, make_bad_inputs

ROOT = Path(__file__).resolve().parents[2]
JMM = ROOT / ".venv" / "bin" / "jmm"
N_RECORDS = 60


def _config(tmp: Path, name: str) -> Path:
    """config.yaml of the project with the store, models and Prefect home in `tmp/name`, small fast topics,
    one document per batch (so a kill lands between batches), OCR off, the thread runner."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    home = tmp / name
    cfg["store"]["root"] = "data"  # relative to the config file: both runs have the same settings hash
    cfg["topics"].update(models_dir="models", k=4, iterations=30, bootstrap=20, min_docs=10,
                         stopwords=str(ROOT / cfg["topics"]["stopwords"]))
    cfg["segment"]["user_dictionary"] = str(ROOT / cfg["segment"]["user_dictionary"])
    cfg["tag"]["gazetteer"] = str(ROOT / cfg["tag"]["gazetteer"])
    cfg["tag"]["models"] = str(ROOT / cfg["tag"]["models"])
    cfg["export"]["blocs"] = str(ROOT / cfg["export"]["blocs"])
    cfg["extract"]["ocr"] = "none"
    cfg["runner"].update(kind="thread", workers=2, batch_size=1)  # one process: quick to start on a busy CI
    cfg["collect"]["sources"] = []
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _env(tmp: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp / name / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    return env


def _jmm(tmp: Path, name: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(JMM), *args, "--config", str(tmp / name / "config.yaml")], cwd=tmp / name,
                            env=_env(tmp, name), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _wait_for(proc: subprocess.Popen, text: str, timeout: float = 300) -> None:
    """Read the process's stderr until `text` appears (kept in `proc.stderr_seen`)."""
    seen, t0 = "", time.monotonic()
    while text not in seen:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"the run ended before {text!r}:\n{seen}")
        seen += line
        assert time.monotonic() - t0 < timeout, f"no {text!r} within {timeout} s:\n{seen}"
    proc.stderr_seen = seen


def _status(tmp: Path, name: str) -> dict:
    p = _jmm(tmp, name, "status", "--json")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return json.loads(out)


def _n_stories(path: Path) -> int:
    """Documents the news file makes: one per record, one per story of a bulletin (国内联播快讯), duplicates once."""
    from pipeline import collect
    from pipeline.settings import CollectSettings

    ids = {collect.record_id(s) for _n, obj, _err in collect.read_records(path) if obj is not None
           for s in collect.stories(obj, CollectSettings().bulletin_titles) or [obj]}
    return len(ids)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, corpora_dir) -> Path:
    """Real news records (and some broken lines), generated Chinese files, and every kind of bad input."""
    folder = make_bad_inputs(tmp_path_factory.mktemp("inputs"))
    with gzip.open(corpora_dir / "xwlb" / "news.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = list(itertools.islice(f, N_RECORDS))
    lines[10:10] = ['{"id": "broken", "text": "未完\n', "[1, 2, 3]\n"]
    lines.append(lines[0])  # the same record twice: an exact duplicate
    (folder / "news.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.slow
def test_kill_resume_gives_the_same_exports_and_a_second_run_refuses(tmp_path, inputs):
    # 1. an uninterrupted run: bad inputs quarantined, exit status 3, listed by `jmm status --json`
    _config(tmp_path, "clean")
    clean = _jmm(tmp_path, "clean", "run", str(inputs), "--out", str(tmp_path / "clean" / "out"))
    out, err = clean.communicate(timeout=600)
    assert clean.returncode == 3, f"exit {clean.returncode}\n{out}\n{err}"
    assert "quarantined:" in out and "exact duplicates" in out, out
    status = _status(tmp_path, "clean")
    n_files = len(GOOD) - 1  # z-copy-of-good.txt is a duplicate
    n_news = _n_stories(inputs / "news.jsonl")
    assert n_news > N_RECORDS  # the first records hold bulletins
    assert status["documents"] == n_news + n_files
    by_file: dict[str, list[dict]] = {}
    for q in status["quarantined"]:
        assert set(q) >= {"file", "sha256", "reason"} and q["file"] in q["reason"], q
        by_file.setdefault(Path(q["file"]).name, []).append(q)
    assert set(BAD) | {"z-copy-of-good.txt"} <= set(by_file), sorted(by_file)
    assert "duplicate of" in by_file["z-copy-of-good.txt"][0]["reason"]
    news = sorted(q["reason"] for q in by_file["news.jsonl"])
    assert any("line 11: invalid JSON" in r for r in news) and any("line 12: expected a JSON object" in r
                                                                     for r in news), news
    assert any("exact duplicate of" in r for r in news), news

    # 2. the same run, killed with SIGKILL once some documents are written
    cfg = _config(tmp_path, "killed")
    wal = tmp_path / "killed" / "data" / "corpus.duckdb.wal"
    run = _jmm(tmp_path, "killed", "run", str(inputs), "--out", str(tmp_path / "killed" / "out"),
               start_new_session=True)  # its own process group, so what it started can be cleaned up after
    _wait_for(run, "started")  # the plan is written; documents come next
    base = wal.stat().st_size if wal.exists() else 0
    t0 = time.monotonic()
    while not (wal.exists() and wal.stat().st_size > base + 64_000):  # some documents, not just quarantine rows
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() - t0 < 300, "no document was written within 300 s"
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    try:  # nothing it started should outlive it (test_operations checks that); were anything left, clean it up
        os.killpg(run.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    from pipeline.settings import read_settings
    from pipeline.store import Store

    with Store(tmp_path / "killed" / "data" / "corpus.duckdb", read_only=True) as store:
        done = store.count("documents")
    n_docs = _n_stories(inputs / "news.jsonl") + n_files
    assert 0 < done < n_docs, f"killed after {done} documents: not in the middle of the batches"

    # 3. run again: it resumes, and every export file is the same, byte for byte
    again = _jmm(tmp_path, "killed", "run", str(inputs), "--out", str(tmp_path / "killed" / "out"))
    # meanwhile, a second run on the same store (the first is held still, so it surely holds the store)
    _wait_for(again, "started")
    again.send_signal(signal.SIGSTOP)
    try:
        second = _jmm(tmp_path, "killed", "run", str(inputs), "--out", str(tmp_path / "second"))
        out2, err2 = second.communicate(timeout=300)
    finally:
        again.send_signal(signal.SIGCONT)
    assert second.returncode == 1, f"second run: exit {second.returncode}\n{out2}\n{err2}"
    assert f"pid {again.pid}" in err2 and "in use by another jmm run" in err2, err2
    assert not (tmp_path / "second").exists()
    out, err = again.communicate(timeout=600)
    err = again.stderr_seen + err
    assert again.returncode == 3, f"exit {again.returncode}\n{out}\n{err}"
    assert f"{done} already known" in out, out
    a, b = _files(tmp_path / "clean" / "out"), _files(tmp_path / "killed" / "out")
    assert sorted(a) == sorted(b)
    ma, mb = json.loads(a.pop("manifest.json")), json.loads(b.pop("manifest.json"))
    for m in (ma, mb):
        m.pop("exported_at", None)
        m.pop("code_version", None)  # other engineers may commit between the two runs
    assert ma == mb
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"export files differ after kill -9 and resume: {differ}"
    assert _status(tmp_path, "killed")["quarantined"] == status["quarantined"]
    read_settings(cfg)  # the config stays valid
