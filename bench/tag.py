"""Segment + tag speed against the segmenter alone over the same text; prints one JSON line.

    .venv/bin/python bench/tag.py [--mb 1] [--repeats 3]

Reads the first MB of real news text from ../shared/corpora/xwlb/news.jsonl.gz. One process, one core, run
interleaved `repeats` times: the reference, rjieba alone (`segment.words`, the segmenter the project uses, with the
same user dictionary), so the ratio shows the tagger's own cost; then the whole tag stage as `jmm run` calls it
(`process.tag_document`: candidates, the participant and class models, the codes), on the words already cut.
Throughput by wall clock and by this process's CPU time (the per-core figure on a shared machine); the ratios (tag
stage / segmenter time) are medians over the repeats. Target (issue 15): segment + tag ≥ 1 MB/s per core."""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path

from pipeline import process, segment
from pipeline.gazetteer import load_gazetteer
from pipeline.records import Document
from pipeline.settings import read_settings

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
    ap.add_argument("--mb", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not NEWS.is_file():
        raise SystemExit(f"{NEWS}: the news archive is needed (../shared/corpora beside the clone)")
    items = texts(args.mb)
    mb = sum(len(t.encode()) for _, _, t in items) / 1e6
    user_dict = segment.write_user_dictionary(load_gazetteer(LEXICONS), Path("/tmp/jmm-bench-user_dict.txt"),
                                              LEXICONS / "domain_terms.txt")
    settings = read_settings(ROOT / "config.yaml", segment__user_dictionary=str(user_dict))
    docs = [Document("b", "bench", title, date, text) for title, date, text in items]
    words = [segment.words(d.text, user_dict) for d in docs]
    process.tag_document(docs[0], words[0], settings)  # load the gazetteer, spaCy and the models once
    n = [0, 0]

    def reference() -> None:
        for doc in docs:
            segment.words(doc.text, user_dict)

    def stage() -> None:
        n[0] = n[1] = 0
        for doc, w in zip(docs, words, strict=True):
            t = process.tag_document(doc, w, settings)
            n[0] += len(t.participants)
            n[1] += t.codes.doc_class != "other"

    runs = [(timed(reference), timed(stage)) for _ in range(args.repeats)]
    med = statistics.median
    seg_w, seg_c = med(r[0][0] for r in runs), med(r[0][1] for r in runs)
    tag_w, tag_c = med(r[1][0] for r in runs), med(r[1][1] for r in runs)
    print(json.dumps({
        "mb": round(mb, 2), "docs": len(items), "participants": n[0], "coordination_docs": n[1],
        "repeats": args.repeats, "segmenter": "rjieba" if segment.rjieba is not None else "jieba",
        "segment_mb_s": round(mb / seg_w, 3), "segment_plus_tag_mb_s": round(mb / (seg_w + tag_w), 3),
        "cpu_segment_plus_tag_mb_s": round(mb / (seg_c + tag_c), 3),
        "ratio_tag_over_segment_time": round(med(r[1][0] / r[0][0] for r in runs), 3),
        "cpu_ratio_tag_over_segment_time": round(med(r[1][1] / r[0][1] for r in runs), 3)}))


if __name__ == "__main__":
    main()
