"""The `jmm` command line: thin commands that call the flows and the pipeline."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

_HERE = Path(__file__).resolve().parent.parent


def _prefect_env(base: Path) -> None:
    """Keep Prefect's state inside the project and quiet, unless the user configured Prefect otherwise."""
    os.environ.setdefault("PREFECT_HOME", str(base / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # busy machines start slowly


app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Joint Meeting Miner: turn joint-meeting communiqués into research tables.")

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="config.yaml to use")]


def _settings(config: Path | None):
    from pipeline.errors import ConfigError
    from pipeline.settings import read_settings

    if config is None:
        default = Path.cwd() / "config.yaml"
        config = default if default.exists() else (_HERE / "config.yaml" if (_HERE / "config.yaml").exists() else None)
    try:
        settings = read_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _prefect_env(settings.base_dir)
    return settings


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


@app.command()
def run(paths: Annotated[list[Path], typer.Argument(help="files or folders to process")],
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for the exported tables")] = Path("out"),
        runner: Annotated[Optional[str], typer.Option(help="process | thread | dask (overrides runner.kind)")] = None,
        dask_address: Annotated[Optional[str], typer.Option(help="tcp://host:8786 of a Dask scheduler")] = None,
        collect: Annotated[bool, typer.Option(help="collect from the configured web sources first")] = True,
        config: ConfigOpt = None) -> None:
    """Process inputs end to end (extract, segment, tag, code, topics) and export the tables. When web sources
    are configured, collect from them first and process what they gave too.

    Exit status: 0 every input processed; 3 finished, but some inputs were quarantined (see `jmm status`);
    1 the run failed (e.g. the store is in use by another run); 2 invalid configuration."""
    from pipeline.errors import PipelineError

    settings = _with_runner(_settings(config), runner, dask_address)
    from flows import workers
    from flows.mine import run_mine

    try:
        workers.start(settings)  # the workers warm up while Prefect's API server starts
        inputs = [str(p) for p in paths] + (_collect_first(settings) if collect else [])
        summary = run_mine(inputs, str(out), settings)
    except PipelineError as exc:
        _fail(exc)
    t = summary["topics"]
    typer.echo(f"documents processed: {summary['new_documents']} new, {summary['already_known']} already known "
               f"({summary['documents']} in the store)")
    dup = f", of which {summary['duplicates']} exact duplicates" if summary.get("duplicates") else ""
    typer.echo(f"quarantined: {summary['quarantined_now']} in this run{dup}, {summary['quarantined_total']} in all "
               f"(see `jmm status`)")
    typer.echo(f"participants found: {summary['participants']}")
    typer.echo("topics: " + (f"fit {t['fit_id']} (k={t.get('k', '?')})" if t.get("fitted") else
                             f"not fitted ({t.get('reason')})"))
    reused = " — up to date, kept from the last run" if summary.get("exports_reused") else ""
    typer.echo(f"tables: {summary['out']}/ ({', '.join(f'{k} {v}' for k, v in summary['tables'].items())}){reused}")
    if summary.get("report"):
        typer.echo(f"report: {summary['report']}")
    sec = summary["seconds"]
    typer.echo(f"time: {sec['total']} s (documents {sec['documents']} s, topics {sec['topics']} s, "
               f"export and report {sec['export']} s)")
    if not summary["new_documents"] and not summary["quarantined_now"]:
        typer.echo("nothing new: every input was processed before with the same stage versions")
    if summary["quarantined_now"]:
        typer.echo(f"finished with {summary['quarantined_now']} quarantined inputs (exit status 3)", err=True)
        raise typer.Exit(3)


