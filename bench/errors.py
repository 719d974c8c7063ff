"""Per-document error analysis for any gold file: predicted vs gold participants and codes, then the scores.

    .venv/bin/python bench/errors.py GOLD.jsonl [--only ID_SUBSTRING] [--quiet] [--fields participants,collab_type]

Extraction of PDF items is cached under /tmp/jmm-errors-cache (keyed by file hash and extract version) so
that re-running after a tagging change only re-runs segment + tag + code."""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import extract, isolate, segment, tag  # noqa: E402
from pipeline.collect import kind_of, record_id  # noqa: E402
from pipeline.evaluate import norm_name, read_gold, score  # noqa: E402
from pipeline.gazetteer import level_of, load_gazetteer  # noqa: E402
from pipeline.records import Source  # noqa: E402
from pipeline.settings import read_settings  # noqa: E402
from pipeline.store import sha256_file  # noqa: E402

CACHE = Path("/tmp/jmm-errors-cache")
FIELDS = ("doc_class", "participants", "levels", "regions", "collab_type", "series", "session", "meeting_date",
          "location", "depth")


def document(item, settings):  # noqa: ANN001, ANN201
    limits = settings.extract
    if item.file is None:
        rec = {"id": item.id, "date": item.date, "title": item.title, "text": item.text}
        return extract.document(Source(record_id(rec), item.id, "jsonl-record", 0), rec, settings=limits)
    digest = sha256_file(item.file)
    key = hashlib.sha256(f"{digest}:{extract.VERSION}".encode()).hexdigest()[:20]
    path = CACHE / f"{key}.pkl"
    if path.exists():
        doc = pickle.loads(path.read_bytes())
    else:
        doc = isolate.document(Source(digest, str(item.file), kind_of(item.file) or "pdf"), limits)
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(doc))
    return replace(doc, date=item.date) if item.date else doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gold", type=Path)
    ap.add_argument("--only", default="")
    ap.add_argument("--quiet", action="store_true", help="scores only")
    ap.add_argument("--fields", default=",".join(FIELDS))
    ap.add_argument("--text", action="store_true", help="print the document text too")
    args = ap.parse_args()
    settings = read_settings(ROOT / "config.yaml")
    gaz_dir = settings.path(settings.tag.gazetteer)
    user_dict = segment.write_user_dictionary(load_gazetteer(gaz_dir), settings.path(settings.segment.user_dictionary),
                                              gaz_dir / "domain_terms.txt")
    gaz = load_gazetteer(gaz_dir)
    items = [it for it in read_gold(args.gold) if args.only in it.id]
    fields = args.fields.split(",")
    preds = []
    for it in items:
        doc = document(it, settings)
        tagged = tag.document(doc, segment.words(doc.text, user_dict), gaz_dir, user_dict)
        preds.append(tagged)
        if args.quiet:
            continue
        g, c = it.gold, tagged.codes
        lines = []
        for f in fields:
            if f == "participants":
                want = {norm_name(n) for n in g.get("participants") or []}
                got = {norm_name(p.name): p for p in tagged.participants}
                miss = sorted(want - set(got))
                extra = sorted(n for n in got if n not in want)
                if miss or extra:
                    lines.append(f"  participants  missing={miss}")
                    lines.append(f"                extra={[(n, got[n].mention, got[n].start) for n in extra]}")
                gm = g.get("participant_mentions") or {}
                pm = {p.mention for p in tagged.participants}
                bad = sorted({m for m in gm.values()} - pm)
                if bad and "participant_mentions" in fields:
                    lines.append(f"  mentions missing={bad}")
                continue
            if f not in g:
                continue
            want, got = g[f], getattr(c, f, None)
            if isinstance(want, list) or isinstance(got, tuple):
                if set(want or []) != set(got or []):
                    lines.append(f"  {f}: gold={sorted(want or [])} pred={sorted(got or [])}")
            elif want is not None and want != got:
                lines.append(f"  {f}: gold={want!r} pred={got!r}")
        if lines:
            print(f"## {it.id}  [{g.get('doc_class')}]  {it.title[:50]}")
            print("\n".join(lines))
            if args.text:
                print("  TEXT:", doc.text.replace("\n", "⏎")[:3000])
    print(json.dumps(score(items, preds, lambda n: level_of(gaz, n)), ensure_ascii=False))


if __name__ == "__main__":
    main()
