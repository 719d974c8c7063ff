"""How often each cue word of corpora/lexicons/cues.csv occurs in the news archive: a cue must name a pattern that
recurs in real text, not one item's wording.

    .venv/bin/python tools/cue_counts.py [--archive ../shared/corpora/xwlb/news.jsonl.gz] [--below 20]

Prints one line per cue: group, word, occurrences, documents; with --below N only the cues under N documents."""

from __future__ import annotations

import argparse
import gzip
import json
import re
from pathlib import Path

from pipeline.lexicon import load_cues

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "corpora" / "xwlb" / "news.jsonl.gz")
    ap.add_argument("--below", type=int, default=None)
    args = ap.parse_args()
    cues = [(g, w, re.compile(w)) for g, ws in load_cues().items() for w in ws]
    hits = [0] * len(cues)
    docs = [0] * len(cues)
    with gzip.open(args.archive, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line).get("text") or ""
            for i, (_, _, p) in enumerate(cues):
                n = len(p.findall(text))
                hits[i] += n
                docs[i] += n > 0
    for (g, w, _), n, d in zip(cues, hits, docs, strict=True):
        if args.below is None or d < args.below:
            print(f"{g}\t{w}\t{n}\t{d}")


if __name__ == "__main__":
    main()
