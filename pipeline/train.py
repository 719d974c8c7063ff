"""Fit the learned models on human labels (`make train` / `jmm train`) and report cross-validated figures.

The models — who takes part (`participants`), what kind of document it is (`doc_class`), how deep the
collaboration goes (`depth`) — are logistic regressions over `pipeline.features`, fitted on the label sets of
`train.label_sets` (human labels only: never the tagger's own output). The participant threshold is the one that
maximises participant F1 on out-of-fold predictions. `cross_validate` runs the whole tagger (candidates → class →
participants → codes) on each fold with models fitted on the other folds and scores it with `pipeline.evaluate`,
per label set, so the figures are those of documents the models did not see. Folds are by document, seeded."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import candidates as cand_stage
from pipeline import code, features, lexicon, tag
from pipeline.candidates import Candidate
from pipeline.evaluate import norm_name, score
from pipeline.labels import Labelled
from pipeline.learn import LinearModel, Models
from pipeline.records import Tagged
from pipeline.settings import Settings, TrainSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A labelled document with its candidates and the features the models read (computed once)."""

    labelled: Labelled
    set_name: str
    candidates: tuple[Candidate, ...]
    doc_features: dict[str, float]
    candidate_features: tuple[dict[str, float], ...]

    @property
    def gold(self) -> dict[str, Any]:
        return self.labelled.item.gold


def prepare(labelled: Sequence[tuple[str, Labelled]], gazetteer_dir: Path, user_dictionary: Path) -> list[Prepared]:
    """Candidates and features of every labelled document: (label set name, document) pairs in."""
    out = []
    for set_name, lab in labelled:
        cands = cand_stage.find(lab.doc, list(lab.words), gazetteer_dir, user_dictionary)
        out.append(Prepared(lab, set_name, cands, features.document_features(lab.doc, cands),
                            tuple(features.participant_features(lab.doc, lab.words, cands))))
    return out


def _mention_matches(mention: str, gold_mentions: set[str]) -> bool:
    return any(mention == m or mention in m or m in mention for m in gold_mentions)


def participant_rows(docs: Sequence[Prepared]) -> tuple[list[dict[str, float]], list[int]]:
    """Training rows of the participant model, from documents whose gold class is not `other`: a mention of a
    gold participant is positive where it is (or overlaps) the gold mention — the mention where the body acts —
    and left out elsewhere; a mention of any other body is negative."""
    X: list[dict[str, float]] = []
    y: list[int] = []
    for d in docs:
        g = d.gold
        if g.get("doc_class") == "other" or "participants" not in g:
            continue
        gold = {norm_name(n) for n in g["participants"] or []}
        mentions = set((g.get("participant_mentions") or {}).values())
        for c, f in zip(d.candidates, d.candidate_features, strict=True):
            pos = norm_name(c.name) in gold
            if pos and mentions and not _mention_matches(c.mention, mentions):
                continue
            X.append(f)
            y.append(int(pos))
    return X, y


