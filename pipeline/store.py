"""The corpus store: content-addressed raw copies and an embedded DuckDB database.

Raw inputs are copied to `<root>/raw/ab/abcdef….<ext>` once and never modified. All rows of one document are
written in one transaction, so a crashed run leaves no half-written document and a re-run completes it.
Only one process may open the database for writing at a time; a second gets a StoreError saying so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from pipeline.errors import StoreError
from pipeline.records import Document, Tagged

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS documents (
    doc_id VARCHAR PRIMARY KEY, source VARCHAR, kind VARCHAR, external_id VARCHAR, title VARCHAR,
    date VARCHAR, pages INTEGER, chars INTEGER, extraction VARCHAR, text VARCHAR, original_text VARCHAR,
    warnings VARCHAR, versions VARCHAR, date_source VARCHAR, source_url VARCHAR, issuer VARCHAR);
CREATE TABLE IF NOT EXISTS sources (
    doc_id VARCHAR, path VARCHAR, record INTEGER, url VARCHAR, fetched_at VARCHAR, page_date VARCHAR,
    PRIMARY KEY (doc_id, path, record));
CREATE TABLE IF NOT EXISTS pages (
    doc_id VARCHAR, n INTEGER, text VARCHAR, method VARCHAR, quality VARCHAR, PRIMARY KEY (doc_id, n));
CREATE TABLE IF NOT EXISTS doc_tables (
    doc_id VARCHAR, page INTEGER, idx INTEGER, rows VARCHAR, PRIMARY KEY (doc_id, idx));
CREATE TABLE IF NOT EXISTS tokens (doc_id VARCHAR PRIMARY KEY, tokens VARCHAR[]);
CREATE TABLE IF NOT EXISTS participants (
    doc_id VARCHAR, idx INTEGER, name VARCHAR, mention VARCHAR, start INTEGER, "end" INTEGER,
    level VARCHAR, region_code VARCHAR, province VARCHAR, sector VARCHAR, role VARCHAR,
    PRIMARY KEY (doc_id, idx));
CREATE TABLE IF NOT EXISTS codes (
    doc_id VARCHAR PRIMARY KEY, doc_class VARCHAR, levels VARCHAR[], regions VARCHAR[],
    collab_type VARCHAR[], series VARCHAR, session INTEGER, meeting_date VARCHAR, location VARCHAR,
    depth INTEGER, institutions VARCHAR[], vertical_guidance BOOLEAN, goals VARCHAR[]);
CREATE TABLE IF NOT EXISTS evidence (
    doc_id VARCHAR, idx INTEGER, code VARCHAR, value VARCHAR, start INTEGER, "end" INTEGER, text VARCHAR,
    PRIMARY KEY (doc_id, idx));
CREATE TABLE IF NOT EXISTS quarantine (
    sha256 VARCHAR, file VARCHAR, record INTEGER, stage VARCHAR, reason VARCHAR,
    PRIMARY KEY (sha256, file, record));
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS versions VARCHAR;
CREATE TABLE IF NOT EXISTS skipped (path VARCHAR PRIMARY KEY, rule VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at VARCHAR, finished_at VARCHAR, inputs VARCHAR, summary VARCHAR);
CREATE TABLE IF NOT EXISTS topic_fits (fit_id VARCHAR PRIMARY KEY, settings VARCHAR, metrics VARCHAR);
CREATE TABLE IF NOT EXISTS topics (
    fit_id VARCHAR, topic_id INTEGER, label VARCHAR, top_terms VARCHAR, PRIMARY KEY (fit_id, topic_id));
CREATE TABLE IF NOT EXISTS topic_terms_by_period (
    fit_id VARCHAR, topic_id INTEGER, period VARCHAR, rank INTEGER, term VARCHAR, weight DOUBLE);
CREATE TABLE IF NOT EXISTS doc_topics (fit_id VARCHAR, doc_id VARCHAR, topic_id INTEGER, weight DOUBLE);
CREATE TABLE IF NOT EXISTS topic_prevalence (
    fit_id VARCHAR, topic_id INTEGER, group_type VARCHAR, "group" VARCHAR, share DOUBLE, ci_low DOUBLE,
    ci_high DOUBLE, n_docs INTEGER);
"""

