"""Segmentation: every user-dictionary entry (gazetteer names, aliases, blocs, department words) stays one token,
and the fast segmenter (jieba-rs) gives exactly plain jieba's words."""

from __future__ import annotations

import gzip
import json
import logging
from itertools import islice
from pathlib import Path

import jieba
import pytest

from pipeline import segment
from pipeline.gazetteer import load_gazetteer

LEXICONS = Path(__file__).resolve().parents[2] / "corpora" / "lexicons"


@pytest.fixture(scope="module")
def user_dict(tmp_path_factory) -> Path:
    return segment.write_user_dictionary(load_gazetteer(LEXICONS), tmp_path_factory.mktemp("seg") / "user_dict.txt",
                                         LEXICONS / "domain_terms.txt")


def test_every_dictionary_entry_is_one_token(user_dict):
    terms = segment.dictionary_terms(load_gazetteer(LEXICONS), LEXICONS / "domain_terms.txt")
    assert len(terms) > 5000
    broken = [t for t in terms if segment.words(t, user_dict) != [t]]
    assert broken == []


def test_words_give_back_the_text(user_dict):
    text = "日前，京津冀三地民政部门签署《京津冀养老服务协同发展协议》。\n沪苏浙一市两省人大常委会分别表决通过。"
    ws = segment.words(text, user_dict)
    assert "".join(ws) == text
    assert {"京津冀", "民政部门", "沪苏浙", "人大常委会"} <= set(ws)


@pytest.mark.parametrize("clause", [
    # 和平 and 平和 are both user entries of the same frequency: an exact tie that jieba-rs breaks like jieba
    # only when its frequency total is jieba's (these came out differently before it was)
    "从而确保实现世界和平和经济可持续发展",
    "维护世界和平和稳定发挥着重要作用",
    "也为维护世界和平和稳定",
    "是亚洲和平和世界和平的基础",
    "也有利于维护亚太乃至世界的和平和发展",
    "Hello world 2024年GDP增长5.2%，A股\r\n第二行\t制表符 C++ 与 C# ＡＢＣ１２３ 😀𠀀",
])
def test_fast_segmenter_ties_and_odd_characters_as_jieba(user_dict, clause):
    assert segment.rjieba is not None, "rjieba is a declared dependency (pyproject.toml)"
    assert segment.words(clause, user_dict) == segment.load_jieba(user_dict)(clause)


def test_fast_segmenter_gives_jiebas_words_on_real_news(user_dict, dev_gold, corpora_dir):
    assert segment.rjieba is not None, "rjieba is a declared dependency (pyproject.toml)"
    texts = [json.loads(line)["text"] for line in dev_gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    with gzip.open(corpora_dir / "xwlb" / "news.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in islice(f, 30000, 31000)]
    reference = segment.load_jieba(user_dict)
    differing = [t[:40] for t in texts if segment.words(t, user_dict) != reference(t)]
    assert differing == []


def test_falls_back_to_jieba(tmp_path, monkeypatch, caplog):
    """A user entry without a frequency, or no rjieba: plain jieba segments (same words), with one warning."""
    path = tmp_path / "user_dict.txt"
    path.write_text("京津冀 200000 nt\n长三角三省一市\n", encoding="utf-8")
    text = "京津冀和长三角三省一市签署协议"
    segment._warn_fallback.cache_clear()
    with caplog.at_level(logging.WARNING, logger="pipeline.segment"):
        assert segment.words(text, path) == ["京津冀", "和", "长三角三省一市", "签署", "协议"]
    assert "without a positive frequency" in caplog.text
    assert isinstance(segment.load_segmenter(path).func.__self__, jieba.Tokenizer)
    monkeypatch.setattr(segment, "rjieba", None)
    caplog.clear()
    other = tmp_path / "other.txt"
    other.write_text("京津冀 200000 nt\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline.segment"):
        assert segment.load_segmenter(str(other))(text) == segment.load_jieba(str(other))(text)
        segment.load_segmenter(other)
    assert caplog.text.count("the rjieba package is not installed") == 1
    assert isinstance(segment.load_segmenter(other).func.__self__, jieba.Tokenizer)
