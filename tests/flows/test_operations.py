"""Operations a research group leaves running: collect, then mine what waits (`jmm run` without a path, `jmm collect
--run`), against a real HTTP server on 127.0.0.1; `jmm status` while a run holds the store; every input accounted
for (processed, quarantined with a reason, skipped by rule); quarantined inputs tried again only when asked or when
stage versions change; and nothing left running after `kill -9` of a run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.flows.test_collect_flow import _config
from tests.pipeline.test_collect import NoticeSite, make_pdf

ROOT = Path(__file__).resolve().parents[2]
JMM = ROOT / ".venv" / "bin" / "jmm"
SAMPLE = ROOT / "corpora" / "sample"


@pytest.fixture
def site():
    s = NoticeSite()
    yield s
    s.close()


def _invoke(*args: str):
    from flows.cli import app

    return CliRunner().invoke(app, list(args))


def _doc_ids(out: Path) -> set[str]:
    with open(out / "documents.csv", encoding="utf-8-sig", newline="") as f:
        return {r["doc_id"] for r in csv.DictReader(f) if r["quarantined"].lower() != "true"}


def _fetched(cfg: Path) -> set[str]:
    from flows.collect import fetch_log_path
    from pipeline.settings import read_settings

    log = fetch_log_path(read_settings(cfg))
    return {x["sha256"] for x in map(json.loads, log.read_text(encoding="utf-8").splitlines()) if x["sha256"]}


def test_collect_url_then_run_without_a_path_processes_what_was_collected(prefect_harness, site, tmp_path):
    cfg = _config(tmp_path, None)
    url = f"{site.base}/notices/index.html"
    r = _invoke("collect", "--url", url, "--config", str(cfg))
    assert r.exit_code == 3, r.output  # the broken link is reported
    fetched = _fetched(cfg)
    assert len(fetched) == 3  # a.pdf, b.pdf (through a redirect), flaky.pdf (after a retry)
    assert (f"3 documents wait to be processed (3 collected, 0 files in the inbox): run `jmm run --config {cfg}`"
            in r.output), r.output

    out = tmp_path / "out"
    r = _invoke("run", "--out", str(out), "--config", str(cfg))
    assert r.exit_code == 0, r.output
    assert "no path given" in r.output and "waiting before this run: 3 collected files, 0 inbox files" in r.output
    status = json.loads(_invoke("status", "--json", "--config", str(cfg)).stdout)
    assert status["documents"] == 3 and status["inputs"]["processed"] == 3 and status["inputs"]["waiting"] == 0
    assert status["last_run"]["state"] == "finished"
    assert _doc_ids(out) == fetched  # the collected documents are in the exports

    again = _invoke("collect", "--url", url, "--config", str(cfg))
    assert "no document waits to be processed" in again.output, again.output
    r = _invoke("run", "--out", str(out), "--config", str(cfg))
    assert r.exit_code == 0 and "waiting before this run: 0 collected files" in r.output and "nothing new" in r.output


def test_collect_run_does_both(prefect_harness, site, tmp_path):
    cfg = _config(tmp_path, None)
    out = tmp_path / "out"
    r = _invoke("collect", "--url", f"{site.base}/notices/index.html", "--run", "--out", str(out), "--config", str(cfg))
    assert r.exit_code == 3, r.output  # the broken link
    assert "documents processed: 3 new" in r.output, r.output
    assert _doc_ids(out) == _fetched(cfg)


class OfficeSite:
    """A notice page on 127.0.0.1 whose attachments are a PDF, a Word 97 .doc, a WPS .wps (the same binary
    format) and an .ofd: what government sites serve."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        links = "".join(f'<a href="/files/{name}">附件{i}</a>' for i, name in enumerate(files))
        page = f'<html><head><meta charset="utf-8"></head><body>{links}</body></html>'.encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                body, ctype = (page, "text/html") if self.path == "/index.html" else files.get(name, (b"", ""))
                self.send_response(200 if ctype else 404)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _word97(tmp_path: Path) -> bytes | None:
    """A real Word 97 document with Chinese text, saved by LibreOffice (None when it is not installed)."""
    import docx

    from pipeline import convert

    if convert.find_libreoffice() is None:
        return None
    d = docx.Document()
    for line in ("长三角地区主要领导座谈会在芜湖召开",
                 "2019年10月15日，长三角地区主要领导座谈会在安徽省芜湖市召开。上海市、江苏省、浙江省、安徽省主要领导出席会议。"):
        d.add_paragraph(line)
    d.save(tmp_path / "src.docx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--convert-to",
                    "doc", "--outdir", str(tmp_path), str(tmp_path / "src.docx")], check=True, capture_output=True,
                   timeout=300)
    return (tmp_path / "src.doc").read_bytes()


