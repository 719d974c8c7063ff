"""Score predictions against a gold file (CODEBOOK §4): one JSON object with fixed keys.

Honest by construction: `series`, `session` and `meeting_date` are scored over every document whose gold has the
key, a null gold included (a value predicted where the gold has none is wrong), with `accuracy_where_stated`
beside; `series` is an exact match after whitespace is removed (`relaxed` also ignores brackets, quotes and
ordinals); depth kappa counts a missing prediction as 0."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pipeline.dates import cn_number
from pipeline.labels import GoldItem, read_gold  # noqa: F401  (read_gold: the reader of gold files)
from pipeline.records import COLLAB_TYPES, JOINT_MEETING_CLASSES, Tagged


_GOV_SUFFIX = re.compile(r"人民政府$")


def norm_name(name: str) -> str:
    """A jurisdiction's name stands for its government: 上海市人民政府 → 上海市."""
    return _GOV_SUFFIX.sub("", name.strip())


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


class _SetScore:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.n = 0

    def add(self, gold: Iterable[Any], pred: Iterable[Any]) -> None:
        g, p = set(gold), set(pred)
        self.tp += len(g & p)
        self.fp += len(p - g)
        self.fn += len(g - p)
        self.n += 1

    def result(self) -> dict[str, float] | None:
        return _prf(self.tp, self.fp, self.fn) if self.n else None


def _session(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    m = re.search(r"第?([0-9一二三四五六七八九十百零〇两]+)", str(v))
    return cn_number(m.group(1)) if m else None


def qwk(gold: list[int], pred: list[int]) -> float | None:
    """Quadratic-weighted Cohen's kappa."""
    if not gold:
        return None
    from sklearn.metrics import cohen_kappa_score

    if len(set(gold) | set(pred)) < 2:
        return 1.0 if gold == pred else 0.0
    return round(float(cohen_kappa_score(gold, pred, weights="quadratic")), 4)


def score(items: list[GoldItem], predictions: list[Tagged],
          level_of: Callable[[str], str | None] = lambda name: None) -> dict[str, Any]:
    """Compute the CODEBOOK §4 scores. `level_of` gives a gold participant's level (from the gazetteer)."""
    parts, mentions, levels, regions = _SetScore(), _SetScore(), _SetScore(), _SetScore()
    collab = {c: _SetScore() for c in COLLAB_TYPES}
    level_hits = level_total = 0
    cls_n = cls_ok = 0
    jm = _SetScore()
    exact = {k: _Exact() for k in ("series", "series_relaxed", "session", "meeting_date")}
    depth_n = depth_ok = 0
    depth_gold: list[int] = []
    depth_pred: list[int] = []
    for item, pred in zip(items, predictions, strict=True):
        g = item.gold
        c = pred.codes
        pred_names = {norm_name(p.name): p for p in pred.participants}
        if "participants" in g:
            gold_names = {norm_name(n) for n in g["participants"] or []}
            parts.add(gold_names, pred_names)
            for name in gold_names & set(pred_names):
                want = level_of(name)
                if want is None:
                    continue
                level_total += 1
                level_hits += int(pred_names[name].level == want)
        if g.get("participant_mentions") is not None:
            mentions.add(set(g["participant_mentions"].values()), {p.mention for p in pred.participants})
        if "levels" in g:
            levels.add(g["levels"] or [], c.levels)
        if "regions" in g:
            regions.add(g["regions"] or [], c.regions)
        if "collab_type" in g:
            for ct in COLLAB_TYPES:
                collab[ct].add({1} if ct in (g["collab_type"] or []) else set(), {1} if ct in c.collab_type else set())
        if "doc_class" in g:
            cls_n += 1
            cls_ok += int(g["doc_class"] == c.doc_class)
            jm.add({1} if g["doc_class"] in JOINT_MEETING_CLASSES else set(),
                   {1} if c.doc_class in JOINT_MEETING_CLASSES else set())
        if "series" in g:
            exact["series"].add(_bare(g["series"]), _bare(c.series))
            exact["series_relaxed"].add(_relaxed(g["series"]), _relaxed(c.series))
        if "session" in g:
            exact["session"].add(_session(g["session"]), c.session)
        if "meeting_date" in g:
            exact["meeting_date"].add(g["meeting_date"] or None, c.meeting_date)
        if g.get("depth") is not None:
            depth_n += 1
            depth_ok += int(g["depth"] == c.depth)
            depth_gold.append(int(g["depth"]))
            depth_pred.append(int(c.depth or 0))

    collab_res = {ct: s.result() for ct, s in collab.items()}
    macro = None
    if all(v is not None for v in collab_res.values()):
        macro = round(sum(v["f1"] for v in collab_res.values()) / len(collab_res), 4)  # type: ignore[index]
    depth = {"accuracy": round(depth_ok / depth_n, 4), "kappa": qwk(depth_gold, depth_pred)} if depth_n else None
    series = exact["series"].result()
    if series is not None:
        series["relaxed"] = exact["series_relaxed"].result()["accuracy"]  # type: ignore[index]
    return {
        "n_docs": len(items),
        "participants": parts.result(),
        "participant_mentions": mentions.result(),
        "level_accuracy": round(level_hits / level_total, 4) if level_total else None,
        "levels": {"f1": levels.result()["f1"]} if levels.n else None,
        "regions": {"f1": regions.result()["f1"]} if regions.n else None,
        "collab_type": {"macro_f1": macro, **collab_res} if macro is not None else None,
        "doc_class": {"accuracy": round(cls_ok / cls_n, 4), "joint_meeting_f1": jm.result()["f1"]} if cls_n else None,
        "series": series,
        "session": exact["session"].result(),
        "meeting_date": exact["meeting_date"].result(),
        "depth": depth,
    }


class _Exact:
    """Exact-match accuracy over every document whose gold has the key (null gold included), and over those
    whose gold states a value (`accuracy_where_stated`)."""

    def __init__(self) -> None:
        self.n = self.ok = self.stated = self.stated_ok = 0

    def add(self, gold: Any, pred: Any) -> None:
        self.n += 1
        self.ok += int(gold == pred)
        if gold is not None:
            self.stated += 1
            self.stated_ok += int(gold == pred)

    def result(self) -> dict[str, float | None] | None:
        if not self.n:
            return None
        return {"accuracy": round(self.ok / self.n, 4),
                "accuracy_where_stated": round(self.stated_ok / self.stated, 4) if self.stated else None}


def _bare(s: str | None) -> str | None:
    """A series name for exact matching: whitespace removed; empty is None."""
    return re.sub(r"\s", "", s) or None if s else None


def _relaxed(s: str | None) -> str | None:
    """A series name for relaxed matching: also brackets, quotes and ordinals (第四次, 第十届) removed."""
    if not s:
        return None
    s = re.sub(r"[\s（）()“”\"《》]", "", s)
    return re.sub(r"第[0-9一二三四五六七八九十百零〇两]+(次|届)", "", s) or None
