"""The `jmm` command line: thin commands that call the flows and the pipeline."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.core

_HERE = Path(__file__).resolve().parent.parent


def _prefect_env(base: Path) -> None:
    """Keep Prefect's state inside the project and quiet, unless the user configured Prefect otherwise."""
    os.environ.setdefault("PREFECT_HOME", str(base / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # busy machines start slowly


#: Set by `--debug` anywhere on the command line: tracebacks (jmm's and Prefect's) are shown, not only messages.
DEBUG = False


def _one_line(text: object) -> str:
    """A message on one line (YAML and library errors span several)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _error(message: object) -> None:
    typer.echo(f"error: {_one_line(message)}", err=True)


def _from_click(exc: BaseException) -> bool:
    """Whether an exception is click's (as vendored by typer): a usage error, a request to exit, an abort."""
    return hasattr(exc, "exit_code") or isinstance(exc, typer.Abort)


class _Commands(typer.core.TyperGroup):
    """The `jmm` group: every failure ends in one line on stderr and an exit status, never a traceback (unless
    --debug): 2 for a mistake in the command line or the configuration (a missing path, a bad URL or value: a
    ConfigError, or a usage error), 1 for a failed run (another PipelineError, or an unexpected error), and what
    the command chooses otherwise (`jmm run`: 3 when inputs are quarantined)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        global DEBUG
        args = list(sys.argv[1:] if args is None else args)
        if "--debug" in args:
            args = [a for a in args if a != "--debug"]
            DEBUG = True
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            _error("aborted")
            sys.exit(1)
        except Exception as exc:
            if not _from_click(exc):
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":  # `jmm` alone: the help
                exc.show()
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)  # a usage error: one line, and where to read more
            _error(exc.format_message() + (f" (see `{ctx.command_path} --help`)" if ctx is not None else ""))
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        from pipeline.errors import ConfigError, PipelineError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            if DEBUG:
                traceback.print_exc()
            _error(exc)
            raise typer.Exit(2) from None
        except PipelineError as exc:
            if DEBUG:
                traceback.print_exc()
            _error(exc)
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen failure: still one line
            if _from_click(exc) or DEBUG:
                raise
            _error(f"{type(exc).__name__}: {exc} (an unexpected failure: run the command again with --debug to "
                   f"see where it happened, and report it)")
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Joint Meeting Miner: turn joint-meeting communiqués into research tables. Add --debug "
                       "anywhere to see tracebacks. Exit status: 0 done; 1 failed; 2 a mistake in the command "
                       "line or config.yaml; 3 (jmm run, jmm collect) done, but some inputs were quarantined or "
                       "failed.")

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
        _error(exc)
        raise typer.Exit(2) from exc
    _prefect_env(settings.base_dir)
    return settings


def _fail(exc: Exception) -> None:
    """A failed command: exit 1 with the message; a ConfigError (a mistake in the input) goes to the command
    group's handler, which exits 2."""
    from pipeline.errors import ConfigError

    if isinstance(exc, ConfigError):
        raise exc
    _error(exc)
    raise typer.Exit(1)


def _quiet_prefect() -> None:
    """After Prefect is imported: its flow- and task-run loggers go to the Prefect API only, not to the terminal,
    so a failed run ends in jmm's one-line message rather than Prefect's traceback (`--debug` keeps them)."""
    import logging

    if not DEBUG:
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            logging.getLogger(name).propagate = False


# -- checks made before anything starts (no Prefect, no worker pool): a mistake is exit status 2 -------------

def _check_inputs(paths: list[Path], what: str = "", files_only: bool = False) -> None:
    """Every path exists (and is a file, with `files_only`); else a ConfigError naming the first that is not."""
    from pipeline.errors import ConfigError

    for p in paths:
        if not p.exists():
            hint = "" if p.is_absolute() else f" (relative to {Path.cwd()})"
            raise ConfigError(f"{what}{p}: no such file or folder{hint}")
        if files_only and not p.is_file():
            raise ConfigError(f"{what}{p}: {'a folder' if p.is_dir() else 'not a regular file'}; give a file")


def _check_out(out: Path, option: str = "--out") -> None:
    """`out` is a folder this process can write in, or one it can make; else a ConfigError naming it. Nothing is
    left behind: the check writes a temporary file in `out`, or makes and removes a folder in its nearest
    existing parent."""
    import tempfile

    from pipeline.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {out}: a file of that name exists, not a folder; choose another {option}")
    parent = out
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {out}: {parent} is a file, not a folder; choose another {option}")
    try:
        if parent == out:
            with tempfile.TemporaryFile(dir=out):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=parent))
    except OSError as exc:
        raise ConfigError(f"{option} {out}: cannot write in {parent} ({exc.strerror or exc}); choose another "
                          f"{option}") from exc


