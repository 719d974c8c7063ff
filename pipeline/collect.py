"""Find the inputs of a batch: files in folders (and, in later modules, web sources), each identified by the
SHA-256 of its bytes; JSON Lines files expand to one source per record."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import CollectError
from pipeline.records import Source
from pipeline.store import sha256_file

log = logging.getLogger(__name__)

KINDS = {".pdf": "pdf", ".txt": "txt", ".text": "txt", ".md": "txt", ".html": "html", ".htm": "html",
         ".docx": "docx", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def kind_of(path: Path) -> str | None:
    """The input kind of a file from its name (`x.jsonl.gz` is JSON Lines), or None if unsupported."""
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".ndjson.gz")):
        return "jsonl"
    return KINDS.get(path.suffix.lower())


def files(paths: Iterable[Path | str]) -> list[Path]:
    """Walk files and folders; return the supported files, sorted, each once. A missing path is an error."""
    out: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file() and not f.name.startswith(".") and kind_of(f):
                    out.add(f)
        elif p.is_file():
            if kind_of(p) is None:
                raise CollectError(f"{p}: unsupported file type (expected one of "
                                   f"{', '.join(sorted(KINDS))}, .jsonl.gz)")
            out.add(p)
        else:
            raise CollectError(f"{p}: no such file or folder")
    return sorted(out)


def record_id(obj: dict[str, Any]) -> str:
    """SHA-256 of a JSON Lines record's canonical JSON (sorted keys, UTF-8): its doc_id."""
    canon = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def read_records(path: Path | str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, record, error) for each non-blank line of a JSON Lines file (optionally gzipped);
    a line that is not a JSON object gives (n, None, reason)."""
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as f:
            for n, line in enumerate(f):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, None, f"line {n + 1}: invalid JSON ({exc.msg} at column {exc.colno})"
                    continue
                if not isinstance(obj, dict):
                    yield n, None, f"line {n + 1}: expected a JSON object, got {type(obj).__name__}"
                    continue
                yield n, obj, None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CollectError(f"{path}: cannot read JSON Lines ({exc})") from exc


def sources(path: Path) -> Iterator[tuple[Source, dict[str, Any] | None, str | None]]:
    """Yield (source, record, error) for one input file: one source for a document file, one per line of a
    JSON Lines file. `error` is set for a line that cannot be a document."""
    kind = kind_of(path)
    if kind == "jsonl":
        for n, obj, err in read_records(path):
            if obj is None:
                raw = f"{path}:{n}".encode()
                yield Source(hashlib.sha256(raw).hexdigest(), str(path), "jsonl-record", n), None, err
            else:
                yield Source(record_id(obj), str(path), "jsonl-record", n), obj, None
    elif kind is not None:
        yield Source(sha256_file(path), str(path), kind), None, None
    else:
        raise CollectError(f"{path}: unsupported file type")
