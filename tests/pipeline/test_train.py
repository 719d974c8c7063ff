"""`make train`: the shipped models are what the labels give, byte for byte, and their figures are
cross-validated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "corpora" / "models"


@pytest.mark.slow
@pytest.mark.corpora
def test_train_reproduces_the_shipped_models(corpora_dir, tmp_path):
    out = tmp_path / "models"
    r = subprocess.run([sys.executable, "-m", "flows.cli", "train", "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("participants.json", "doc_class.json", "depth.json", "metrics.json"):
        assert (out / name).read_bytes() == (MODELS / name).read_bytes(), f"{name}: rerun `make train` and commit"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "check" not in " ".join(metrics["label_sets"])  # dev2 check is never trained on
    assert metrics["cross_validated"]["all"]["participants"]["f1"] > 0.5


def test_shipped_models_say_what_they_were_trained_on():
    for name in ("participants.json", "doc_class.json", "depth.json"):
        meta = json.loads((MODELS / name).read_text(encoding="utf-8"))["meta"]
        sets = meta["trained_on"]
        assert sets and all(n > 0 for n in sets.values())
        assert not any("check" in k for k in sets)
    assert 0.2 <= json.loads((MODELS / "participants.json").read_text(encoding="utf-8"))["meta"]["threshold"] <= 0.8