def _check_store(settings) -> None:
    """The corpus store exists (commands that read it); else a ConfigError saying how to make it."""
    from flows.status import store_path
    from pipeline.errors import ConfigError

    path = store_path(settings)
    if not path.exists():
        raise ConfigError(f"{path}: no corpus store yet; run `jmm run PATH` (or `jmm collect` then `jmm run`) first")


def _check_models(settings) -> None:
    """The learned models the tagger needs are there (a ConfigError naming the missing file)."""
    from pipeline.learn import check_models

    check_models(settings.path(settings.tag.models))


def _check_free(settings) -> None:
    """No other run holds the store (the run checks again when it starts): a StoreError naming it."""
    from flows.status import store_path
    from pipeline.store import StoreLock

    with StoreLock(store_path(settings)):
        pass


def _check_url(url: str, documents: str | None) -> None:
    """A one-off listing page: an http(s) URL with a host, and a valid document regex; else a ConfigError."""
    from pipeline.errors import ConfigError
    from pipeline.settings import Source

    try:
        Source(name="url", url=url, document_pattern=documents)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in getattr(exc, "errors", lambda: [])())
        raise ConfigError(f"--url {url}{' --documents ' + documents if documents else ''}: "
                          f"{problems or exc}") from None


@app.command()
def run(paths: Annotated[Optional[list[Path]], typer.Argument(
            help="files or folders to process; none: what waits (collected, or dropped in the inbox)")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="folder for the exported tables")] = Path("out"),
        runner: Annotated[Optional[str], typer.Option(help="process | thread | dask (overrides runner.kind)")] = None,
        dask_address: Annotated[Optional[str], typer.Option(help="tcp://host:8786 of a Dask scheduler")] = None,
        collect: Annotated[bool, typer.Option(help="collect from the configured web sources first")] = True,
        metadata: Annotated[Optional[Path], typer.Option(
            help="sidecar CSV (columns file, date, url, title, issuer; any subset besides file) for the inputs; "
                 "a folder's own metadata.csv is read without it")] = None,
        retry: Annotated[bool, typer.Option("--retry", help="try the quarantined inputs again")] = False,
        config: ConfigOpt = None) -> None:
    """Process inputs end to end (extract, segment, tag, code, topics) and export the tables. When web sources
    are configured, collect from them first and process what they gave too. Without a path, process what waits:
    every collected document not yet processed and the files in the inbox (collect.inbox). Documents are dated from
    the sidecar metadata.csv of their folder (or --metadata), else from their text, else from the page the
    collector fetched them from, else from the PDF's creation date (documents.date_source says which).

    An input quarantined before is tried again only when a stage version or the extract settings changed, or
    with --retry.

    Exit status: 0 every input processed; 3 finished, but some inputs are quarantined (see `jmm status`);
    1 the run failed (e.g. the store is in use by another run); 2 a mistake in the command line or config.yaml."""
    _check_inputs(list(paths or []))
    settings = _with_runner(_settings(config), runner, dask_address)
    _check_out(out)
    _check_models(settings)
    _check_free(settings)
    if not paths:
        typer.echo(f"no path given: processing what was collected or dropped in the inbox "
                   f"({settings.path(settings.collect.inbox)}) and not yet processed")
    from flows import workers
    from flows.mine import run_mine, shared_api

    _quiet_prefect()
    workers.start(settings)  # the workers warm up while Prefect's API server starts
    with shared_api():
        collected = _collect_first(settings) if collect else []
        inputs = [str(p) for p in paths] + collected if paths else None
        summary = run_mine(inputs, str(out), settings, str(metadata) if metadata else None, retry=retry)
    _echo_run(summary)
    if summary["quarantined_now"] or summary["quarantined_kept"]:
        typer.echo(f"finished with {summary['quarantined_now'] + summary['quarantined_kept']} quarantined inputs "
                   f"(exit status 3)", err=True)
        raise typer.Exit(3)


