"""Build the doc_class stream classifier (pipeline/classify.py) from the xwlb news stream.

    python corpora/training/make_doc_class.py label ../shared/corpora/xwlb/news.jsonl.gz --dev ../shared/corpora/dev/gold.jsonl
    python corpora/training/make_doc_class.py fit ../shared/corpora/xwlb/news.jsonl.gz

`label` writes corpora/training/doc_class_labels.jsonl: only ids and labels (CCTV keeps the rights to the
texts, which are read from the stream at training time). Labels are the rules' own confident decisions
(pipeline.code.doc_class with strong evidence → coordination; rules say other → a seeded sample of other);
weakly evidenced items are left out, since they are what the model is for. Every item of the dev gold set
and every whole bulletin that a dev sub-item was cut from is excluded, so dev scores stay held out.

`fit` reads the labels and texts, reports 5-fold cross-validated accuracy and F1 of `coordination`, trains
on all and writes corpora/classifier/doc_class/ (model + meta.json with the metrics)."""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline import classify, code  # noqa: E402
from pipeline.records import Document  # noqa: E402

LABELS_FILE = ROOT / "corpora" / "training" / "doc_class_labels.jsonl"
N_OTHER = 4000


def read_stream(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def dev_exclusions(dev: Path | None) -> set[str]:
    out: set[str] = set()
    if dev and dev.is_file():
        for line in dev.read_text(encoding="utf-8").splitlines():
            if line.strip():
                i = json.loads(line)["id"]
                out.add(i)
                out.add(i.split("-s")[0])  # the whole bulletin a sub-item was cut from
    return out


def label(stream: Path, dev: Path | None) -> None:
    excluded = dev_exclusions(dev)
    pos, other = [], []
    counts: dict[str, int] = {}
    for rec in read_stream(stream):
        if rec["id"] in excluded:
            continue
        doc = Document(rec["id"], "xwlb", rec.get("title") or "", rec.get("date"), rec.get("text") or "")
        cls, _ev, strong = code.doc_class(doc)
        counts[f"{cls}:{'strong' if strong else 'weak'}"] = counts.get(f"{cls}:{'strong' if strong else 'weak'}", 0) + 1
        if cls != "other" and strong:
            pos.append({"id": rec["id"], "label": "coordination", "rule_class": cls})
        elif cls == "other":
            other.append({"id": rec["id"], "label": "other", "rule_class": cls})
    rng = random.Random(0)
    other = rng.sample(other, min(N_OTHER, len(other)))
    rows = sorted(pos + other, key=lambda r: r["id"])
    LABELS_FILE.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps({"excluded_dev_ids": len(excluded), "rule_counts": counts, "coordination": len(pos),
                      "other": len(other)}, ensure_ascii=False, indent=1))


def _prf(gold: list[str], pred: list[str]) -> dict[str, float]:
    tp = sum(g == p == "coordination" for g, p in zip(gold, pred))
    fp = sum(p == "coordination" and g != p for g, p in zip(gold, pred))
    fn = sum(g == "coordination" and g != p for g, p in zip(gold, pred))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4), "precision": round(prec, 4),
            "recall": round(rec, 4), "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0}


def fit(stream: Path, dev: Path | None) -> None:
    wanted = {}
    for line in LABELS_FILE.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        wanted[r["id"]] = r["label"]
    texts, labels = [], []
    for rec in read_stream(stream):
        if rec["id"] in wanted:
            texts.append(classify.lead(rec.get("title") or "", rec.get("text") or ""))
            labels.append(wanted[rec["id"]])
    idx = list(range(len(texts)))
    random.Random(0).shuffle(idx)
    folds = [idx[k::5] for k in range(5)]
    gold_all, pred_all = [], []
    for k, test in enumerate(folds):
        test_set = set(test)
        train = [i for i in idx if i not in test_set]
        model = classify.DocClassifier().fit([texts[i] for i in train], [labels[i] for i in train])
        probs = model.probability_other([texts[i] for i in test])
        gold_all += [labels[i] for i in test]
        pred_all += ["other" if p >= 0.5 else "coordination" for p in probs]
        print(f"fold {k}: {_prf([labels[i] for i in test], pred_all[-len(test):])}", flush=True)
    cv = _prf(gold_all, pred_all)
    model = classify.DocClassifier().fit(texts, labels)
    metrics = {"n_train": len(texts), "n_coordination": labels.count("coordination"), "cv5": cv}
    if dev and dev.is_file():  # held out: no dev item or its bulletin is in the labels
        items = [json.loads(x) for x in dev.read_text(encoding="utf-8").splitlines() if x.strip()]
        probs = model.probability_other([classify.lead(i.get("title") or "", i["text"]) for i in items])
        gold = ["other" if i["gold"]["doc_class"] in ("other", "joint_meeting_international") else "coordination"
                for i in items]
        metrics["dev_at_0.5"] = _prf(gold, ["other" if p >= 0.5 else "coordination" for p in probs])
        metrics["dev_at_veto"] = _prf(gold, ["other" if p >= classify.VETO_THRESHOLD else "coordination"
                                             for p in probs])
    model.save(classify.MODEL_DIR, metrics)
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["label", "fit"])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "corpora" / "dev" / "gold.jsonl")
    a = ap.parse_args()
    (label if a.step == "label" else fit)(a.stream, a.dev)
