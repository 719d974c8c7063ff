"""Classify the xwlb news stream by doc_class (pipeline.code rules + the shipped textcat veto) and print the
counts per class, for whole items and for bulletin sub-items (cut as in the dev README: a headline is a line of
at most 40 characters not ending in 。！？；). With --sample N, also print N seeded random positives (title and
lead) to read by hand.

    .venv/bin/python bench/doc_class_stream.py ../shared/corpora/xwlb/news.jsonl.gz --sample 50
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import classify, code  # noqa: E402
from pipeline.records import Document  # noqa: E402

_LEAD_IN = "央视网消息（新闻联播）："


def sub_items(rec: dict) -> list[tuple[str, str, str]]:
    """(id, headline, text) of each sub-item of a 联播快讯 bulletin; the item itself otherwise."""
    text = rec.get("text") or ""
    if "快讯" not in (rec.get("title") or ""):
        return [(rec["id"], rec.get("title") or "", text)]
    out: list[tuple[str, str, list[str]]] = []
    for line in text.split("\n"):
        s = line.strip()
        if not s or s.startswith(_LEAD_IN[:3]) and s.endswith("：") or "消息(新闻联播)" in s and len(s) < 25:
            continue
        if len(s) <= 40 and not re.search(r"[。！？；]$", s):
            out.append((f"{rec['id']}-s{len(out)}", s, [s]))
        elif out:
            out[-1][2].append(s)
    return [(i, h, "\n".join(lines)) for i, h, lines in out] or [(rec["id"], rec.get("title") or "", text)]


def classify_one(i: str, title: str, date: str | None, text: str) -> str:
    doc = Document(i, "xwlb", title, date, text)
    cls, _ev, strong = code.doc_class(doc)
    if cls != "other" and not strong:
        p = classify.probability_other(doc)
        if p is not None and p >= classify.VETO_THRESHOLD:
            return "other"
    return cls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stream", type=Path)
    ap.add_argument("--sample", type=int, default=0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    whole: Counter[str] = Counter()
    subs: Counter[str] = Counter()
    positives: list[tuple[str, str, str, str]] = []
    with gzip.open(a.stream, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            whole[classify_one(rec["id"], rec.get("title") or "", rec.get("date"), rec.get("text") or "")] += 1
            for i, head, text in sub_items(rec):
                cls = classify_one(i, head, rec.get("date"), text)
                subs[cls] += 1
                if cls != "other":
                    positives.append((i, cls, head, text))
    print(json.dumps({"whole_items": dict(whole.most_common()), "sub_items": dict(subs.most_common()),
                      "seconds": round(time.perf_counter() - t0, 1)}, ensure_ascii=False, indent=1))
    for i, cls, head, text in random.Random(0).sample(positives, min(a.sample, len(positives))):
        print(f"{i}\t{cls}\t{head[:40]}\t{text[:160].replace(chr(10), ' ')}")


if __name__ == "__main__":
    main()
