"""Segmentation: every user-dictionary entry (gazetteer names, aliases, blocs, department words) stays one token."""

from __future__ import annotations

from pathlib import Path

from pipeline import segment
from pipeline.gazetteer import load_gazetteer

LEXICONS = Path(__file__).resolve().parents[2] / "corpora" / "lexicons"


def test_every_dictionary_entry_is_one_token(tmp_path):
    gaz = load_gazetteer(LEXICONS)
    path = segment.write_user_dictionary(gaz, tmp_path / "user_dict.txt", LEXICONS / "domain_terms.txt")
    terms = segment.dictionary_terms(gaz, LEXICONS / "domain_terms.txt")
    assert len(terms) > 5000
    broken = [t for t in terms if segment.words(t, path) != [t]]
    assert broken == []


def test_words_give_back_the_text(tmp_path):
    gaz = load_gazetteer(LEXICONS)
    path = segment.write_user_dictionary(gaz, tmp_path / "user_dict.txt")
    text = "日前，京津冀三地民政部门签署《京津冀养老服务协同发展协议》。\n沪苏浙一市两省人大常委会分别表决通过。"
    ws = segment.words(text, path)
    assert "".join(ws) == text
    assert {"京津冀", "民政部门", "沪苏浙", "人大常委会"} <= set(ws)
