"""Evidence that supports its code (issue 16): on the real dev items and dev2 `train`, every positive collab_type,
depth, institution and vertical_guidance code has a span of the document that holds its cue word or the
participants that establish it."""

from __future__ import annotations

import pytest

from pipeline import lexicon
from pipeline.labels import read_gold, source_of
from pipeline.records import COLLAB_TYPES

CUE_OF = {"secretariat": "secretariat", "rotation": "rotation", "charter": "charter", "agreement": "agreement_signed",
          "fund": "fund", "working_groups": "working_groups"}


@pytest.fixture(scope="module")
def tagged(corpora_dir, lexicons):
    from pipeline import process, segment
    from pipeline.settings import read_settings
    from tests.conftest import ROOT

    lex, udict = lexicons
    settings = read_settings(ROOT / "config.yaml", segment__user_dictionary=str(udict))
    items = read_gold(corpora_dir / "dev" / "gold.jsonl") + read_gold(corpora_dir / "dev2" / "gold.jsonl", "train")
    out = []
    for it in items:
        source, rec = source_of(it)
        doc = process.read(source, settings, rec, it.date)
        out.append((doc, process.tag_document(doc, segment.words(doc.text, udict), settings)))
    return out


def test_every_positive_code_has_evidence_that_holds_its_cue(tagged):
    checked = 0
    for doc, t in tagged:
        c = t.codes
        ev = [e for e in c.evidence if doc.text[e.start:e.end] == e.text]
        assert len(ev) == len(c.evidence), f"{doc.title}: evidence offsets do not index into the text"
        mentions = {(p.start, p.end) for p in t.participants}
        for ct in c.collab_type:
            spans = [e for e in ev if e.code == "collab_type" and e.value == ct]
            assert spans, f"{doc.title}: {ct} without evidence"
            group = {"cross_regional": "generic_regional", "cross_departmental": "generic_departments",
                     "cross_level": "generic_cross_level"}[ct]
            for e in spans:
                assert (e.start, e.end) in mentions or lexicon.cue_pattern(group).fullmatch(e.text) or any(
                    lexicon.cue_pattern(f"generic_{lv}").fullmatch(e.text) for lv in
                    ("national", "provincial", "prefectural", "county")) or e.code == "collab_type" and any(
                    x.code in ("levels", "regions") and (x.start, x.end) == (e.start, e.end) for x in ev) or \
                    "领导小组" in e.text or "联席会" in e.text or "机制" in e.text or any(
                    x.code == "series" and (x.start, x.end) == (e.start, e.end) for x in ev), (doc.title, ct, e.text)
            checked += 1
        if c.depth is not None:
            spans = [e for e in ev if e.code == "depth"]
            assert spans, (doc.title, c.depth)
            no_stage_cue = not any(lexicon.cue_pattern(f"depth{d}").search(doc.text) for d in (1, 2, 3, 4))
            assert lexicon.cue_pattern(f"depth{c.depth}").fullmatch(spans[0].text) or no_stage_cue and any(
                lexicon.cue_pattern(g).fullmatch(spans[0].text) for g in ("agreement", "mechanism", "joint", "aid",
                                                                           "meeting", "region", "jm", "coord_meeting",
                                                                           "group_meeting", "jm_system", "foreign")), \
                (doc.title, c.depth, spans[0].text)
            checked += 1
        for inst in c.institutions:
            spans = [e for e in ev if e.code == "institutions" and e.value == inst]
            assert spans and lexicon.cue_pattern(CUE_OF[inst]).fullmatch(spans[0].text), (doc.title, inst)
            checked += 1
        if c.vertical_guidance:
            spans = [e for e in ev if e.code == "vertical_guidance"]
            assert spans and lexicon.cue_pattern("vertical").fullmatch(spans[0].text), doc.title
            checked += 1
    assert checked >= 100
    assert COLLAB_TYPES
