"""Score predictions against a gold file (CODEBOOK §4): one JSON object with fixed keys."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.dates import cn_number
from pipeline.errors import PipelineError
from pipeline.records import COLLAB_TYPES, JOINT_MEETING_CLASSES, Tagged


@dataclass(frozen=True, slots=True)
class GoldItem:
    id: str
    date: str | None
    title: str
    text: str | None
    file: Path | None
    gold: dict[str, Any]


def read_gold(path: Path | str) -> list[GoldItem]:
    """Read a gold JSON Lines file; `file` entries are resolved against the gold file's folder."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: gold file not found")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"{path}: line {n + 1}: invalid JSON ({exc.msg})") from exc
        if "gold" not in obj or ("text" not in obj and "file" not in obj):
            raise PipelineError(f"{path}: line {n + 1}: expected keys 'gold' and 'text' or 'file'")
        items.append(GoldItem(str(obj.get("id", n)), obj.get("date"), obj.get("title", ""), obj.get("text"),
                              path.parent / obj["file"] if obj.get("file") else None, obj["gold"]))
    return items


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
    exact: dict[str, list[int]] = {"series": [0, 0], "session": [0, 0], "meeting_date": [0, 0], "depth": [0, 0]}
    depth_gold: list[int] = []
    depth_pred: list[int] = []
    for item, pred in zip(items, predictions, strict=True):
        g = item.gold
        c = pred.codes
        pred_names = {norm_name(p.name): p for p in pred.participants}
        if "participants" in g:
            gold_names = {norm_name(n) for n in g["participants"]}
            parts.add(gold_names, pred_names)
            for name in gold_names & set(pred_names):
                want = level_of(name)
                if want is None:
                    continue
                level_total += 1
                level_hits += int(pred_names[name].level == want)
        if "participant_mentions" in g and g["participant_mentions"] is not None:
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
        if g.get("series") is not None:
            exact["series"][0] += 1
            exact["series"][1] += int(_norm_series(g["series"]) == _norm_series(c.series or ""))
        if g.get("session") is not None:
            exact["session"][0] += 1
            exact["session"][1] += int(_session(g["session"]) == c.session)
        if g.get("meeting_date") is not None:
            exact["meeting_date"][0] += 1
            exact["meeting_date"][1] += int(g["meeting_date"] == c.meeting_date)
        if g.get("depth") is not None:
            exact["depth"][0] += 1
            exact["depth"][1] += int(g["depth"] == c.depth)
            depth_gold.append(int(g["depth"]))
            depth_pred.append(int(c.depth or 0))

    def acc(key: str) -> dict[str, float] | None:
        n, ok = exact[key]
        return {"accuracy": round(ok / n, 4)} if n else None

    collab_res = {ct: s.result() for ct, s in collab.items()}
    macro = None
    if all(v is not None for v in collab_res.values()):
        macro = round(sum(v["f1"] for v in collab_res.values()) / len(collab_res), 4)  # type: ignore[index]
    depth = acc("depth")
    if depth is not None:
        depth["kappa"] = qwk(depth_gold, depth_pred)
    return {
        "n_docs": len(items),
        "participants": parts.result(),
        "participant_mentions": mentions.result(),
        "level_accuracy": round(level_hits / level_total, 4) if level_total else None,
        "levels": {"f1": levels.result()["f1"]} if levels.n else None,
        "regions": {"f1": regions.result()["f1"]} if regions.n else None,
        "collab_type": {"macro_f1": macro, **collab_res} if macro is not None else None,
        "doc_class": {"accuracy": round(cls_ok / cls_n, 4), "joint_meeting_f1": jm.result()["f1"]} if cls_n else None,
        "series": acc("series"),
        "session": acc("session"),
        "meeting_date": acc("meeting_date"),
        "depth": depth,
    }


def _norm_series(s: str) -> str:
    s = re.sub(r"[\s（）()“”\"]", "", s)
    return re.sub(r"第[0-9一二三四五六七八九十百零〇两]+(次|届)", "", s)