def _folds(n: int, k: int, seed: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


def _best_threshold(docs: Sequence[Prepared], probs: Sequence[Sequence[float]]) -> float:
    """The threshold (0.20–0.80, step 0.02) that maximises participant F1 over the documents (ties: the lower)."""
    best_t, best_f = 0.5, -1.0
    for i in range(20, 81, 2):
        t = i / 100
        tp = fp = fn = 0
        for d, p in zip(docs, probs, strict=True):
            if d.gold.get("doc_class") == "other":
                continue
            pred = {norm_name(c.name) for c, _ in tag.decide(d.candidates, list(p), t)}
            gold = {norm_name(n) for n in d.gold.get("participants") or []}
            tp += len(pred & gold)
            fp += len(pred - gold)
            fn += len(gold - pred)
        f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f > best_f + 1e-9:
            best_t, best_f = t, f
    return best_t


def fit(docs: Sequence[Prepared], settings: TrainSettings) -> Models:
    """Fit the three models on `docs`; the participant threshold comes from an inner cross-validation."""
    X, y = participant_rows(docs)
    participants = LinearModel(settings.participants_c, settings.min_count).fit(X, y)
    oof: list[list[float]] = [[] for _ in docs]
    for fold in _folds(len(docs), settings.folds, settings.seed + 1):
        held = set(fold)
        Xf, yf = participant_rows([d for i, d in enumerate(docs) if i not in held])
        m = LinearModel(settings.participants_c, settings.min_count).fit(Xf, yf)
        for i in fold:
            oof[i] = list(m.proba_of(list(docs[i].candidate_features), 1)) if docs[i].candidates else []
    threshold = _best_threshold(docs, oof)
    doc_class = LinearModel(settings.doc_class_c, settings.min_count).fit(
        [_class_features(d, p, threshold) for d, p in zip(docs, oof, strict=True)],
        [d.gold["doc_class"] for d in docs])
    deep = [d for d in docs if d.gold.get("depth") is not None and d.gold.get("doc_class") != "other"]
    depth = LinearModel(settings.depth_c, settings.min_count).fit(
        [features.depth_features(d.labelled.doc, d.gold["doc_class"]) for d in deep], [d.gold["depth"] for d in deep])
    return Models(participants, doc_class, depth, threshold)


def predict(d: Prepared, models: Models) -> Tagged:
    """The whole tagger on one prepared document, as `process.tag_document` runs it."""
    doc, words = d.labelled.doc, d.labelled.words
    probs = tag.scores(doc, words, d.candidates, models, d.candidate_features)
    cls = code.doc_class(doc, d.candidates, probs, models, d.doc_features)
    ps = tag.participants(doc, d.candidates, probs, cls, models.threshold)
    return Tagged(doc.doc_id, ps, code.codes(doc, cls, ps, d.candidates, models))


def _class_features(d: Prepared, probs: list[float], threshold: float) -> dict[str, float]:
    """The doc_class model's features of a training document: its own, and those of its candidates' out-of-fold
    participant scores (as `code.doc_class` adds them at run time from the fitted participant model)."""
    doc = d.labelled.doc
    return {**d.doc_features, **features.participation_features(
        d.candidates, probs, threshold, lexicon.lead_end(doc.text, doc.title or ""))}


def cross_validate(docs: Sequence[Prepared], settings: TrainSettings,
                   level_of: Callable[[str], str | None]) -> dict[str, Any]:
    """Scores of out-of-fold predictions (`pipeline.evaluate.score`), over all documents and per label set."""
    preds: list[Tagged | None] = [None] * len(docs)
    for fold in _folds(len(docs), settings.folds, settings.seed):
        held = set(fold)
        models = fit([d for i, d in enumerate(docs) if i not in held], settings)
        for i in fold:
            preds[i] = predict(docs[i], models)
    out: dict[str, Any] = {"all": score([d.labelled.item for d in docs], preds, level_of)}  # type: ignore[arg-type]
    for name in sorted({d.set_name for d in docs}):
        idx = [i for i, d in enumerate(docs) if d.set_name == name]
        out[name] = score([docs[i].labelled.item for i in idx], [preds[i] for i in idx], level_of)  # type: ignore[misc]
    return out


def read_label_sets(settings: Settings, read: Callable, segment: Callable) -> list[tuple[str, Labelled]]:
    """Every document of `train.label_sets` as (set name, Labelled); a set's name is its file's folder name (dev,
    dev2, sample, training)."""
    from pipeline.labels import documents, from_archive, read_gold

    out = []
    archive = settings.path(settings.train.archive) if settings.train.archive else None
    for ls in settings.train.label_sets:
        path = settings.path(ls.path)
        items = from_archive(read_gold(path, ls.split), archive, settings.collect.bulletin_titles)
        name = path.parent.name + (f"-{ls.split}" if ls.split else "")
        out += [(name, lab) for lab in documents(items, read, segment)]
    return out


def run(settings: Settings, out_dir: Path, level_of: Callable[[str], str | None],
        read: Callable, segment: Callable) -> dict[str, Any]:
    """Cross-validate, fit on every label, write the models and `metrics.json` to `out_dir`; the metrics."""
    labelled = read_label_sets(settings, read, segment)
    docs = prepare(labelled, settings.path(settings.tag.gazetteer), settings.path(settings.segment.user_dictionary))
    log.info("train: %d labelled documents", len(docs))
    metrics = {"n_docs": len(docs), "label_sets": {n: sum(d.set_name == n for d in docs)
                                                   for n in sorted({d.set_name for d in docs})},
               "cross_validated": cross_validate(docs, settings.train, level_of)}
    models = fit(docs, settings.train)
    settings_meta = settings.train.model_dump(mode="json")
    models.save(out_dir, {k: {"trained_on": metrics["label_sets"], "settings": settings_meta}
                          for k in ("participants", "doc_class", "depth")})
    metrics["threshold"] = models.threshold
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return metrics