def _echo_run(summary: dict[str, Any]) -> None:
    t = summary["topics"]
    if summary.get("waiting") is not None:
        w = summary["waiting"]
        typer.echo(f"waiting before this run: {w['collected']} collected files, {w['inbox']} inbox files")
    typer.echo(f"documents processed: {summary['new_documents']} new, {summary['already_known']} already known "
               f"({summary['documents']} in the store)")
    dup = f", of which {summary['duplicates']} exact duplicates" if summary.get("duplicates") else ""
    kept = (f"; {summary['quarantined_kept']} kept from earlier runs (not tried again: same stage versions and "
            f"settings; `jmm run --retry` tries them)" if summary.get("quarantined_kept") else "")
    typer.echo(f"quarantined: {summary['quarantined_now']} in this run{dup}{kept}, {summary['quarantined_total']} "
               f"in all (see `jmm status`)")
    if summary.get("skipped"):
        typer.echo(f"skipped by rule: {summary['skipped']} files (hidden, gold files, not documents; see `jmm status`)")
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


@app.command()
def extract(files: Annotated[list[Path], typer.Argument(help="documents to extract")],
            as_json: Annotated[bool, typer.Option("--json", help="one JSON object per file")] = False,
            workers: Annotated[int, typer.Option("--workers", "-w", min=1,
                                                 help="files extracted at once, each in a helper process under "
                                                      "the extract limits of config.yaml")] = 1,
            config: ConfigOpt = None) -> None:
    """Print the text of documents (or, with --json, pages with method and quality), in the order given."""
    from pipeline.errors import PipelineError

    _check_inputs(files, files_only=True)
    settings = _settings(config)
    status = 0
    for f, doc in _extracted(files, settings, workers):
        if isinstance(doc, PipelineError):
            _error(doc)
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
    """Tag gold or input items as `jmm run` would (the gold date only where the item has one): Tagged each."""
    from pipeline import process
    from pipeline.labels import source_of
    from pipeline.records import Tagged

    for it in items:
        source, rec = source_of(it)
        o = process.one(source, settings, rec, date=it.date)
        yield o.tagged or Tagged(o.source.doc_id)


@app.command()
def tag(input_file: Annotated[Path, typer.Argument(help="JSON Lines: {id, date, title, text} per line")],
        config: ConfigOpt = None) -> None:
    """Print predictions, one JSON line per document, in the gold format plus participants as objects."""
    from pipeline import process
    from pipeline.collect import sources
    from pipeline.records import as_dict

    _check_inputs([input_file], files_only=True)
    settings = _settings(config)
    _check_models(settings)
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
             split: Annotated[Optional[str], typer.Option(help="score only the records whose `split` is this")] = None,
             config: ConfigOpt = None) -> None:
    """Score the tagger against a gold file."""
    from pipeline.errors import PipelineError
    from pipeline.evaluate import score
    from pipeline.gazetteer import level_of, load_gazetteer
    from pipeline.labels import from_archive, read_gold

    _check_inputs([gold], files_only=True)
    settings = _settings(config)
    _check_models(settings)
    from flows.workers import prepare

    try:
        prepare(settings)
        items = read_gold(gold, split)
        archive = settings.path(settings.train.archive) if settings.train.archive else None
        items = from_archive(items, archive, settings.collect.bulletin_titles)
    except PipelineError as exc:
        _fail(exc)
    for it in items:
        _check_inputs([it.file] if it.file else [], f"{gold}: item {it.id}: file ", files_only=True)
    try:
        preds = list(_predict_items(items, settings))
    except PipelineError as exc:
        _fail(exc)
    gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
    result = score(items, preds, lambda n: level_of(gaz, n))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            typer.echo(f"{k}: {json.dumps(v, ensure_ascii=False)}")