#: Columns added since the first schema, added to a store made before them (in this order, at the end).
_ADDED_COLUMNS = (("documents", "date_source", "VARCHAR"), ("documents", "source_url", "VARCHAR"),
                  ("documents", "issuer", "VARCHAR"), ("sources", "page_date", "VARCHAR"))

#: Per-document tables, deleted and rewritten together when a document is (re)written.
_DOC_TABLES = ("pages", "doc_tables", "tokens", "participants", "codes", "evidence", "documents")


_S, _I, _B = pa.string(), pa.int32(), pa.bool_()
_LIST = pa.list_(pa.string())
#: Arrow schemas of the per-document tables, in the column order of _SCHEMA.
_ROW_SCHEMAS: dict[str, pa.Schema] = {
    "documents": pa.schema([("doc_id", _S), ("source", _S), ("kind", _S), ("external_id", _S), ("title", _S),
                            ("date", _S), ("pages", _I), ("chars", _I), ("extraction", _S), ("text", _S),
                            ("original_text", _S), ("warnings", _S), ("versions", _S), ("date_source", _S),
                            ("source_url", _S), ("issuer", _S)]),
    "pages": pa.schema([("doc_id", _S), ("n", _I), ("text", _S), ("method", _S), ("quality", _S)]),
    "doc_tables": pa.schema([("doc_id", _S), ("page", _I), ("idx", _I), ("rows", _S)]),
    "tokens": pa.schema([("doc_id", _S), ("tokens", _LIST)]),
    "participants": pa.schema([("doc_id", _S), ("idx", _I), ("name", _S), ("mention", _S), ("start", _I),
                               ("end", _I), ("level", _S), ("region_code", _S), ("province", _S),
                               ("sector", _S), ("role", _S)]),
    "codes": pa.schema([("doc_id", _S), ("doc_class", _S), ("levels", _LIST), ("regions", _LIST),
                        ("collab_type", _LIST), ("series", _S), ("session", _I), ("meeting_date", _S),
                        ("location", _S), ("depth", _I), ("institutions", _LIST), ("vertical_guidance", _B),
                        ("goals", _LIST)]),
    "evidence": pa.schema([("doc_id", _S), ("idx", _I), ("code", _S), ("value", _S), ("start", _I),
                           ("end", _I), ("text", _S)]),
}


def _document_rows(items: Sequence[tuple[Document, Iterable[str] | None, Tagged | None]],
                   versions: dict[str, str]) -> dict[str, pa.Table]:
    """The rows of every per-document table for `items`, as Arrow tables."""
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _ROW_SCHEMAS}
    vjson = json.dumps(versions, sort_keys=True)
    for doc, tokens, tagged in items:
        d = doc.doc_id
        rows["documents"].append((d, doc.source, doc.kind, doc.external_id, doc.title, doc.date, len(doc.pages),
                                  len(doc.text), doc.extraction, doc.text, doc.original_text,
                                  json.dumps(list(doc.warnings), ensure_ascii=False), vjson, doc.date_source,
                                  doc.source_url, doc.issuer))
        rows["pages"].extend((d, p.n, p.text, p.method, p.quality) for p in doc.pages)
        rows["doc_tables"].extend((d, t.page, i, json.dumps(t.rows, ensure_ascii=False))
                                  for i, t in enumerate(doc.tables))
        if tokens is not None:
            rows["tokens"].append((d, list(tokens)))
        if tagged is not None:
            rows["participants"].extend((d, i, p.name, p.mention, p.start, p.end, p.level, p.region_code,
                                         p.province, p.sector, p.role) for i, p in enumerate(tagged.participants))
            c = tagged.codes
            rows["codes"].append((d, c.doc_class, list(c.levels), list(c.regions), list(c.collab_type), c.series,
                                  c.session, c.meeting_date, c.location, c.depth, list(c.institutions),
                                  c.vertical_guidance, list(c.goals)))
            rows["evidence"].extend((d, i, e.code, e.value, e.start, e.end, e.text)
                                    for i, e in enumerate(c.evidence))
    out = {}
    for name, schema in _ROW_SCHEMAS.items():
        cols = list(zip(*rows[name])) if rows[name] else [[] for _ in schema]
        out[name] = pa.table({f.name: pa.array(list(col), f.type) for f, col in zip(schema, cols)}, schema=schema)
    return out


