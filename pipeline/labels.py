"""Labelled documents: the human labels the learned models are fitted on and the tagger is scored against.

A label set is a gold file (CODEBOOK §4): one JSON object a line with `id`, `date`, `title`, `gold` and either
`text` or `file` (a document path relative to the gold file). A label file may also give only `id` and `gold`
for an item of a news archive in JSON Lines (`{"id","date","title","text"}` a line, optionally gzipped): its text is
then read from the archive, a bulletin's story (`<id>-s<k>`) cut as `collect.stories` cuts it, so the project
ships labels without copying the texts. `split` keeps only the records whose `split` key has that value."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.collect import kind_of, read_records, record_id, stories
from pipeline.errors import ConfigError, PipelineError
from pipeline.records import Document, Source


@dataclass(frozen=True, slots=True)
class GoldItem:
    """One line of a label set: `text` or `file` (resolved against the label file's folder), or neither when
    the text is to be read from an archive by `id`."""

    id: str
    date: str | None
    title: str
    text: str | None
    file: Path | None
    gold: dict[str, Any]
    split: str | None = None


def read_gold(path: Path | str, split: str | None = None) -> list[GoldItem]:
    """Read a label set; with `split`, only its records whose `split` key equals it."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: gold file not found")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"{path}: line {n + 1}: invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("gold"), dict):
            raise PipelineError(f"{path}: line {n + 1}: expected an object with a 'gold' object")
        if "text" not in obj and "file" not in obj and "id" not in obj:
            raise PipelineError(f"{path}: line {n + 1}: expected 'text', 'file' or an archive 'id'")
        if split is not None and obj.get("split") != split:
            continue
        items.append(GoldItem(str(obj.get("id", n)), obj.get("date"), obj.get("title") or "", obj.get("text"),
                              path.parent / obj["file"] if obj.get("file") else None, obj["gold"],
                              obj.get("split")))
    if split is not None and not items:
        splits = sorted({str(json.loads(x).get("split")) for x in path.read_text(encoding="utf-8").splitlines()
                         if x.strip()})
        raise ConfigError(f"{path}: no record has split {split!r} (its splits: {', '.join(splits)})")
    return items


_STORY = re.compile(r"-s\d+$")


def from_archive(items: list[GoldItem], archive: Path | str | None,
                 bulletin_titles: str | None) -> list[GoldItem]:
    """Fill in date, title and text of the items that give only an archive id, from `archive`."""
    wanted = {it.id for it in items if it.text is None and it.file is None}
    if not wanted:
        return items
    if archive is None or not Path(archive).is_file():
        raise PipelineError(f"{archive}: news archive not found; {len(wanted)} labelled items give only an id "
                            f"(e.g. {sorted(wanted)[0]}) and need it (train.archive in config.yaml)")
    found: dict[str, dict[str, Any]] = {}
    parents = {_STORY.sub("", i) for i in wanted}
    for _n, rec, _err in read_records(archive):
        if rec is None or rec.get("id") not in parents:
            continue
        for r in [rec, *(stories(rec, bulletin_titles) or [])]:
            if r.get("id") in wanted:
                found[r["id"]] = r
    missing = wanted - set(found)
    if missing:
        raise PipelineError(f"{archive}: {len(missing)} labelled ids are not in the archive "
                            f"(e.g. {sorted(missing)[0]})")
    out = []
    for it in items:
        if it.id in found:
            r = found[it.id]
            it = GoldItem(it.id, r.get("date"), r.get("title") or "", r["text"], None, it.gold, it.split)
        out.append(it)
    return out


def source_of(item: GoldItem) -> tuple[Source, dict[str, Any] | None]:
    """The Source (and JSON record) a gold item stands for, as `jmm run` would see it."""
    if item.file is not None:
        from pipeline.store import sha256_file

        if not item.file.is_file():
            raise PipelineError(f"{item.file}: the gold item {item.id!r} names a file that does not exist")
        return Source(sha256_file(item.file), str(item.file), kind_of(item.file) or "pdf"), None
    rec = {"id": item.id, "date": item.date, "title": item.title, "text": item.text}
    return Source(record_id(rec), item.id, "jsonl-record", 0), rec


@dataclass(frozen=True, slots=True)
class Labelled:
    """A document as the pipeline reads it, with its human labels."""

    item: GoldItem
    doc: Document
    words: tuple[str, ...]


def documents(items: Iterable[GoldItem], read, segment) -> list[Labelled]:  # noqa: ANN001
    """Read every item into a Document with `read(source, record, date)` and segment it with `segment(text)`."""
    out = []
    for it in items:
        source, rec = source_of(it)
        doc = read(source, rec, it.date)
        out.append(Labelled(it, doc, tuple(segment(doc.text))))
    return out
