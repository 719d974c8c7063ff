"""Per-document errors of the tagger on a gold file: predicted vs gold participants and codes.

    .venv/bin/python tools/errors.py GOLD.jsonl [--split train] [--only ID_SUBSTRING] [--fields participants,doc_class]

For reading errors while developing. It refuses records whose `split` is `check` (dev2's held-out split may only
be scored, with `jmm evaluate --split check`, never read)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline import process, segment
from pipeline.evaluate import norm_name
from pipeline.labels import from_archive, read_gold, source_of
from pipeline.settings import read_settings

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("doc_class", "participants", "levels", "regions", "collab_type", "series", "session", "meeting_date",
          "depth")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gold", type=Path)
    ap.add_argument("--split")
    ap.add_argument("--only", default="")
    ap.add_argument("--fields", default=",".join(FIELDS))
    args = ap.parse_args()
    if args.split == "check":
        raise SystemExit("the check split is held out: score it with `jmm evaluate --split check`, do not read it")
    settings = read_settings(ROOT / "config.yaml")
    from flows.workers import prepare

    prepare(settings)
    items = read_gold(args.gold, args.split)
    if any(it.split == "check" for it in items):
        raise SystemExit(f"{args.gold}: holds check records; pass --split train (check is held out)")
    archive = settings.path(settings.train.archive) if settings.train.archive else None
    items = from_archive([it for it in items if args.only in it.id], archive, settings.collect.bulletin_titles)
    fields = args.fields.split(",")
    udict = settings.path(settings.segment.user_dictionary)
    for it in items:
        source, rec = source_of(it)
        doc = process.read(source, settings, rec, it.date)
        t = process.tag_document(doc, segment.words(doc.text, udict), settings)
        pred = {"doc_class": t.codes.doc_class, "participants": sorted(p.name for p in t.participants),
                **{f: getattr(t.codes, f) for f in FIELDS if f not in ("doc_class", "participants")}}
        diffs = {}
        for f in fields:
            g, p = it.gold.get(f), pred.get(f)
            if f == "participants":
                g, p = sorted(norm_name(x) for x in g or []), sorted(norm_name(x) for x in p)
            elif isinstance(p, tuple):
                g, p = sorted(g or []), sorted(p)
            if f in it.gold and g != p:
                diffs[f] = {"gold": g, "pred": p}
        if diffs:
            print(json.dumps({"id": it.id, "title": it.title[:40], **diffs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