def sha256_file(path: Path | str) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """Content-addressed copies of the inputs: `<root>/ab/abcdef….<ext>`, written once, never modified."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, sha: str, suffix: str) -> Path:
        return self.root / sha[:2] / f"{sha}{suffix.lower()}"

    def add_file(self, path: Path | str, sha: str | None = None) -> Path:
        """Copy a file into the store (atomically) unless it is there already; return the stored path."""
        path = Path(path)
        sha = sha or sha256_file(path)
        dest = self.path_for(sha, path.suffix if path.suffix.lower() != ".gz" else "".join(path.suffixes[-2:]))
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dest

    def add_bytes(self, data: bytes, suffix: str) -> tuple[str, Path]:
        """Store bytes; return (sha256, stored path)."""
        sha = sha256_bytes(data)
        dest = self.path_for(sha, suffix)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        return sha, dest


class StoreLock:
    """An exclusive lock on a corpus store for one run (`<database>.lock`, flock). The operating system
    releases it when the process ends, however it ends, so a killed run never leaves a stale lock. A second
    run gets a StoreError naming the process that holds it, or waits up to `wait_s` seconds for it."""

    def __init__(self, database: Path | str, wait_s: float = 0.0) -> None:
        self.path = Path(f"{database}.lock")
        self.wait_s = wait_s
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        import fcntl
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                    os.close(fd)
                    raise StoreError(
                        f"{self.path.with_suffix('')}: the corpus store is in use by another jmm run ({holder}); "
                        f"wait for it to finish, or stop it, and run again") from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the flock
            self._fd = None


class Store:
    """The DuckDB corpus store. Use as a context manager; one writer process at a time."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no corpus store yet; run `jmm run PATH` first")
        try:
            self._con = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"{self.path}: the corpus store is in use by another jmm process; wait for it to finish "
                    f"(or stop it) and run again"
                ) from exc
            raise StoreError(f"{self.path}: cannot open the corpus store: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot open the corpus store: {exc}") from exc
        if not self.read_only:
            self._con.execute(_SCHEMA)
            for table, column, kind in _ADDED_COLUMNS:
                self._con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
            self._con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(f"{self.path}: store is not open")
        return self._con

    # -- documents -------------------------------------------------------------------------------------
    def versions(self) -> dict[str, dict[str, str]]:
        """Map every stored document to the stage versions that made its rows."""
        rows = self.con.execute("SELECT doc_id, versions FROM documents").fetchall()
        return {doc_id: json.loads(v or "{}") for doc_id, v in rows}

    def hash_versions(self, h: Any) -> None:
        """Feed every stored document (id and stage versions, in id order) into the hashlib object `h`: what
        anything derived from the whole corpus (a topic fit, the exports) depends on."""
        for doc_id, versions in sorted(self.versions().items()):
            h.update(f"{doc_id} {json.dumps(versions, sort_keys=True)}\n".encode())

    def quarantined_ids(self, versions: dict[str, str] | None = None) -> set[str]:
        """The ids of quarantined inputs; with `versions`, only those quarantined by these stage versions (an
        input quarantined by other versions is tried again)."""
        if versions is None:
            return {r[0] for r in self.con.execute("SELECT DISTINCT sha256 FROM quarantine").fetchall()}
        return {r[0] for r in self.con.execute("SELECT DISTINCT sha256 FROM quarantine WHERE versions = ?",
                                               [json.dumps(versions, sort_keys=True)]).fetchall()}

    def waiting_paths(self, versions: dict[str, str], quarantined: bool = False) -> list[str]:
        """The collected files (fetched from the web: a URL is on record) whose document is not stored with these
        stage versions, and not quarantined (unless `quarantined`): what `jmm run` without a path processes.
        Sorted."""
        rows = self.con.execute(
            "SELECT DISTINCT s.path FROM sources s LEFT JOIN documents d USING (doc_id) "
            "WHERE s.url IS NOT NULL AND (d.doc_id IS NULL OR d.versions IS DISTINCT FROM ?) "
            "AND (? OR s.doc_id NOT IN (SELECT sha256 FROM quarantine)) ORDER BY s.path",
            [json.dumps(versions, sort_keys=True), quarantined]).fetchall()
        return [r[0] for r in rows]

    def account(self) -> dict[str, int]:
        """Every input the store has seen, counted once: `processed` (documents stored), `quarantined`
        (quarantined inputs, duplicates included), `skipped` (files left out by rule), `waiting` (found or
        collected, neither processed nor quarantined yet) and `seen`, their sum."""
        processed = self.count("documents")
        quarantined = self.count("quarantine")
        skipped = self.count("skipped") if self._has("skipped") else 0  # a store opened read-only before migrating
        waiting = int(self.con.execute(
            "SELECT count(DISTINCT doc_id) FROM sources WHERE doc_id NOT IN (SELECT doc_id FROM documents) "
            "AND doc_id NOT IN (SELECT sha256 FROM quarantine)").fetchone()[0])
        return {"seen": processed + quarantined + skipped + waiting, "processed": processed,
                "quarantined": quarantined, "skipped": skipped, "waiting": waiting}

    def skip(self, rows: Iterable[tuple[str, str]]) -> None:
        """Record files left out by rule: (path, rule) each."""
        rows = list(rows)
        if rows:
            self.con.executemany("INSERT OR REPLACE INTO skipped VALUES (?, ?)", rows)

    def skipped(self) -> list[dict[str, str]]:
        """The files left out by rule, with the rule ([] for a store made before they were recorded)."""
        if not self._has("skipped"):
            return []
        return [{"path": p, "rule": r} for p, r in
                self.con.execute("SELECT path, rule FROM skipped ORDER BY path").fetchall()]

    def _has(self, table: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                     [table]).fetchone()[0])

    def add_source(self, doc_id: str, path: str, record: int | None, url: str | None = None,
                   fetched_at: str | None = None, page_date: str | None = None) -> None:
        """Record where a document was found; a fetch records its URL, time and the page's date, updating an
        earlier record of the same place."""
        self.con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET url = coalesce(excluded.url, "
            "url), fetched_at = coalesce(excluded.fetched_at, fetched_at), page_date = coalesce(excluded.page_date, "
            "page_date)",
            [doc_id, path, -1 if record is None else record, url, fetched_at, page_date],
        )

    def fetched(self) -> dict[str, tuple[str | None, str | None]]:
        """(URL, page date) of every document the web collector fetched, by doc_id (the latest fetch)."""
        rows = self.con.execute(
            "SELECT doc_id, arg_max(url, fetched_at), arg_max(page_date, fetched_at) FROM sources "
            "WHERE url IS NOT NULL GROUP BY doc_id").fetchall()
        return {d: (u, p) for d, u, p in rows}

    def add_sources(self, rows: list[tuple[str, str, int | None]]) -> None:
        """Record many (doc_id, path, record) places at once (a JSON Lines file's records: one insert)."""
        if not rows:
            return
        df = pd.DataFrame(
            {"doc_id": [r[0] for r in rows], "path": [r[1] for r in rows],
             "record": [-1 if r[2] is None else r[2] for r in rows]}
        ).drop_duplicates(["doc_id", "path", "record"])
        self.con.register("_sources", df)
        try:
            self.con.execute("INSERT OR IGNORE INTO sources SELECT doc_id, path, record, NULL, NULL, NULL "
                             "FROM _sources")
        finally:
            self.con.unregister("_sources")

    def write_document(self, doc: Document, tokens: Iterable[str] | None, tagged: Tagged | None,
                       versions: dict[str, str]) -> None:
        """Write every row of one document in one transaction, replacing what it had."""
        self.write_documents([(doc, tokens, tagged)], versions)

    def write_documents(self, items: Sequence[tuple[Document, Iterable[str] | None, Tagged | None]],
                        versions: dict[str, str]) -> None:
        """Write every row of many documents in one transaction (bulk inserts), replacing what they had:
        either all of them are written or none is."""
        if not items:
            return
        rows = _document_rows(items, versions)
        ids = pa.table({"doc_id": pa.array([doc.doc_id for doc, _t, _g in items], pa.string())})
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_ids", ids)
            for table in _DOC_TABLES:
                con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM _ids)")
            con.execute("DELETE FROM quarantine WHERE sha256 IN (SELECT doc_id FROM _ids) AND stage <> 'duplicate'")
            for table, data in rows.items():
                if data.num_rows:
                    con.register("_rows", data)
                    con.execute(f"INSERT INTO {table} SELECT * FROM _rows")
                    con.unregister("_rows")
            con.unregister("_ids")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def quarantine(self, sha: str, file: str, reason: str, stage: str, record: int | None = None,
                   versions: dict[str, str] | None = None) -> None:
        """Record that an input could not be processed, and why, and by which stage versions (a run tries it
        again only when they change, or when asked). The raw copy stays in the raw store."""
        self.con.execute(
            "INSERT OR REPLACE INTO quarantine (sha256, file, record, stage, reason, versions) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [sha, file, -1 if record is None else record, stage, reason,
             json.dumps(versions, sort_keys=True) if versions is not None else None],
        )

    def quarantined(self) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT file, sha256, reason, stage, record FROM quarantine ORDER BY file, record"
        ).fetchall()
        return [
            {"file": f, "sha256": s, "reason": r, "stage": st, **({"record": rec} if rec >= 0 else {})}
            for f, s, r, st, rec in rows
        ]

    # -- reading ---------------------------------------------------------------------------------------
    def frame(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).fetchdf()

    def iter_tokens(self, exclude_classes: Sequence[str] = ()) -> Iterator[tuple[str, str | None, list[str]]]:
        """Yield (doc_id, date, tokens) for every stored document, ordered by doc_id; `exclude_classes` leaves out
        the documents coded with one of those doc_class values (and those without codes)."""
        where = ""
        if exclude_classes:
            where = ("WHERE d.doc_id IN (SELECT doc_id FROM codes WHERE NOT list_contains(?, doc_class))")
        cur = self.con.execute(
            f"SELECT d.doc_id, d.date, t.tokens FROM documents d JOIN tokens t USING (doc_id) {where} "
            "ORDER BY d.doc_id", [list(exclude_classes)] if exclude_classes else [])
        while batch := cur.fetchmany(2000):
            for doc_id, date, toks in batch:
                yield doc_id, date, list(toks)

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- topics ----------------------------------------------------------------------------------------
    def write_topics(self, fit_id: str, settings: dict[str, Any], metrics: dict[str, Any],
                     tables: dict[str, pd.DataFrame]) -> None:
        """Replace every row of one topic fit in one transaction."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for t in ("topic_fits", "topics", "topic_terms_by_period", "doc_topics", "topic_prevalence"):
                con.execute(f"DELETE FROM {t} WHERE fit_id = ?", [fit_id])
            con.execute("INSERT INTO topic_fits VALUES (?, ?, ?)",
                        [fit_id, json.dumps(settings, sort_keys=True, ensure_ascii=False),
                         json.dumps(metrics, sort_keys=True)])
            for name, df in tables.items():
                if len(df):
                    con.register("_df", df)
                    cols = ", ".join(f'"{c}"' for c in df.columns)
                    con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _df")
                    con.unregister("_df")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('current_fit', ?)", [fit_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def current_fit(self) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = 'current_fit'").fetchone()
        return row[0] if row else None

    def fit_metrics(self, fit_id: str) -> dict[str, Any]:
        """The metrics stored with a topic fit ({} for an unknown fit)."""
        row = self.con.execute("SELECT metrics FROM topic_fits WHERE fit_id = ?", [fit_id]).fetchone()
        return json.loads(row[0]) if row and row[0] else {}
