"""Segment + tag speed against plain `jieba.lcut` over the same text; prints one JSON line.

    .venv/bin/python bench/tag.py [--mb 2] [--repeats 3]

Reads the first MB of real news text from ../shared/corpora/xwlb/news.jsonl.gz. One process, one core, run
interleaved `repeats` times: the reference, plain jieba (`lcut(text, HMM=False)` with the same user dictionary);
segmentation alone (`segment.words`); segment + tag (`segment.words` + `tag.participants`, the headline figure);
and the whole tag stage as `jmm run` calls it (`tag.document`, which adds the document codes). Throughput is
given by wall clock and by this process's CPU time (the per-core figure on a shared machine, where wall clock
also counts waiting for a core); the ratios (ours / jieba time) are medians over the repeats."""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
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


def timed(fn) -> tuple[float, float]:  # noqa: ANN001
    """(wall seconds, CPU seconds of this process) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    items = texts(args.mb)
    mb = sum(len(t.encode()) for _, _, t in items) / 1e6
    user_dict = segment.write_user_dictionary(load_gazetteer(LEXICONS), Path("/tmp/jmm-bench-user_dict.txt"),
                                              LEXICONS / "domain_terms.txt")
    jieba.initialize()
    jieba.load_userdict(str(user_dict))  # the reference: plain jieba with the same dictionary
    tag.load_pipeline(LEXICONS, user_dict)
    docs = [Document("b", "bench", title, date, text) for title, date, text in items]
    n = [0]

    def reference() -> None:
        for _, _, text in items:
            jieba.lcut(text, HMM=False)

    def segment_only() -> None:
        for doc in docs:
            segment.words(doc.text, user_dict)

    def ours() -> None:
        n[0] = 0
        for doc in docs:
            words = segment.words(doc.text, user_dict)
            n[0] += len(tag.participants(doc, words, LEXICONS, user_dict))

    def stage() -> None:  # the pipeline's segment and tag stages as `jmm run` runs them: participants and codes
        for doc in docs:
            tag.document(doc, segment.words(doc.text, user_dict), LEXICONS, user_dict)

    runs = [(timed(reference), timed(segment_only), timed(ours), timed(stage)) for _ in range(args.repeats)]
    med = statistics.median
    wall = [med(r[k][0] for r in runs) for k in range(4)]
    cpu = [med(r[k][1] for r in runs) for k in range(4)]
    print(json.dumps({
        "mb": round(mb, 2), "docs": len(items), "participants": n[0], "repeats": args.repeats,
        "segmenter": "rjieba" if segment.rjieba is not None else "jieba",
        "jieba_mb_s": round(mb / wall[0], 3), "segment_tag_mb_s": round(mb / wall[2], 3),
        "ratio_ours_over_jieba_time": round(med(r[2][0] / r[0][0] for r in runs), 3),
        "segment_tag_codes_mb_s": round(mb / wall[3], 3),
        "cpu_jieba_mb_s": round(mb / cpu[0], 3), "cpu_segment_mb_s": round(mb / cpu[1], 3),
        "cpu_segment_tag_mb_s": round(mb / cpu[2], 3), "cpu_segment_tag_codes_mb_s": round(mb / cpu[3], 3),
        "cpu_ratio_ours_over_jieba_time": round(med(r[2][1] / r[0][1] for r in runs), 3),
        "cpu_ratio_with_codes_over_jieba_time": round(med(r[3][1] / r[0][1] for r in runs), 3)}))


if __name__ == "__main__":
    main()
