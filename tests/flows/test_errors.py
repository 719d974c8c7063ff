"""Mistakes a user makes on the command line, each run as a real `jmm` process: every one ends in one line on
stderr that names the file or value, the right exit status (2 for a mistake in the command line or the
configuration, 1 for a run that cannot go on), and no traceback; mistakes in paths and URLs are found before
Prefect or the worker pool start (no Prefect home is made)."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
JMM = ROOT / ".venv" / "bin" / "jmm"


@dataclass(frozen=True)
class Mistake:
    name: str
    args: tuple[str, ...]
    code: int
    names: str  # the file or value the message must name
    early: bool = False  # found before Prefect starts: no Prefect home is made


def _config(folder: Path, **sections) -> Path:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for key in ("segment", "tag", "topics"):
        for k, v in list(cfg.get(key, {}).items()):
            if isinstance(v, str) and (ROOT / v).exists():
                cfg[key][k] = str(ROOT / v)
    cfg["store"]["root"] = str(folder / "data")
    cfg["collect"]["inbox"] = str(folder / "inbox")
    cfg.update(sections)
    path = folder / f"config-{len(list(folder.glob('config-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory) -> tuple[Path, list[Mistake]]:
    tmp = tmp_path_factory.mktemp("mistakes")
    cfg = _config(tmp)
    no_serve = _config(tmp, serve={"deployments": []})
    with_source = _config(tmp, collect={"sources": [{"name": "notices", "url": "http://127.0.0.1:9/index.html"}],
                                        "inbox": str(tmp / "inbox")})
    unknown_key = tmp / "unknown-key.yaml"
    unknown_key.write_text("extract:\n  ocr_engine: tesseract\n", encoding="utf-8")
    broken_yaml = tmp / "broken.yaml"
    broken_yaml.write_text("topics:\n  k: [30\n  seed: 1\n", encoding="utf-8")
    bad_value = tmp / "bad-value.yaml"
    bad_value.write_text("runner:\n  workers: 0\n", encoding="utf-8")
    folder = tmp / "batch"
    folder.mkdir()
    (folder / "a.txt").write_text("京津冀协同发展联席会议在北京召开。", encoding="utf-8")
    a_file = tmp / "a-file.csv"
    a_file.write_text("x\n", encoding="utf-8")
    gold = tmp / "gold.jsonl"
    gold.write_text(json.dumps({"id": "g1", "file": "missing-notice.pdf", "gold": {}}) + "\n", encoding="utf-8")
    store_cfg = _config(tmp, store={"root": str(tmp / "store"), "database": "corpus.duckdb"})
    from pipeline.store import Store

    with Store(tmp / "store" / "corpus.duckdb"):  # an empty store, for the commands that read one
        pass
    damaged_cfg = _config(tmp, store={"root": str(tmp / "damaged"), "database": "corpus.duckdb"})
    (tmp / "damaged").mkdir()
    (tmp / "damaged" / "corpus.duckdb").write_bytes(b"not a DuckDB file\n" * 64)
    c = ("--config", str(cfg))
    out = [
        Mistake("run a path that does not exist", ("run", str(tmp / "no-such-folder"), *c), 2, "no-such-folder", True),
        Mistake("run --out onto a file", ("run", str(folder), "--out", str(a_file), *c), 2, str(a_file), True),
        Mistake("run --out under a file", ("run", str(folder), "--out", str(a_file / "out"), *c), 2, str(a_file),
                True),
        Mistake("run --runner of no kind", ("run", str(folder), "--runner", "gpu", *c), 2, "gpu", True),
        Mistake("run with a missing --config", ("run", str(folder), "--config", str(tmp / "nope.yaml")), 2,
                "nope.yaml", True),
        Mistake("run with an unknown config key", ("run", str(folder), "--config", str(unknown_key)), 2,
                "extract.ocr_engine", True),
        Mistake("run with config.yaml that is not YAML", ("run", str(folder), "--config", str(broken_yaml)), 2,
                str(broken_yaml), True),
        Mistake("run with a value out of range", ("run", str(folder), "--config", str(bad_value)), 2,
                "runner.workers", True),
        Mistake("run an unknown option", ("run", str(folder), "--outt", "x", *c), 2, "--outt", True),
        Mistake("extract a missing file", ("extract", str(tmp / "missing.pdf"), *c), 2, "missing.pdf", True),
        Mistake("extract a folder", ("extract", str(folder), *c), 2, str(folder), True),
        Mistake("tag a missing file", ("tag", str(tmp / "missing.jsonl"), *c), 2, "missing.jsonl", True),
        Mistake("tag a folder", ("tag", str(folder), *c), 2, str(folder), True),
        Mistake("evaluate a missing gold file", ("evaluate", str(tmp / "no-gold.jsonl"), *c), 2, "no-gold.jsonl",
                True),
        Mistake("evaluate a gold item whose file is missing", ("evaluate", str(gold), *c), 2, "missing-notice.pdf",
                True),
        Mistake("collect --url without a scheme", ("collect", "--url", "example.com", *c), 2, "example.com", True),
        Mistake("collect --url of another scheme", ("collect", "--url", "ftp://example.com/x", *c), 2,
                "ftp://example.com/x", True),
        Mistake("collect --documents that is no regex", ("collect", "--url", "http://127.0.0.1:9/", "--documents",
                                                          "t(20", *c), 2, "t(20", True),
        Mistake("collect with no source and no --url", ("collect", *c), 2, "collect.sources", True),
        Mistake("collect an unknown --source", ("collect", "--source", "nosuch", "--config", str(with_source)), 2,
                "nosuch", True),
        Mistake("serve with no deployments", ("serve", "--config", str(no_serve)), 2, "serve.deployments", True),
        Mistake("export before any run", ("export", *c), 2, str(tmp / "data" / "corpus.duckdb"), True),
        Mistake("export an unknown --format", ("export", "--format", "csv,sav", *c), 2, "sav", True),
        Mistake("report --out onto a file", ("report", "--out", str(a_file), "--config", str(store_cfg)), 2,
                str(a_file), True),
        Mistake("topics with a bad --k", ("topics", "--k", "40:10", *c), 2, "40:10", True),
        Mistake("an unknown command", ("frobnicate", *c), 2, "frobnicate", True),
        # failures inside a flow: Prefect's traceback is not shown, only jmm's line (exit 1: the run failed)
        Mistake("export a damaged store", ("export", "--out", str(tmp / "out-x"), "--config", str(damaged_cfg)), 1,
                str(tmp / "damaged" / "corpus.duckdb")),
        Mistake("run on a damaged store", ("run", str(folder), "--out", str(tmp / "out-r"), "--config",
                                           str(damaged_cfg)), 1, str(tmp / "damaged" / "corpus.duckdb")),
    ]
    return tmp, out


def _run(tmp: Path, m: Mistake) -> tuple[Mistake, subprocess.CompletedProcess, Path]:
    home = tmp / "homes" / m.name.replace(" ", "-")
    home.parent.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    work = tmp / "cwd"
    work.mkdir(exist_ok=True)
    return m, subprocess.run([str(JMM), *m.args], cwd=work, env=env, capture_output=True, text=True,
                             timeout=300), home


def test_every_mistake_ends_in_one_line_and_the_right_exit_status(mistakes):
    tmp, cases = mistakes
    assert len(cases) >= 12
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda m: _run(tmp, m), cases))
    wrong = []
    for m, res, home in results:
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        problems = []
        if res.returncode != m.code:
            problems.append(f"exit {res.returncode}, expected {m.code}")
        if "Traceback" in res.stderr or "Traceback" in res.stdout:
            problems.append("a traceback")
        if len(lines) != 1 or not lines[0].startswith("error: "):
            problems.append(f"{len(lines)} lines on stderr, expected one 'error: …' line")
        elif m.names not in lines[0]:
            problems.append(f"the message does not name {m.names!r}")
        if m.early and home.exists():
            problems.append("Prefect started before the mistake was found")
        if problems:
            wrong.append(f"{m.name} ({' '.join(m.args)}): {'; '.join(problems)}\n  stderr: {res.stderr.strip()}")
    assert not wrong, "\n".join(wrong)


def test_a_second_run_on_a_store_in_use_says_which_process_holds_it(tmp_path):
    """Exit status 1 (the run cannot go on), found before Prefect starts, naming the store and the holder."""
    from pipeline.store import StoreLock

    cfg = _config(tmp_path)
    (tmp_path / "batch").mkdir()
    (tmp_path / "batch" / "a.txt").write_text("京津冀协同发展联席会议在北京召开。", encoding="utf-8")
    with StoreLock(tmp_path / "data" / "corpus.duckdb"):
        _m, res, home = _run(tmp_path, Mistake("busy", ("run", str(tmp_path / "batch"), "--config", str(cfg)), 1, ""))
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 1, res.stderr
    assert len(lines) == 1 and "in use by another jmm run" in lines[0] and f"pid {os.getpid()}" in lines[0], lines
    assert str(tmp_path / "data" / "corpus.duckdb") in lines[0] and not home.exists()


def test_debug_shows_the_traceback(tmp_path):
    _m, res, _home = _run(tmp_path, Mistake("debug", ("extract", str(tmp_path / "gone.pdf"), "--debug"), 2, ""))
    assert res.returncode == 2 and "Traceback" in res.stderr and "gone.pdf" in res.stderr.splitlines()[-1]