def test_office_attachments_are_fetched_then_converted_or_quarantined_with_what_to_do(prefect_harness, tmp_path):
    word = _word97(tmp_path)
    ofd = tmp_path / "x.ofd"
    with zipfile.ZipFile(ofd, "w") as z:
        z.writestr("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?>'
                              '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
    files = {"notice.pdf": (make_pdf("京津冀交通一体化联席会议召开\n北京市交通委员会、天津市交通运输委员会出席。\n2020年9月1日"),
                            "application/pdf"),
             "notice.ofd": (ofd.read_bytes(), "application/octet-stream")}
    if word is not None:
        files.update({"minutes.doc": (word, "application/msword"),
                      "minutes-wps.wps": (word + b"\0", "application/msword")})  # other bytes: not a duplicate
    served = OfficeSite(files)
    try:
        cfg = _config(tmp_path, None)
        out = tmp_path / "out"
        r = _invoke("collect", "--url", f"{served.base}/index.html", "--run", "--out", str(out), "--config", str(cfg))
    finally:
        served.close()
    assert r.exit_code == 3, r.output  # the .ofd is quarantined
    assert f"{len(files)} new" in r.output, r.output  # every attachment is fetched: none refused for its kind
    status = json.loads(_invoke("status", "--json", "--config", str(cfg)).stdout)
    [q] = status["quarantined"]
    assert q["file"].endswith(".ofd") and "OFD document" in q["reason"] and "export or print it to PDF" in q["reason"]
    assert status["documents"] == len(files) - 1
    if word is None:
        pytest.skip("LibreOffice is not installed: the .doc and .wps attachments were not tried "
                    "(bash .ci/run installs it)")
    docs = (out / "documents.csv").read_text(encoding="utf-8-sig")
    assert docs.count("长三角地区主要领导座谈会在芜湖召开") == 2  # the .doc and the .wps


def _run_config(tmp: Path, runner: str = "thread", **extract) -> Path:
    """config.yaml with the store in `tmp`, small quick topics, one document per batch, OCR off."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    cfg["store"]["root"] = "data"
    cfg["topics"].update(models_dir="models", k=4, iterations=30, bootstrap=20, min_docs=10,
                         stopwords=str(ROOT / cfg["topics"]["stopwords"]))
    cfg["segment"]["user_dictionary"] = str(ROOT / cfg["segment"]["user_dictionary"])
    cfg["tag"]["gazetteer"] = str(ROOT / cfg["tag"]["gazetteer"])
    cfg["tag"]["models"] = str(ROOT / cfg["tag"]["models"])
    cfg["export"]["blocs"] = str(ROOT / cfg["export"]["blocs"])
    cfg["extract"].update(ocr="none", **extract)
    cfg["runner"].update(kind=runner, workers=2, batch_size=1)
    cfg["collect"].update(sources=[], inbox="inbox")
    cfg["export"]["formats"] = ["csv"]
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def _jmm(tmp: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(JMM), *args, "--config", str(tmp / "config.yaml")], cwd=tmp, env=_env(tmp),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _batch(tmp: Path) -> Path:
    """The sample PDFs, an empty file, an .ofd, a photo, a hidden file and a gold file: a folder as users keep it."""
    folder = tmp / "batch"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("*.jsonl"))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "通知.ofd").write_bytes(b"PK\x03\x04" + b"\0" * 60)
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 60)
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    shutil.copy(SAMPLE / "gold.jsonl", folder / "gold.jsonl")
    return folder


@pytest.mark.slow
def test_status_answers_while_a_run_holds_the_store(tmp_path):
    """The run is stopped (SIGSTOP) in the middle of its documents, holding the store: `jmm status` still answers,
    from the run's status file, with the stage, its progress, the documents by stage and the quarantined inputs."""
    from flows.status import status_path
    from pipeline.settings import read_settings

    cfg = _run_config(tmp_path)
    folder = _batch(tmp_path)
    status_file = status_path(read_settings(cfg))
    run = _jmm(tmp_path, "run", str(folder), "--out", str(tmp_path / "out"))
    try:
        t0 = time.monotonic()
        while True:
            assert run.poll() is None, f"the run ended first: {run.communicate()}"
            assert time.monotonic() - t0 < 600, "no document was processed within 600 s"
            try:
                now = json.loads(status_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                now = {}
            if now.get("stage") == "documents" and now.get("documents", {}).get("processed", 0) >= 1:
                break
            time.sleep(0.02)
        run.send_signal(signal.SIGSTOP)
        try:
            p = _jmm(tmp_path, "status", "--json")
            info = json.loads(p.communicate(timeout=120)[0])
            text = _jmm(tmp_path, "status").communicate(timeout=120)[0]
        finally:
            run.send_signal(signal.SIGCONT)
        out, err = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert p.returncode == 0
    assert info["running"] and info["run"]["pid"] == run.pid and info["run"]["stage"] == "documents"
    progress = info["run"]["progress"]
    assert progress["unit"] == "documents" and 1 <= progress["done"] < progress["total"] == 54  # 53 + empty.pdf
    docs = info["run"]["documents"]
    assert docs["planned"] == 54 and docs["processed"] + docs["quarantined"] + docs["waiting"] == 54
    assert docs["skipped_by_rule"] == 4 and info["run"]["stages"]["planning"] >= 0
    quarantined = {Path(q["file"]).name: q["reason"] for q in info["quarantined"]}
    assert "OFD document" in quarantined["通知.ofd"]  # quarantined when the run planned
    assert "a run is in progress" in text and "stage: documents — " in text and "通知.ofd" in text

    assert run.returncode == 3, err
    after = json.loads(_jmm(tmp_path, "status", "--json").communicate(timeout=120)[0])
    assert not after["running"] and after["last_run"]["state"] == "finished"
    assert after["inputs"] == {"seen": 59, "processed": 53, "quarantined": 2, "skipped": 4, "waiting": 0}
    assert any("empty file" in q["reason"] for q in after["quarantined"])
    assert {x["rule"] for x in after["skipped"]} == {
        "hidden file", "annotation (gold) file, not a document", "not a document kind (.jpg)",
        "the folder's metadata (dates, URLs, titles of its files), read as such, not a document"}


def test_quarantined_inputs_are_tried_again_only_when_asked_or_when_a_stage_changes(
        prefect_harness, settings_factory, monkeypatch, sample_batch):
    from flows.mine import run_mine
    from pipeline import extract, isolate

    folder, _pdfs = sample_batch(2)
    (folder / "truncated.pdf").write_bytes((SAMPLE / "sample-2012-01.pdf").read_bytes()[:900])
    settings = settings_factory(runner__kind="thread", runner__workers=1, topics__enabled=False,
                                export__formats=["csv"], export__report=False, extract__ocr="none")
    calls: list[str] = []
    real = isolate.document
    monkeypatch.setattr(isolate, "document", lambda source, limits: calls.append(Path(source.path).name)
                        or real(source, limits))

    def run(**kw) -> dict:
        calls.clear()
        return run_mine([str(folder)], None, settings, **kw)

    first = run()
    assert first["quarantined_now"] == 1 and "truncated.pdf" in calls
    second = run()
    assert calls == [] and second["quarantined_now"] == 0 and second["quarantined_kept"] == 1
    third = run(retry=True)
    assert calls == ["truncated.pdf"] and third["quarantined_now"] == 1
    monkeypatch.setattr(extract, "VERSION", extract.VERSION + "-next")  # a new extraction: everything again
    run()
    assert sorted(calls) == sorted(p.name for p in folder.iterdir())
    changed = settings.model_copy(update={"extract": settings.extract.model_copy(update={"max_pages": 500})})
    calls.clear()
    run_mine([str(folder)], None, changed)
    assert calls == ["truncated.pdf"]  # other extraction settings: the quarantined input is tried again


def _tree(root: int) -> list[int]:
    """Every process descending from `root` now."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _running(pid: int, cmdline: str) -> bool:
    """Whether the process seen as `pid` with `cmdline` still runs (a zombie does not; a new process that got the
    same id has another command line)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and _cmdline(pid) == cmdline


@pytest.mark.slow
def test_kill_9_of_a_run_leaves_no_process_it_started(tmp_path):
    """`jmm run` with the embedded Prefect server and the process runner, killed with SIGKILL while workers
    extract documents: its Prefect server, forkserver, resource tracker, workers and their extraction helpers
    all end with it."""
    _run_config(tmp_path, runner="process")
    run = _jmm(tmp_path, "run", str(SAMPLE), "--out", str(tmp_path / "out"))
    seen: dict[int, str] = {}
    try:
        t0 = time.monotonic()
        while not ({"uvicorn", "pipeline.isolate", "multiprocessing.forkserver"}
                   <= {k for c in seen.values() for k in ("uvicorn", "pipeline.isolate", "multiprocessing.forkserver")
                       if k in c}):
            assert run.poll() is None, f"the run ended first: {run.communicate()}"
            assert time.monotonic() - t0 < 600, f"not every kind of process seen within 600 s: {seen}"
            for pid in _tree(run.pid):
                if not seen.get(pid):  # a process just forked has no command line yet
                    seen[pid] = _cmdline(pid)
            time.sleep(0.05)
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=60)
        deadline = time.monotonic() + 60
        while any(_running(p, c) for p, c in seen.items()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {p: c for p, c in seen.items() if _running(p, c)}
    finally:
        for p, c in seen.items():  # never leave anything behind, whatever the outcome
            if _running(p, c):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert not left, f"processes left after kill -9 of jmm run: {left}"