@app.command()
def train(out: Annotated[Optional[Path], typer.Option("--out", "-o", help="folder for the models (default: "
                                                                            "tag.models)")] = None,
          config: ConfigOpt = None) -> None:
    """Fit the learned models (participants, doc_class, depth) on the human labels of train.label_sets, with
    cross-validated figures in metrics.json beside them."""
    from pipeline import process, segment
    from pipeline import train as train_stage
    from pipeline.errors import PipelineError
    from pipeline.gazetteer import level_of, load_gazetteer

    settings = _settings(config)
    from flows.workers import prepare

    target = out or settings.path(settings.tag.models)
    user_dict = settings.path(settings.segment.user_dictionary)
    try:
        prepare(settings)
        gaz = load_gazetteer(settings.path(settings.tag.gazetteer))
        metrics = train_stage.run(settings, target, lambda n: level_of(gaz, n),
                                  lambda s, r, d: process.read(s, settings, r, d),
                                  lambda t: segment.words(t, user_dict))
    except PipelineError as exc:
        _fail(exc)
    cv = metrics["cross_validated"]
    typer.echo(f"trained on {metrics['n_docs']} labelled documents ({', '.join(f'{k} {v}' for k, v in metrics['label_sets'].items())}); models in {target}")
    for name, r in cv.items():
        typer.echo(f"  {name:16} participants F1 {r['participants']['f1']:.3f}  doc_class {r['doc_class']['accuracy']:.3f}"
                   f"  collab macro F1 {(r['collab_type'] or {}).get('macro_f1', 0):.3f}  depth kappa {(r['depth'] or {}).get('kappa')}"
                   "  (5-fold cross-validated)")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False, config: ConfigOpt = None) -> None:
    """Show what the corpus store holds: documents, every input seen (processed, quarantined, skipped by rule,
    waiting) and the quarantined inputs with their reasons. While a run holds the store, show the run instead,
    from the status file it keeps up to date: its stage and progress, its documents by stage and the quarantined
    inputs (no lock is taken, and the run is not slowed)."""
    settings = _settings(config)
    from flows.status import read_status, store_path

    path = store_path(settings)
    run_status = read_status(settings)
    if run_status is not None and run_status.get("state") == "running":
        docs = run_status.get("documents", {})
        info: dict[str, Any] = {"store": str(path), "running": True, "documents": docs.get("in_store"),
                                "quarantined": run_status.get("quarantined", []), "run": run_status}
    elif not path.exists():
        info = {"store": str(path), "running": False, "documents": 0, "quarantined": [], "last_run": run_status}
    else:
        from pipeline.store import Store

        with Store(path, read_only=True) as store:
            skipped = store.skipped()
            info = {"store": str(path), "running": False, "documents": store.count("documents"),
                    "quarantined": store.quarantined(), "participants": store.count("participants"),
                    "topic_fit": store.current_fit(), "inputs": store.account(), "skipped": skipped,
                    "last_run": run_status}
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    typer.echo(f"store: {info['store']}")
    if info["running"]:
        _echo_live(info["run"])
    else:
        typer.echo(f"documents: {info['documents']}")
        if "inputs" in info:
            a = info["inputs"]
            typer.echo(f"inputs seen: {a['seen']} (processed {a['processed']}, quarantined {a['quarantined']}, "
                       f"skipped by rule {a['skipped']}, waiting {a['waiting']})")
        if info.get("skipped"):
            rules: dict[str, int] = {}
            for x in info["skipped"]:
                rules[x["rule"]] = rules.get(x["rule"], 0) + 1
            typer.echo("skipped by rule: " + ", ".join(f"{r}: {n}" for r, n in sorted(rules.items())))
        last = info.get("last_run")
        if last:
            when = last.get("finished_at") or last.get("updated_at")
            where = f", in stage {last.get('stage')}" if last.get("state") == "killed" else ""
            typer.echo(f"last run: {last.get('state')} ({last.get('command', 'jmm run')}, pid {last.get('pid')}, "
                       f"at {when}{where})")
    typer.echo(f"quarantined: {len(info['quarantined'])}")
    for q in info["quarantined"]:
        typer.echo(f"  {q['file']}  {(q.get('sha256') or '')[:12]}  {q['reason']}")


