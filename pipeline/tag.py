"""Participants (CODEBOOK §2): which government bodies take part, normalised, with level, region, sector,
role and the evidence span.

Two steps. `pipeline.candidates` proposes every mention of a government body, already normalised by the
codebook's rules (names as of the date, departments of lists and blocs, bloc members, people standing for their
body). A logistic regression fitted on human labels (`corpora/models/participants.json`, built by `make train`)
then decides, for each mention, whether the body takes part, from the features of `pipeline.features` (the cue
words around it, its list, its place in the document). A body takes part when one of its mentions scores at least
the model's threshold (chosen by cross-validation on the labels); its evidence is that mention. A document of class
`other` has no participants (CODEBOOK §2). The role comes from the verbs after the mention (CODEBOOK §2 roles)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline import features, lexicon
from pipeline.candidates import Candidate
from pipeline.learn import Models
from pipeline.records import Document, Participant

VERSION = "5"  # 5: candidates + a learned decision (was rules)

_GUIDED = re.compile(r"^[^，。；]{0,8}?的?(?:统一)?指导下")


def decide(candidates: tuple[Candidate, ...], probs: list[float], threshold: float, headline: int = 0
           ) -> list[tuple[Candidate, float]]:
    """One (mention, probability) per body whose best mention scores at least `threshold`, in text order.
    Its evidence is, of its mentions that reach the threshold, one in the body rather than the headline (the
    headline only names what the body reports), the longest (京津冀三地 over 京津冀: the words that say who acts),
    then the highest-scoring."""
    best: dict[str, float] = {}
    for c, p in zip(candidates, probs, strict=True):
        best[c.name] = max(p, best.get(c.name, 0.0))
    chosen: dict[str, tuple[Candidate, float]] = {}
    for c, p in zip(candidates, probs, strict=True):
        if best[c.name] < threshold or p < min(threshold, best[c.name]):
            continue
        key = (c.start >= headline, len(c.mention), p, -c.start)
        old = chosen.get(c.name)
        if old is None or key > (old[0].start >= headline, len(old[0].mention), old[1], -old[0].start):
            chosen[c.name] = (c, best[c.name])
    return sorted(chosen.values(), key=lambda x: (x[0].start, x[0].name))


def role(text: str, c: Candidate) -> str:
    """The body's role from the verbs after its list in the clause (CODEBOOK §2): 主持 chair; 主办/承办/召集/牵头
    host; 签署 signatory; 指导/批示/批复, or 在X指导下, superior; else member."""
    after = text[c.list_end:lexicon.clause_end(text, c.list_end) + 1][:24]
    if _GUIDED.match(text, c.list_end) or lexicon.cue_pattern("guide").match(after) or \
            re.match(r"[^，。；]{0,6}(?:指导|批示|批复)", after):
        return "superior"
    for group, name in (("chair", "chair"), ("host", "host"), ("sign", "signatory")):
        m = lexicon.cue_pattern(group).search(after)
        if m and m.start() <= 12:
            return name
    return "member"


def scores(doc: Document, words: tuple[str, ...] | list[str], candidates: tuple[Candidate, ...], models: Models,
           candidate_features: Sequence[dict[str, float]] | None = None) -> list[float]:
    """P(takes part) of each candidate mention (`candidate_features` may be given when already computed)."""
    if not candidates:
        return []
    feats = candidate_features or features.participant_features(doc, words, candidates)
    probs = models.participants.proba_of(list(feats), 1)
    # CODEBOOK §2 rule 4: a bloc inside a name (京津冀协同发展领导小组, 长三角G60科创走廊) does not make participants
    return [0.0 if c.in_name and c.via in ("bloc", "name") and c.kind in ("bloc", "jurisdiction") else float(p) for c, p in zip(candidates, probs, strict=True)]


def participants(doc: Document, candidates: tuple[Candidate, ...], probs: list[float], doc_class: str,
                 threshold: float) -> tuple[Participant, ...]:
    """The participants of one document from its candidates' scores: offsets index into `doc.text`; none for a
    document of class `other` (CODEBOOK §2)."""
    if doc_class == "other" or not candidates:
        return ()
    return tuple(Participant(c.name, c.mention, c.start, c.end, c.level, c.region_code, c.province, c.sector,
                             role(doc.text, c))
                 for c, _p in decide(candidates, probs, threshold, lexicon.headline_end(doc.text, doc.title or "")))
