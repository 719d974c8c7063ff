"""Benchmark: how well an export is dated, measured from the exported files only (not from `jmm evaluate`,
which hands the tagger the gold document date).

Reads `OUT/documents.csv` and `OUT/meetings.csv` of a finished `jmm run` and a gold file (JSON Lines with `file`
or `id`, `date` and `gold.meeting_date`), and prints one JSON line:

- `documents_dated`: share of the processed documents with a `date` (and the count by `date_source`);
- `document_date_right`: share of the documents whose gold gives a date that have exactly that date;
- `meeting_date_right`: of the meetings (rows of meetings.csv) whose reporting documents' gold states a
  meeting_date, the share whose `meeting_date` equals it (a meeting reported by several documents counts once,
  right when it equals the gold date of any of them); `meeting_year_right` the same for `year`.

    .venv/bin/python bench/dates.py --out out --gold corpora/sample/gold.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "out")
    ap.add_argument("--gold", type=Path, default=ROOT / "corpora" / "sample" / "gold.jsonl")
    args = ap.parse_args()
    gold = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_name = {}
    for g in gold:
        for key in (g.get("file"), g.get("id")):
            if key:
                by_name[Path(str(key)).stem] = g
    docs = pd.read_csv(args.out / "documents.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    docs = docs[docs["quarantined"].str.lower() != "true"]
    meetings = pd.read_csv(args.out / "meetings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")

    def gold_of(row: pd.Series) -> dict | None:
        for key in (Path(row["source"]).stem, row.get("external_id") or ""):
            if key in by_name:
                return by_name[key]
        return None

    gold_by_doc = {r["doc_id"]: gold_of(r) for _, r in docs.iterrows()}
    dated = docs["date"] != ""
    with_gold = [(r, gold_by_doc[r["doc_id"]]) for _, r in docs.iterrows() if gold_by_doc[r["doc_id"]]]
    doc_right = sum(r["date"] == g["date"] for r, g in with_gold if g.get("date"))
    n_doc_gold = sum(1 for _r, g in with_gold if g.get("date"))
    stated, right, year_right, wrong = 0, 0, 0, []
    for _, m in meetings.iterrows():
        wanted = {gold_by_doc[d]["gold"].get("meeting_date") for d in m["doc_ids"].split(";")
                  if gold_by_doc.get(d) and gold_by_doc[d]["gold"].get("meeting_date")}
        if not wanted:
            continue
        stated += 1
        if m["meeting_date"] in wanted:
            right += 1
        else:
            wrong.append({"meeting_id": m["meeting_id"], "series": m["series"], "got": m["meeting_date"],
                          "gold": sorted(wanted)})
        if "year" in m and m["year"] in {w[:4] for w in wanted}:
            year_right += 1
    out = {
        "bench": "dates", "documents": len(docs), "documents_dated": round(float(dated.mean()), 4) if len(docs) else 0,
        "n_dated": int(dated.sum()),
        "date_source": docs["date_source"].value_counts().sort_index().to_dict() if "date_source" in docs else None,
        "document_date_right": round(doc_right / n_doc_gold, 4) if n_doc_gold else None, "n_doc_gold": n_doc_gold,
        "meetings": len(meetings), "meetings_with_gold_date": stated,
        "meeting_date_right": round(right / stated, 4) if stated else None, "n_meeting_date_right": right,
        "meeting_year_right": round(year_right / stated, 4) if stated and "year" in meetings else None,
        "wrong": wrong,
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