def _echo_live(run: dict[str, Any]) -> None:
    """A running run, from its status file."""
    typer.echo(f"a run is in progress: pid {run.get('pid')}, started {run.get('started_at')} ({run.get('command')}); "
               f"status of {run.get('updated_at')}")
    stage = run.get("stage")
    step = f" ({run['step']})" if run.get("step") else ""
    pr = run.get("progress")
    if pr and pr.get("total"):
        eta = f", about {_duration(pr['eta_s'])} left" if pr.get("eta_s") is not None else ""
        typer.echo(f"stage: {stage}{step} — {pr['done']:g}/{pr['total']:g} {pr['unit']} ({pr['percent']:g}%), "
                   f"{pr['rate_per_s']:g} {pr['unit']}/s{eta}")
    else:
        typer.echo(f"stage: {stage}{step}")
    if run.get("stages"):
        typer.echo("stages done: " + ", ".join(f"{k} {_duration(v)}" for k, v in run["stages"].items()))
    d = run.get("documents", {})
    if d:
        typer.echo(f"documents: {d.get('in_store', '?')} in the store; this run: {d.get('planned', '?')} to process — "
                   f"{d.get('processed', 0)} processed, {d.get('quarantined', 0)} quarantined, "
                   f"{d.get('waiting', '?')} waiting; {d.get('already_known', 0)} already known, "
                   f"{d.get('kept_in_quarantine', 0)} kept in quarantine, {d.get('skipped_by_rule', 0)} files skipped "
                   f"by rule")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@app.command("export")
def export_cmd(out: Annotated[Path, typer.Option("--out", "-o", help="folder for the tables")] = Path("out"),
               formats: Annotated[Optional[str], typer.Option(
                   "--format", "-f", help="comma-separated: csv,xlsx,parquet,dta (default: export.formats)")] = None,
               config: ConfigOpt = None) -> None:
    """Export the tables of the corpus store, with codebook, network and manifest, to a folder."""
    from pipeline.errors import ConfigError
    from pipeline.settings import ExportFormat

    settings = _settings(config)
    chosen = None
    if formats:
        names = [f.strip() for f in formats.split(",") if f.strip()]
        allowed = [f.value for f in ExportFormat]
        bad = [f for f in names if f not in allowed]
        if bad:
            raise ConfigError(f"--format {', '.join(bad)}: expected some of {', '.join(allowed)}")
        chosen = names
    _check_store(settings)
    _check_out(out)
    from flows.mine import shared_api
    from flows.publish import export_flow

    _quiet_prefect()
    with shared_api():
        summary = export_flow(out=str(out), formats=chosen, settings=settings)
    typer.echo(f"tables: {out}/ ({', '.join(f'{k} {v}' for k, v in summary['tables'].items())})")


