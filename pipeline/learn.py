"""Learned decisions: logistic regression over feature dicts, fitted on human labels, saved as readable JSON.

`LinearModel` follows the estimator contract (`__init__` stores parameters, `fit` returns self, learned state
ends in `_`). It is fitted with scikit-learn and predicts with its own weights in numpy, so a saved model is a
plain JSON table — each feature's weight for each class — that loads without scikit-learn, reads feature by
feature, and is byte-identical when refitted on the same labels with the same settings."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import PipelineError

Features = dict[str, float]


class LinearModel:
    """L2-regularised logistic regression (binary or multinomial) over feature dicts.

    `min_count` drops features seen in fewer training rows (their weights could only echo single items);
    `class_weight="balanced"` weighs classes inversely to their frequency; `sample_weight` in `fit` weighs rows."""

    def __init__(self, C: float = 1.0, min_count: int = 2, class_weight: str | None = "balanced",
                 max_iter: int = 5000) -> None:
        self.C = C
        self.min_count = min_count
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X: Sequence[Features], y: Sequence[Any], sample_weight: Sequence[float] | None = None
            ) -> LinearModel:
        from sklearn.linear_model import LogisticRegression

        if len(X) != len(y) or not X:
            raise PipelineError(f"model: {len(X)} rows and {len(y)} labels; expected equal and > 0")
        labels = sorted({str(v) for v in y})
        if len(labels) < 2:
            raise PipelineError(f"model: only one class in the labels ({labels}); expected at least two")
        counts = Counter(k for row in X for k in row)
        self.features_ = sorted(k for k, n in counts.items() if n >= self.min_count)
        index = {k: i for i, k in enumerate(self.features_)}
        model = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight)
        model.fit(self._matrix(X, index), [str(v) for v in y], sample_weight=sample_weight)
        self.classes_ = [str(c) for c in model.classes_]
        coef = model.coef_
        intercept = model.intercept_
        if len(self.classes_) == 2:  # sklearn keeps one row for the positive class: write both, as softmax
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef_ = np.round(coef, 6)
        self.intercept_ = np.round(intercept, 6)
        self.index_ = index
        self.meta_: dict[str, Any] = {}
        return self

    @staticmethod
    def _entries(X: Sequence[Features], index: dict[str, int]) -> tuple[list[int], list[int], list[float]]:
        """The known features of each row as (rows, columns, values) of a sparse matrix."""
        rows, cols, vals = [], [], []
        for r, row in enumerate(X):
            for k, v in row.items():
                j = index.get(k)
                if j is not None and v:
                    rows.append(r)
                    cols.append(j)
                    vals.append(float(v))
        return rows, cols, vals

    @classmethod
    def _matrix(cls, X: Sequence[Features], index: dict[str, int]):  # noqa: ANN206
        from scipy.sparse import csr_matrix

        rows, cols, vals = cls._entries(X, index)
        return csr_matrix((vals, (rows, cols)), shape=(len(X), len(index)))

    def scores(self, X: Sequence[Features]) -> np.ndarray:
        """Linear scores, one row per input, one column per class."""
        rows, cols, vals = self._entries(X, self.index_)
        out = np.tile(self.intercept_, (len(X), 1)).astype(float)
        if cols:
            contrib = self.coef_[:, cols] * np.asarray(vals, dtype=float)  # classes × entries
            for k in range(out.shape[1]):
                out[:, k] += np.bincount(rows, weights=contrib[k], minlength=len(X))
        return out

    def predict_proba(self, X: Sequence[Features]) -> np.ndarray:
        s = self.scores(X)
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def proba_of(self, X: Sequence[Features], label: Any) -> np.ndarray:
        return self.predict_proba(X)[:, self.classes_.index(str(label))]

    def predict(self, X: Sequence[Features]) -> list[str]:
        p = self.predict_proba(X)
        return [self.classes_[i] for i in p.argmax(axis=1)]

    def explain(self, row: Features, label: Any, top: int = 5) -> list[tuple[str, float]]:
        """The features of `row` that push most towards `label` (weight × value, largest first)."""
        k = self.classes_.index(str(label))
        other = [i for i in range(len(self.classes_)) if i != k]
        contrib = []
        for f, v in row.items():
            j = self.index_.get(f)
            if j is not None and v:
                w = self.coef_[k, j] - (self.coef_[other, j].mean() if other else 0.0)
                contrib.append((f, round(float(w * v), 4)))
        return sorted(contrib, key=lambda x: -x[1])[:top]

    def to_json(self, meta: dict[str, Any] | None = None) -> str:
        """The model as JSON: settings, classes, intercepts and one row of weights per feature (sorted)."""
        weights = {f: [float(x) for x in self.coef_[:, j]] for f, j in self.index_.items() if np.any(self.coef_[:, j])}
        obj = {"kind": "logistic_regression", "C": self.C, "min_count": self.min_count,
               "class_weight": self.class_weight, "classes": self.classes_,
               "intercept": [float(x) for x in self.intercept_], "weights": dict(sorted(weights.items())),
               "meta": meta or {}}
        return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "model") -> LinearModel:
        try:
            obj = json.loads(text)
            m = cls(obj["C"], obj["min_count"], obj["class_weight"])
            m.classes_ = list(obj["classes"])
            m.features_ = list(obj["weights"])
            m.index_ = {f: j for j, f in enumerate(m.features_)}
            m.coef_ = np.array([obj["weights"][f] for f in m.features_], dtype=float).T.reshape(
                len(m.classes_), len(m.features_))
            m.intercept_ = np.array(obj["intercept"], dtype=float)
            m.meta_ = obj.get("meta", {})
        except (KeyError, ValueError, TypeError) as exc:
            raise PipelineError(f"{where}: not a saved model ({exc})") from exc
        return m

    def save(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json(meta), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        if not path.is_file():
            raise PipelineError(f"{path}: model file not found; run `make train` to build it")
        return cls.from_json(path.read_text(encoding="utf-8"), str(path))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


PARTICIPANTS = "participants.json"
DOC_CLASS = "doc_class.json"
DEPTH = "depth.json"


class Models:
    """The fitted models the tagger and coder use, and the participant threshold."""

    def __init__(self, participants: LinearModel, doc_class: LinearModel, depth: LinearModel,
                 threshold: float | None = None) -> None:
        self.participants = participants
        self.doc_class = doc_class
        self.depth = depth
        self.threshold = float(participants.meta_.get("threshold", 0.5)) if threshold is None else threshold

    def save(self, folder: Path, meta: dict[str, dict[str, Any]]) -> None:
        self.participants.save(folder / PARTICIPANTS, {**meta.get("participants", {}), "threshold": self.threshold})
        self.doc_class.save(folder / DOC_CLASS, meta.get("doc_class", {}))
        self.depth.save(folder / DEPTH, meta.get("depth", {}))


@functools.cache
def load_models(folder: Path | str) -> Models:
    """The shipped models, once per process and folder (`make train` builds them)."""
    d = Path(folder)
    return Models(LinearModel.load(d / PARTICIPANTS), LinearModel.load(d / DOC_CLASS), LinearModel.load(d / DEPTH))


def check_models(folder: Path | str) -> None:
    """A ConfigError naming the first model file missing from `folder` (before a run starts its workers)."""
    from pipeline.errors import ConfigError

    for name in (PARTICIPANTS, DOC_CLASS, DEPTH):
        if not (Path(folder) / name).is_file():
            raise ConfigError(f"{Path(folder) / name}: model file not found (tag.models in config.yaml); the project "
                              f"ships them in corpora/models/, or run `make train` to build them")


def models_version(folder: Path | str) -> str:
    """A hash of the model files: part of the tag stage's version, so a retrained model re-tags the store."""
    h = hashlib.sha256()
    for name in (PARTICIPANTS, DOC_CLASS, DEPTH):
        p = Path(folder) / name
        h.update(name.encode())
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()[:12]
