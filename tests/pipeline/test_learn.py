"""The learned models: logistic regression over feature dicts, saved as readable JSON, byte-identical refits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.learn import LinearModel

X = [{"签署": 1, "两省": 1}, {"签署": 1}, {"会见": 1}, {"会见": 1, "两省": 1}, {"签署": 1, "会议": 1}, {"会见": 1, "会议": 1}]
Y = [1, 1, 0, 0, 1, 0]


def test_fit_predicts_the_training_pattern_and_explains_it():
    m = LinearModel(C=10.0, min_count=1).fit(X, Y)
    p = m.proba_of([{"签署": 1}, {"会见": 1}], 1)
    assert p[0] > 0.8 and p[1] < 0.2
    assert m.explain({"签署": 1, "会议": 1}, 1, top=1)[0][0] == "签署"
    assert m.predict([{"签署": 1}]) == ["1"]


def test_saved_model_reads_as_a_table_and_predicts_the_same(tmp_path):
    m = LinearModel(C=1.0, min_count=1).fit(X, Y)
    m.save(tmp_path / "m.json", {"threshold": 0.4})
    obj = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert obj["classes"] == ["0", "1"] and {"签署", "会见"} <= set(obj["weights"]) <= {"签署", "两省", "会见", "会议"}
    back = LinearModel.load(tmp_path / "m.json")
    assert back.meta_ == {"threshold": 0.4}
    q = [{"签署": 1, "会见": 1}, {"两省": 1}, {}]
    assert np.allclose(back.predict_proba(q), m.predict_proba(q))


def test_refit_is_byte_identical(tmp_path):
    LinearModel(C=1.0, min_count=1).fit(X, Y).save(tmp_path / "a.json")
    LinearModel(C=1.0, min_count=1).fit(X, Y).save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_rare_features_are_dropped():
    m = LinearModel(C=1.0, min_count=2).fit(X + [{"罕见": 1}], Y + [0])
    assert "罕见" not in m.index_


def test_multiclass():
    m = LinearModel(C=10.0, min_count=1).fit([{"a": 1}, {"b": 1}, {"c": 1}] * 3, ["x", "y", "z"] * 3)
    assert m.predict([{"b": 1}]) == ["y"]
    assert np.allclose(m.predict_proba([{"a": 1}]).sum(), 1.0)


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="only one class"):
        LinearModel().fit([{"a": 1}], [1])
    with pytest.raises(PipelineError, match="make train"):
        LinearModel.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(PipelineError, match="not a saved model"):
        LinearModel.load(tmp_path / "bad.json")
