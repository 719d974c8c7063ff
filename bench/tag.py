"""Segment + tag speed against plain `jieba.lcut` over the same text; prints one JSON line.

    .venv/bin/python bench/tag.py [--mb 2]

Reads the first MB of real news text from ../shared/corpora/xwlb/news.jsonl.gz (or the sample gold texts).
Timings on a shared machine are noisy: the ratio (ours / jieba) is the stable figure."""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import jieba

from pipeline import segment, tag
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document

ROOT = Path(__file__).resolve().parents[1]
LEXICONS = ROOT / "corpora" / "lexicons"
NEWS = ROOT.parent / "shared" / "corpora" / "xwlb" / "news.jsonl.gz"


def texts(mb: float) -> list[tuple[str, str, str]]:
    out, size = [], 0
    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            out.append((o["title"], o["date"], o["text"]))
            size += len(o["text"].encode())
            if size >= mb * 1e6:
                break
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=2.0)
    args = ap.parse_args()
    items = texts(args.mb)
    nbytes = sum(len(t.encode()) for _, _, t in items)
    user_dict = segment.write_user_dictionary(load_gazetteer(LEXICONS), Path("/tmp/jmm-bench-user_dict.txt"),
                                              LEXICONS / "domain_terms.txt")
    tag.load_pipeline(LEXICONS, user_dict)
    t0 = time.perf_counter()
    for _, _, text in items:
        jieba.lcut(text, HMM=False)
    t_jieba = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = 0
    for title, date, text in items:
        words = segment.words(text, user_dict)
        n += len(tag.participants(Document("b", "bench", title, date, text), words, LEXICONS, user_dict))
    t_ours = time.perf_counter() - t0
    print(json.dumps({"mb": round(nbytes / 1e6, 2), "docs": len(items), "participants": n,
                      "jieba_mb_s": round(nbytes / 1e6 / t_jieba, 3), "segment_tag_mb_s": round(nbytes / 1e6 / t_ours, 3),
                      "ratio_ours_over_jieba_time": round(t_ours / t_jieba, 2)}))


if __name__ == "__main__":
    main()
