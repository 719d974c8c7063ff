"""Export the corpus store as research tables (CSV with BOM first; other formats by `formats`) and a manifest.

Same store contents give byte-identical files: rows are sorted by their keys and no timestamp is written into
a data file (the manifest keeps the export time in one field)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.store import Store

log = logging.getLogger(__name__)

CODEBOOK_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # string, integer, float, boolean, date
    meaning: str
    values: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    sql: str
    key: tuple[str, ...]


def _list(col: str) -> str:
    return f"array_to_string(list_sort({col}), ';')"


TABLES: tuple[TableSpec, ...] = (
    TableSpec("documents", "One row per document in the corpus store, and one per quarantined input.", (
        Column("doc_id", "string", "SHA-256 of the document's bytes (JSON Lines record: of its canonical JSON)"),
        Column("source", "string", "path or URL the document came from"),
        Column("external_id", "string", "the id a JSON Lines record carried"),
        Column("title", "string", "title"),
        Column("date", "date", "document date (ISO), from the record or the text"),
        Column("doc_class", "string", "CODEBOOK §1 class", "joint_meeting; joint_meeting_system_document; "
               "joint_meeting_office_activity; coordination_meeting_other; cooperation_agreement_or_mechanism; "
               "joint_meeting_international; other"),
        Column("pages", "integer", "number of pages"),
        Column("chars", "integer", "characters of normalised text"),
        Column("extraction", "string", "how the text was got", "text; ocr; mixed; none"),
        Column("quarantined", "boolean", "true if the input could not be processed (see reason)"),
        Column("reason", "string", "why the input was quarantined"),
    ), """
        SELECT d.doc_id, d.source, d.external_id, d.title, d.date, c.doc_class, d.pages, d.chars, d.extraction,
               false AS quarantined, NULL AS reason
        FROM documents d LEFT JOIN codes c USING (doc_id)
        UNION ALL
        SELECT q.sha256, q.file, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, q.reason
        FROM quarantine q WHERE q.sha256 NOT IN (SELECT doc_id FROM documents)
    """, ("doc_id", "source")),
    TableSpec("participants", "One row per (document, participant), CODEBOOK §2.", (
        Column("doc_id", "string", "document"),
        Column("name", "string", "normalised full official name as of the document date"),
        Column("mention", "string", "the exact text that supports it"),
        Column("start", "integer", "character offset of the mention in the document text"),
        Column("end", "integer", "end offset (exclusive)"),
        Column("level", "string", "administrative level", "national; provincial; prefectural; county; township"),
        Column("region_code", "string", "GB/T 2260 code; 000000 for national bodies"),
        Column("province", "string", "provincial unit the body belongs to; empty for national bodies"),
        Column("sector", "string", "functional field (CODEBOOK §2)"),
        Column("role", "string", "role in the meeting", "host; chair; member; signatory; superior"),
    ), 'SELECT doc_id, name, mention, start, "end", level, region_code, province, sector, role FROM participants',
        ("doc_id", "start", "name")),
    TableSpec("collaboration", "One row per document: the codes of CODEBOOK §3 and their evidence.", (
        Column("doc_id", "string", "document"),
        Column("doc_class", "string", "CODEBOOK §1 class"),
        Column("cross_regional", "boolean", "two or more jurisdictions of the same tier"),
        Column("cross_level", "boolean", "bodies of two or more tiers"),
        Column("cross_departmental", "boolean", "two or more functional departments"),
        Column("levels", "string", "levels taking part, ';'-separated"),
        Column("regions", "string", "provincial units involved, ';'-separated"),
        Column("depth", "integer", "1 information exchange … 4 joint implementation", "1; 2; 3; 4"),
        Column("institutions", "string", "institutionalisation indicators, ';'-separated",
               "secretariat; rotation; charter; agreement; fund; working_groups"),
        Column("vertical_guidance", "boolean", "a higher-level body directs or guides"),
        Column("goals", "string", "stated goals, ';'-separated"),
        Column("evidence", "string", "JSON list of evidence spans [code, value, start, end, text]"),
    ), f"""
        SELECT c.doc_id, c.doc_class,
               list_contains(c.collab_type, 'cross_regional') AS cross_regional,
               list_contains(c.collab_type, 'cross_level') AS cross_level,
               list_contains(c.collab_type, 'cross_departmental') AS cross_departmental,
               {_list('c.levels')} AS levels, {_list('c.regions')} AS regions, c.depth,
               {_list('c.institutions')} AS institutions, c.vertical_guidance,
               array_to_string(c.goals, ';') AS goals,
               (SELECT to_json(list([e.code, e.value, CAST(e.start AS VARCHAR), CAST(e."end" AS VARCHAR), e.text]
                       ORDER BY e.idx)) FROM evidence e WHERE e.doc_id = c.doc_id) AS evidence
        FROM codes c
    """, ("doc_id",)),
    TableSpec("meetings", "One row per meeting reported (documents that report the same series and session, or "
              "the same series on the same date, are one meeting).", (
        Column("meeting_id", "string", "stable id: series|session|date"),
        Column("series_id", "string", "stable id of the series"),
        Column("series", "string", "canonical series name"),
        Column("session", "integer", "ordinal of the session"),
        Column("meeting_date", "date", "first day of the meeting"),
        Column("location", "string", "host city"),
        Column("n_participants", "integer", "distinct participants over the documents that report it"),
        Column("doc_ids", "string", "documents that report it, ';'-separated"),
    ), """
        WITH m AS (
            SELECT c.doc_id, c.series, c.session, c.meeting_date, c.location,
                   coalesce(c.series, d.title) || '|' || coalesce(CAST(c.session AS VARCHAR), '') || '|' ||
                   coalesce(CASE WHEN c.session IS NULL THEN c.meeting_date END, '') AS meeting_id
            FROM codes c JOIN documents d USING (doc_id)
            WHERE c.doc_class <> 'other' AND c.doc_class <> 'joint_meeting_system_document'
        )
        SELECT substr(sha256(m.meeting_id), 1, 16) AS meeting_id,
               CASE WHEN any_value(m.series) IS NULL THEN NULL ELSE substr(sha256(any_value(m.series)), 1, 12) END
                   AS series_id,
               min(m.series) AS series, min(m.session) AS session, min(m.meeting_date) AS meeting_date,
               min(m.location) AS location,
               (SELECT count(DISTINCT p.name) FROM participants p
                WHERE list_contains(list(m.doc_id), p.doc_id)) AS n_participants,
               array_to_string(list_sort(list(m.doc_id)), ';') AS doc_ids
        FROM m GROUP BY m.meeting_id
    """, ("meeting_id",)),
    TableSpec("topics", "Topics of the current fit.", (
        Column("fit_id", "string", "topic fit (models/<fit_id>/)"),
        Column("topic_id", "integer", "topic number"),
        Column("label", "string", "label (seed label or top three words)"),
        Column("top_terms", "string", "the 20 top words, space-separated, best first"),
    ), "SELECT fit_id, topic_id, label, top_terms FROM topics WHERE fit_id = $fit", ("topic_id",)),
    TableSpec("topic_terms_by_period", "Top words of each topic by period.", (
        Column("fit_id", "string", "topic fit"), Column("topic_id", "integer", "topic"),
        Column("period", "string", "period (year)"), Column("rank", "integer", "1 = best"),
        Column("term", "string", "word"), Column("weight", "float", "weight of the word in the topic that period"),
    ), "SELECT fit_id, topic_id, period, rank, term, weight FROM topic_terms_by_period WHERE fit_id = $fit",
        ("topic_id", "period", "rank")),
    TableSpec("doc_topics", "Topic weights of each document (weights below 0.01 omitted).", (
        Column("fit_id", "string", "topic fit"), Column("doc_id", "string", "document"),
        Column("topic_id", "integer", "topic"), Column("weight", "float", "share of the document"),
    ), "SELECT fit_id, doc_id, topic_id, weight FROM doc_topics WHERE fit_id = $fit", ("doc_id", "topic_id")),
    TableSpec("topic_prevalence", "Mean topic share per group, with bootstrap 95% intervals.", (
        Column("fit_id", "string", "topic fit"), Column("topic_id", "integer", "topic"),
        Column("group_type", "string", "what the groups are", "period; region; level; series"),
        Column("group", "string", "the group"), Column("share", "float", "mean share of the topic"),
        Column("ci_low", "float", "2.5th percentile of the bootstrap"),
        Column("ci_high", "float", "97.5th percentile of the bootstrap"),
        Column("n_docs", "integer", "documents in the group"),
    ), 'SELECT fit_id, topic_id, group_type, "group", share, ci_low, ci_high, n_docs FROM topic_prevalence '
       'WHERE fit_id = $fit', ("group_type", "group", "topic_id")),
)


def table(store: Store, spec: TableSpec, fit_id: str | None) -> pd.DataFrame:
    """One export table from the store, sorted by its key."""
    sql = spec.sql.replace("$fit", "?")
    params = [fit_id] * spec.sql.count("$fit")
    df = store.frame(sql, params)
    df = df[[c.name for c in spec.columns]]
    if len(df):
        df = df.sort_values(list(spec.key), kind="mergesort", na_position="last").reset_index(drop=True)
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with BOM (Excel shows Chinese), LF line ends."""
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def tables(store: Store) -> dict[str, pd.DataFrame]:
    fit_id = store.current_fit()
    return {spec.name: table(store, spec, fit_id) for spec in TABLES}


def export(store: Store, out: Path, manifest: dict[str, Any], formats: tuple[str, ...] = ("csv",)) -> dict[str, int]:
    """Write every table in each format to `out`, and manifest.json; return the row counts."""
    out.mkdir(parents=True, exist_ok=True)
    frames = tables(store)
    for name, df in frames.items():
        if "csv" in formats:
            write_csv(df, out / f"{name}.csv")
        if "parquet" in formats:
            df.to_parquet(out / f"{name}.parquet", index=False)
    counts = {name: int(len(df)) for name, df in frames.items()}
    manifest = {**manifest, "codebook_version": CODEBOOK_VERSION, "topic_fit": store.current_fit(),
                "row_counts": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return counts