@app.command()
def extract(files: Annotated[list[Path], typer.Argument(help="documents to extract")],
            as_json: Annotated[bool, typer.Option("--json", help="one JSON object per file")] = False,
            workers: Annotated[int, typer.Option("--workers", "-w", min=1,
                                                 help="files extracted at once, each in a helper process under "
                                                      "the extract limits of config.yaml")] = 1,
            config: ConfigOpt = None) -> None:
    """Print the text of documents (or, with --json, pages with method and quality), in the order given."""
    from pipeline.errors import PipelineError

    settings = _settings(config)
    status = 0
    for f, doc in _extracted(files, settings, workers):
        if isinstance(doc, PipelineError):
            typer.echo(f"error: {doc}", err=True)
            status = 1
        elif as_json:
            typer.echo(json.dumps({"file": str(f), "sha256": doc.doc_id,
                                   "pages": [{"n": p.n, "text": p.text, "method": p.method,
                                              "quality": p.quality} for p in doc.pages],
                                   "warnings": list(doc.warnings)}, ensure_ascii=False))
        else:
            typer.echo(doc.text)
    raise typer.Exit(status)


def _extracted(files, settings, workers):
    """Yield (file, Document or PipelineError) for each document of `files`, in order; with `workers` > 1 the
    files are extracted that many at a time, each in a helper process (pipeline/isolate.py)."""
    from concurrent.futures import ThreadPoolExecutor

    from pipeline import extract as ex
    from pipeline.errors import PipelineError

    def one(item):
        f, source, record, error = item
        if error:
            return f, PipelineError(f"{f}: {error}")
        try:
            if workers > 1 and source.kind != "jsonl-record":
                from pipeline import isolate

                return f, isolate.document(source, settings.extract)
            return f, ex.document(source, record, settings=settings.extract)
        except PipelineError as exc:
            return f, exc

    items = _sources(files, settings)
    if workers <= 1:
        yield from map(one, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(one, items)


def _sources(files, settings):
    """Yield (file, source, record, error) for each document of `files`. A PDF is read without importing the
    collector (which loads the store's libraries, ~0.6 s of start-up for a command that reads one file)."""
    import hashlib

    from pipeline.errors import PipelineError
    from pipeline.records import Source

    for f in files:
        try:
            if f.suffix.lower() == ".pdf":
                with f.open("rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
                yield f, Source(digest, str(f), "pdf"), None, None
                continue
            from pipeline import collect

            for source, record, error in collect.sources(f, bulletin_titles=settings.collect.bulletin_titles):
                yield f, source, record, error
        except PipelineError as exc:
            yield f, None, None, str(exc).removeprefix(f"{f}: ")
        except OSError as exc:
            yield f, None, None, f"cannot read the file ({exc.strerror or exc})"


def _predict_items(items, settings):
    """Tag gold or input items: yields Tagged predictions in order."""
    from pipeline import process
    from pipeline.collect import record_id
    from pipeline.records import Source, Tagged
    from pipeline.store import sha256_file

    for it in items:
        if it.file is not None:
            from pipeline.collect import kind_of

            src = Source(sha256_file(it.file), str(it.file), kind_of(it.file) or "pdf")
            o = process.one(src, settings, date=it.date)
        else:
            rec = {"id": it.id, "date": it.date, "title": it.title, "text": it.text}
            o = process.one(Source(record_id(rec), it.id, "jsonl-record", 0), settings, rec)
        yield o.tagged or Tagged(o.source.doc_id)


@app.command()
def tag(input_file: Annotated[Path, typer.Argument(help="JSON Lines: {id, date, title, text} per line")],
        config: ConfigOpt = None) -> None:
    """Print predictions, one JSON line per document, in the gold format plus participants as objects."""
    from pipeline import process
    from pipeline.collect import sources
    from pipeline.records import as_dict

    settings = _settings(config)
    from flows.workers import prepare

    prepare(settings)
    for source, record, error in sources(input_file, bulletin_titles=settings.collect.bulletin_titles):
        if error:
            typer.echo(json.dumps({"record": source.record, "error": error}, ensure_ascii=False))
            continue
        o = process.one(source, settings, record)
        if o.tagged is None:
            typer.echo(json.dumps({"id": (record or {}).get("id"), "error": o.reason}, ensure_ascii=False))
            continue
        c = as_dict(o.tagged.codes)
        evidence = c.pop("evidence")
        typer.echo(json.dumps({"id": (record or {}).get("id"), "date": o.document.date, "title": o.document.title,
                               "gold": {**c, "participants": [as_dict(p) for p in o.tagged.participants],
                                        "participant_mentions": {p.name: p.mention for p in o.tagged.participants},
                                        "evidence": evidence}}, ensure_ascii=False))


@app.command()
def evaluate(gold: Annotated[Path, typer.Argument(help="gold file (CODEBOOK §4)")],
             as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
             config: ConfigOpt = None) -> None:
    """Score the tagger against a gold file."""
    from pipeline.evaluate import read_gold, score
    from pipeline.errors import PipelineError
    from pipeline.gazetteer import level_of, load_gazetteer

    settings = _settings(config)
    from flows.workers import prepare

    prepare(settings)
    try:
        items = read_gold(gold)
    except PipelineError as exc:
        _fail(exc)
    preds = list(_predict_items(items, settings))
    gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
    result = score(items, preds, lambda n: level_of(gaz, n))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            typer.echo(f"{k}: {json.dumps(v, ensure_ascii=False)}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False, config: ConfigOpt = None) -> None:
    """Show what the corpus store holds and which inputs are quarantined, and why."""
    from pipeline.errors import PipelineError
    from pipeline.store import Store

    settings = _settings(config)
    from flows.mine import store_path

    path = store_path(settings)
    if not path.exists():
        info = {"documents": 0, "quarantined": [], "store": str(path)}
    else:
        try:
            with Store(path, read_only=True) as store:
                info = {"documents": store.count("documents"), "quarantined": store.quarantined(),
                        "participants": store.count("participants"), "topic_fit": store.current_fit(),
                        "store": str(path)}
        except PipelineError as exc:
            _fail(exc)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    typer.echo(f"store: {info['store']}")
    typer.echo(f"documents: {info['documents']}")
    typer.echo(f"quarantined: {len(info['quarantined'])}")
    for q in info["quarantined"]:
        typer.echo(f"  {q['file']}  {q['sha256'][:12]}  {q['reason']}")


@app.command("export")
def export_cmd(out: Annotated[Path, typer.Option("--out", "-o", help="folder for the tables")] = Path("out"),
               formats: Annotated[Optional[str], typer.Option(
                   "--format", "-f", help="comma-separated: csv,xlsx,parquet,dta (default: export.formats)")] = None,
               config: ConfigOpt = None) -> None:
    """Export the tables of the corpus store, with codebook, network and manifest, to a folder."""
    from pipeline.errors import PipelineError
    from pipeline.settings import ExportFormat

    settings = _settings(config)
    chosen = None
    if formats:
        names = [f.strip() for f in formats.split(",") if f.strip()]
        allowed = [f.value for f in ExportFormat]
        bad = [f for f in names if f not in allowed]
        if bad:
            typer.echo(f"error: --format {', '.join(bad)}: expected some of {', '.join(allowed)}", err=True)
            raise typer.Exit(2)
        chosen = names
    from flows.publish import export_flow

    try:
        summary = export_flow(out=str(out), formats=chosen, settings=settings)
    except PipelineError as exc:
        _fail(exc)
    typer.echo(f"tables: {out}/ ({', '.join(f'{k} {v}' for k, v in summary['tables'].items())})")


@app.command()
def report(out: Annotated[Path, typer.Option("--out", "-o", help="folder for report.html")] = Path("out"),
           config: ConfigOpt = None) -> None:
    """Write report.html (charts and the evidence browser) for the corpus store."""
    from pipeline.errors import PipelineError

    settings = _settings(config)
    from flows.publish import report_flow

    try:
        summary = report_flow(out=str(out), settings=settings)
    except PipelineError as exc:
        _fail(exc)
    typer.echo(f"report: {summary['report']}")


def _with_runner(settings, kind: str | None, address: str | None):
    """Settings with the runner chosen on the command line (checked like config.yaml)."""
    if kind is None and address is None:
        return settings
    from pipeline.settings import RunnerSettings

    update = {**settings.runner.model_dump(), **({"kind": kind} if kind else {}),
              **({"dask_address": address, "kind": kind or "dask"} if address else {})}
    try:
        runner = RunnerSettings.model_validate(update)
    except ValueError as exc:
        typer.echo(f"error: --runner/--dask-address: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings.model_copy(update={"runner": runner})


def _collect_first(settings) -> list[str]:
    """Collect from the configured web sources (if any); return the paths of what they gave."""
    if not settings.collect.sources:
        return []
    from flows.collect import run_collect

    c = run_collect(settings)
    _echo_collect(c)
    return list(c["paths"])


def _echo_collect(c: dict) -> None:
    for name, n in c["sources"].items():
        typer.echo(f"collected {name}: {n['pages']} listing pages, {n['new']} new, {n['stored']} already stored, "
                   f"{n['unchanged']} unchanged (304), {n['refused']} refused, {n['failed']} failed")
    for x in c["failed"]:
        typer.echo(f"  failed: {x['reason']}", err=True)
    if c.get("inbox"):
        typer.echo(f"inbox: {c['inbox']} files")


@app.command("collect")
def collect_cmd(source: Annotated[Optional[list[str]], typer.Option("--source", "-s",
                                                                     help="a configured source (repeatable)")] = None,
                url: Annotated[Optional[str], typer.Option(help="a one-off listing page; only its host is fetched")] = None,
                documents: Annotated[Optional[str], typer.Option(help="with --url: regex of document-page links")] = None,
                as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
                config: ConfigOpt = None) -> None:
    """Fetch new documents from the configured web sources (or one listing page) into the raw store."""
    from pipeline.errors import PipelineError

    settings = _settings(config)
    if not url and not settings.collect.sources:
        _fail(ValueError("no web sources configured (config.yaml collect.sources) and no --url given"))
    from flows.collect import run_collect

    try:
        c = run_collect(settings, source or None, url, documents)
    except PipelineError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(c, ensure_ascii=False))
    else:
        _echo_collect(c)
        if not c["new"]:
            typer.echo("nothing new collected")
    if c["failed"]:
        raise typer.Exit(3)


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Register the deployments of config.yaml (serve.deployments: cron schedules of collect + mine) with the
    Prefect API and run them when due. Needs a Prefect server: `prefect server start` in another shell."""
    settings = _settings(config)
    from flows.serve import serve_deployments

    serve_deployments(settings, _config_path(config))


def _config_path(config: Path | None) -> Path | None:
    if config is not None:
        return config.resolve()
    for c in (Path.cwd() / "config.yaml", _HERE / "config.yaml"):
        if c.exists():
            return c.resolve()
    return None


def _k_range(spec: str) -> list[int]:
    """"10:40:5" → [10, 15, …, 40] (both ends included); "30" → [30]; "10,20,30" → [10, 20, 30]."""
    try:
        if ":" in spec:
            parts = [int(x) for x in spec.split(":")]
            lo, hi, step = (parts + [5])[:3] if len(parts) == 2 else parts
            if step <= 0 or lo > hi:
                raise ValueError
            return list(range(lo, hi + 1, step))
        return [int(x) for x in spec.split(",")]
    except ValueError as exc:
        raise typer.BadParameter(f"{spec!r}: expected START:STOP[:STEP] (e.g. 10:40:5) or K[,K…]") from exc


@app.command()
def topics(k: Annotated[Optional[str], typer.Option("--k", help="K sweep START:STOP:STEP (e.g. 10:40:5) or K")] = None,
           config: ConfigOpt = None) -> None:
    """Refit the topic model on the corpus store; with --k, sweep K (NPMI, c_v, diversity) and keep the best."""
    from pipeline.errors import PipelineError

    ks = _k_range(k) if k else None
    settings = _settings(config)
    from flows.mine import topics as topics_flow

    try:
        t = topics_flow(settings=settings, ks=ks)
    except PipelineError as exc:
        _fail(exc)
    if not t.get("fitted"):
        _fail(Exception(f"topics not fitted: {t.get('reason')}"))
    for row in t.get("sweep", []) or []:
        typer.echo(f"k={row['k']}: npmi {row['npmi']}, c_v {row['c_v']}, diversity {row['topic_diversity']}")
    typer.echo(f"fit {t['fit_id']}: k={t['k']}, npmi {t['npmi']}, c_v {t['c_v']}, diversity {t['topic_diversity']}"
               + (f", stability {t['stability']}" if "stability" in t else ""))
    typer.echo(f"model folder: {t['model_dir']}")
    typer.echo(f"time: {t['seconds']} s")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