@app.command()
def report(out: Annotated[Path, typer.Option("--out", "-o", help="folder for report.html")] = Path("out"),
           config: ConfigOpt = None) -> None:
    """Write report.html (charts and the evidence browser) for the corpus store."""
    settings = _settings(config)
    _check_store(settings)
    _check_out(out)
    from flows.mine import shared_api
    from flows.publish import report_flow

    _quiet_prefect()
    with shared_api():
        summary = report_flow(out=str(out), settings=settings)
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
        from pipeline.errors import ConfigError
        from pipeline.settings import _describe

        given = " ".join(f"{o} {v}" for o, v in (("--runner", kind), ("--dask-address", address)) if v)
        raise ConfigError(f"{given}: {_describe(exc)}") from None
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
                url: Annotated[Optional[str], typer.Option(
                    help="a one-off listing page; only its host is fetched")] = None,
                documents: Annotated[Optional[str], typer.Option(
                    help="with --url: regex of document-page links")] = None,
                then_run: Annotated[bool, typer.Option(
                    "--run", help="then process what waits (as `jmm run`)")] = False,
                out: Annotated[Path, typer.Option(
                    "--out", "-o", help="with --run: folder for the tables")] = Path("out"),
                as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
                config: ConfigOpt = None) -> None:
    """Fetch new documents from the configured web sources (or one listing page) into the raw store, and say
    how many documents wait to be processed; with --run, process them too (as `jmm run` without a path).

    Exit status: 0 done; 3 some documents could not be fetched (or, with --run, some inputs are quarantined);
    1 failed; 2 a mistake in the command line or config.yaml."""
    from pipeline.errors import ConfigError

    if url:
        _check_url(url, documents)
    elif documents:
        raise ConfigError(f"--documents {documents}: only with --url (a configured source has document_pattern)")
    settings = _settings(config)
    if not url and not settings.collect.sources:
        raise ConfigError(f"{_config_path(config) or 'config.yaml'}: no web sources configured (collect.sources) "
                          f"and no --url given; add a source, or give --url LISTING-PAGE")
    names = {x.name for x in settings.collect.sources}
    unknown = [n for n in source or [] if n not in names]
    if unknown:
        raise ConfigError(f"--source {', '.join(unknown)}: not a configured source (collect.sources has "
                          f"{', '.join(sorted(names)) or 'none'})")
    if then_run:
        _check_out(out)
    _check_free(settings)  # what is fetched is recorded in the store
    from flows.collect import run_collect
    from flows.mine import shared_api

    _quiet_prefect()
    with shared_api():
        c = run_collect(settings, source or None, url, documents)
        summary = None
        if then_run:
            from flows.mine import run_mine

            summary = run_mine(None, str(out), settings)
    if as_json:
        typer.echo(json.dumps(c if summary is None else {"collect": c, "run": summary}, ensure_ascii=False))
    else:
        _echo_collect(c)
        if not c["new"]:
            typer.echo("nothing new collected")
        if summary is None:
            cmd = "jmm run" + (f" --config {config}" if config else "")
            n = c["waiting"]
            typer.echo(f"{n['documents']} documents wait to be processed ({n['collected']} collected, {n['inbox']} "
                       f"files in the inbox): run `{cmd}` to process them (or `jmm collect --run` next time)"
                       if n["documents"] else "no document waits to be processed")
        else:
            _echo_run(summary)
    quarantined = bool(summary and (summary["quarantined_now"] or summary["quarantined_kept"]))
    if c["failed"] or quarantined:
        raise typer.Exit(3)


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Register the deployments of config.yaml (serve.deployments: cron schedules of collect + mine) with the
    Prefect API and run them when due. Needs a Prefect server: `prefect server start` in another shell, and
    PREFECT_API_URL pointing at it."""
    from pipeline.errors import ConfigError

    settings = _settings(config)
    if not settings.serve.deployments:
        raise ConfigError(f"{_config_path(config) or 'config.yaml'}: serve.deployments is empty; add one (name, "
                          f"cron, collect, paths, out) to schedule runs")
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise ConfigError("jmm serve needs a Prefect server: start one with `prefect server start` and set "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Scheduled runs)")
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
    ks = _k_range(k) if k else None
    settings = _settings(config)
    _check_store(settings)
    _check_free(settings)
    from flows.mine import shared_api, topics as topics_flow

    _quiet_prefect()
    with shared_api():
        t = topics_flow(settings=settings, ks=ks)
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
