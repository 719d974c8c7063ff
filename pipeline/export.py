"""Export the corpus store as research tables: CSV (UTF-8 with BOM), one XLSX workbook, Parquet, Stata 118 .dta,
the participant network as GraphML, a codebook generated from the schema below, and a manifest.

`TABLES` is the one schema: every table's columns, their types, meanings and allowed values. The writers, the
codebook (codebook.md, codebook.csv) and the report all read it, so the documentation cannot drift from the files.

Same store contents and settings give byte-identical files: rows are sorted by their keys, no timestamp is written
into a data file (XLSX core properties and zip entry times, the .dta header time stamp and Parquet metadata are
fixed), and the manifest keeps the export time in its one `exported_at` field."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import warnings
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import ExportError
from pipeline.records import DATE_SOURCES, DOC_CLASSES, INSTITUTIONS, LEVELS, PAGE_METHODS, PAGE_QUALITIES, ROLES, SECTORS
from pipeline.settings import ExportFormat, ExportSettings
from pipeline.store import Store

log = logging.getLogger(__name__)

CODEBOOK_VERSION = "2"  # 2: documents.date_source/source_url/issuer, meetings' codes and blocs, panel, evidence,
                        # edges.kind
#: How the codebook names the blocs table (the project's file; export.blocs may point elsewhere).
BLOCS_CITED = "corpora/lexicons/panel/blocs.csv"

#: Column types. `category` is one value of `values` (coded 1…n with value labels in Stata); `set` is a
#: ';'-separated subset of `values`.
TYPES = ("string", "category", "set", "integer", "float", "boolean", "date")
#: Excel's limits: characters in a cell, rows in a sheet.
XLSX_MAX_CHARS = 32_767
XLSX_MAX_ROWS = 1_048_576
#: Stata strings longer than this many bytes are written as strL.
STATA_MAX_STR = 2045
#: The fixed .dta header time stamp (the export time is in manifest.json).
STATA_TIME_STAMP = dt.datetime(1970, 1, 1)
#: Stata and Mata reserved words (pandas refuses them as variable names); such columns get a trailing "_".
_STATA_RESERVED = frozenset("""aggregate array boolean break byte case catch class colvector complex const continue
default delegate delete do double else eltypedef end enum explicit export external float for friend function global
goto if inline int local long NULL pragma protected quad rowvector short typedef typename virtual _all _N _skip _b
_pi str# in _pred strL _coef _rc using _cons _se with _n""".split())
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Allowed values of coded columns, by column name, wherever the column appears (the code's own constants).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "doc_class": DOC_CLASSES,
    "level": LEVELS,
    "role": ROLES,
    "sector": SECTORS,
    "extraction": ("text", "ocr", "mixed", "none"),
    "method": PAGE_METHODS,
    "quality": PAGE_QUALITIES,
    "group_type": ("period", "region", "level", "series"),
}
#: Meanings of coded values, used for Stata value labels and the codebook.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "date_source": {"sidecar": "元数据文件 metadata.csv", "record": "记录 JSON Lines record", "text": "正文 text",
                    "collector": "网页 collected page", "pdf_metadata": "PDF属性 PDF metadata", "none": "无 none"},
    "doc_class": {"joint_meeting": "联席会议", "joint_meeting_system_document": "联席会议制度文件",
                  "joint_meeting_office_activity": "联席会议办公室活动", "coordination_meeting_other": "其他协调会议",
                  "cooperation_agreement_or_mechanism": "合作协议或机制", "joint_meeting_international": "国际联席会议",
                  "other": "其他"},
    "level": {"national": "国家", "provincial": "省级", "prefectural": "地级", "county": "县级", "township": "乡镇"},
    "role": {"host": "主办", "chair": "主持", "member": "成员", "signatory": "签署", "superior": "上级指导"},
    "depth": {"1": "信息交流 information exchange", "2": "协商协调 consultation and coordination",
              "3": "共同协议或规划 joint agreement or planning", "4": "联合实施 joint implementation"},
}
_BOOL_LABELS = {0: "否 no", 1: "是 yes"}


@dataclass(frozen=True, slots=True)
class Column:
    """One exported column. `values` are the allowed values ('; '-separated, or a tuple); `label` is the short
    variable label for Stata (≤ 80 characters; the start of `meaning` when empty); `xlsx=False` keeps a long-text
    column out of the workbook (it stays in CSV and Parquet)."""

    name: str
    type: str  # one of TYPES
    meaning: str
    values: str | tuple[str, ...] = ""
    label: str = ""
    xlsx: bool = True

    @property
    def allowed(self) -> tuple[str, ...]:
        if isinstance(self.values, tuple):
            return self.values
        if self.values:
            return tuple(v.strip() for v in self.values.split(";") if v.strip())
        return CATEGORIES.get(self.name, ()) if self.type in ("string", "category") else ()

    @property
    def coded(self) -> bool:
        """True if the column is one value of a fixed list: Stata gets integer codes with value labels."""
        return self.type == "category" or (self.type == "string" and self.name in CATEGORIES)

    @property
    def stata_name(self) -> str:
        return f"{self.name}_" if self.name in _STATA_RESERVED else self.name

    @property
    def stata_label(self) -> str:
        text = self.label or self.meaning
        return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported table: its columns, the SQL over the store that makes it (`$fit` = the current topic fit),
    its sort key, and — for tables made from other tables instead of SQL — `derive(frames)`."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    sql: str
    key: tuple[str, ...]
    derive: Callable[[Mapping[str, pd.DataFrame]], pd.DataFrame] | None = field(default=None, compare=False)
    #: columns added in Python after the SQL (e.g. the blocs of a meeting, read from the blocs table)
    post: Callable[[pd.DataFrame, ExportSettings], pd.DataFrame] | None = field(default=None, compare=False)


def _list(col: str) -> str:
    return f"array_to_string(list_sort({col}), ';')"


#: The measures of the panel, in order.
PANEL_MEASURES: tuple[str, ...] = (
    "meetings", "cross_regional", "cross_level", "cross_departmental", "vertical_guidance", "mean_depth",
    *(f"share_depth_{d}" for d in (1, 2, 3, 4)), "share_institutionalised",
    *(f"share_{i}" for i in INSTITUTIONS), "share_vertical_guidance", "distinct_participants",
    "participants_mean", "participants_median", "participants_p25", "participants_p75")


TABLES: tuple[TableSpec, ...] = (
    TableSpec("documents", "One row per document in the corpus store, and one per quarantined input.", (
        Column("doc_id", "string", "SHA-256 of the document's bytes (JSON Lines record: of its canonical JSON)",
               label="文档ID document id (SHA-256)"),
        Column("source", "string", "path or URL the document came from", label="来源 source path or URL"),
        Column("external_id", "string", "the id a JSON Lines record carried", label="外部ID external id"),
        Column("title", "string", "title", label="标题 title"),
        Column("date", "date", "document date (ISO): from the batch's metadata.csv, the JSON Lines record, the text "
               "(落款/成文日期, a labelled 发布/印发 date, a date after the title or under the red header, the lead), the "
               "web page it was collected from, or the PDF's creation date — date_source says which",
               label="日期 document date"),
        Column("date_source", "category", "where the date came from", DATE_SOURCES, label="日期来源 date source"),
        Column("source_url", "string", "URL the document was published at (metadata.csv or the web collector)",
               label="网址 source URL"),
        Column("issuer", "string", "issuing body named by metadata.csv", label="发文机关 issuer (metadata.csv)"),
        Column("doc_class", "category", "CODEBOOK §1 class", label="文档类别 document class (CODEBOOK §1)"),
        Column("pages", "integer", "number of pages", label="页数 pages"),
        Column("chars", "integer", "characters of normalised text", label="字数 characters of text"),
        Column("extraction", "category", "how the text was got: text layer, OCR, both, or none",
               label="提取方式 text extraction"),
        Column("quarantined", "boolean", "true if the input could not be processed (see reason)",
               label="隔离 quarantined"),
        Column("reason", "string", "why the input was quarantined", label="隔离原因 reason for quarantine"),
    ), """
        SELECT d.doc_id, d.source, d.external_id, d.title, d.date, coalesce(d.date_source, CASE WHEN d.date IS NULL
               THEN 'none' END) AS date_source, d.source_url, d.issuer, c.doc_class, d.pages, d.chars, d.extraction,
               false AS quarantined, NULL AS reason
        FROM documents d LEFT JOIN codes c USING (doc_id)
        UNION ALL
        SELECT q.sha256, q.file, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, q.reason
        FROM quarantine q WHERE q.sha256 NOT IN (SELECT doc_id FROM documents)
    """, ("doc_id", "source")),
    TableSpec("pages", "One row per page of each document: how its text was got and how good it is. The text "
              "column is exported only when export.include_page_text is true.", (
        Column("doc_id", "string", "document", label="文档ID document id"),
        Column("n", "integer", "page number, from 1", label="页码 page number"),
        Column("method", "category", "how the page's text was got", label="提取方式 text method"),
        Column("quality", "category", "verdict on the page's text", label="质量 text quality"),
        Column("chars", "integer", "characters of the page's text", label="字数 characters"),
        Column("text", "string", "the page's text (only with export.include_page_text; not in tables.xlsx, "
               "whose cells hold at most 32,767 characters: read it from pages.parquet or pages.csv)",
               label="页面文本 page text", xlsx=False),
    ), "SELECT doc_id, n, method, quality, length(text) AS chars, text FROM pages", ("doc_id", "n")),
    TableSpec("participants", "One row per (document, participant), CODEBOOK §2.", (
        Column("doc_id", "string", "document", label="文档ID document id"),
        Column("name", "string", "normalised full official name as of the document date",
               label="参与主体 participant (official name)"),
        Column("mention", "string", "the exact text that supports it", label="原文提及 mention in the text"),
        Column("start", "integer", "character offset of the mention in the document text (from 0)",
               label="起始位置 start offset"),
        Column("end", "integer", "end offset (exclusive)", label="结束位置 end offset (exclusive)"),
        Column("level", "category", "administrative level", label="行政级别 administrative level"),
        Column("region_code", "string", "GB/T 2260 code; 000000 for national bodies",
               label="行政区划代码 GB/T 2260 code"),
        Column("province", "string", "provincial unit the body belongs to; empty for national bodies",
               label="所属省份 province"),
        Column("sector", "category", "functional field (CODEBOOK §2)", label="职能领域 sector"),
        Column("role", "category", "role in the meeting", label="角色 role in the meeting"),
    ), 'SELECT doc_id, name, mention, start, "end", level, region_code, province, sector, role FROM participants',
        ("doc_id", "start", "name")),
    TableSpec("collaboration", "One row per document: the codes of CODEBOOK §3 and their evidence.", (
        Column("doc_id", "string", "document", label="文档ID document id"),
        Column("doc_class", "category", "CODEBOOK §1 class", label="文档类别 document class"),
        Column("cross_regional", "boolean", "two or more jurisdictions of the same tier, or different provinces",
               label="跨区域 cross-regional"),
        Column("cross_level", "boolean", "bodies of two or more tiers interact", label="跨层级 cross-level"),
        Column("cross_departmental", "boolean", "two or more functional departments",
               label="跨部门 cross-departmental"),
        Column("levels", "set", "levels taking part, ';'-separated", LEVELS, label="参与层级 levels taking part"),
        Column("regions", "string", "provincial units involved (full names), ';'-separated",
               label="涉及省份 provinces involved"),
        Column("series", "string", "canonical name of the meeting series", label="会议系列 meeting series"),
        Column("session", "integer", "ordinal of the session (第十九次 → 19)", label="届次 session"),
        Column("meeting_date", "date", "date of the meeting itself (first day)", label="会议日期 meeting date"),
        Column("location", "string", "city where the meeting was held", label="会议地点 location"),
        Column("depth", "integer", "1 information exchange … 4 joint implementation", "1; 2; 3; 4",
               label="合作深度 depth (1-4)"),
        Column("institutions", "set", "institutionalisation indicators, ';'-separated", INSTITUTIONS,
               label="制度化指标 institutionalisation"),
        Column("vertical_guidance", "boolean", "a higher-level body directs or guides",
               label="纵向指导 vertical guidance"),
        Column("goals", "string", "stated goals in the text's wording, ';'-separated", label="目标 goals"),
        Column("evidence", "string", "JSON list of evidence spans [code, value, start, end, text]; offsets index "
               "the document text", label="证据 evidence spans (JSON)", xlsx=False),
    ), f"""
        SELECT c.doc_id, c.doc_class,
               list_contains(c.collab_type, 'cross_regional') AS cross_regional,
               list_contains(c.collab_type, 'cross_level') AS cross_level,
               list_contains(c.collab_type, 'cross_departmental') AS cross_departmental,
               {_list('c.levels')} AS levels, {_list('c.regions')} AS regions,
               c.series, c.session, c.meeting_date, c.location, c.depth,
               {_list('c.institutions')} AS institutions, c.vertical_guidance,
               array_to_string(c.goals, ';') AS goals,
               (SELECT to_json(list([e.code, e.value, CAST(e.start AS VARCHAR), CAST(e."end" AS VARCHAR), e.text]
                       ORDER BY e.idx)) FROM evidence e WHERE e.doc_id = c.doc_id) AS evidence
        FROM codes c
    """, ("doc_id",)),
    TableSpec("meetings", "One row per meeting reported: documents of a meeting-reporting class (or of any class "
              "but other and system documents when they name a series) that give the same series and session, or "
              "the same series and date when no session is given, are one meeting; a document without a series is "
              "its own meeting. The codes of its documents are combined: a collaboration type, vertical guidance or "
              "an institutionalisation indicator when any document has it, the highest depth.", (
        Column("meeting_id", "string", "stable id: hash of series|session|date (or of the document id)",
               label="会议ID meeting id"),
        Column("series_id", "string", "stable id of the series (series.series_id)", label="系列ID series id"),
        Column("series", "string", "canonical series name", label="会议系列 series"),
        Column("session", "integer", "ordinal of the session", label="届次 session"),
        Column("meeting_date", "date", "first day of the meeting", label="会议日期 meeting date"),
        Column("year", "integer", "year of meeting_date, else of the earliest date of the documents reporting it; "
               "empty when neither is known", label="年份 year"),
        Column("location", "string", "host city", label="会议地点 location"),
        Column("doc_class", "category", "class of the reporting documents (the first by id)",
               label="文档类别 document class"),
        Column("cross_regional", "boolean", "a document reporting it is coded cross-regional",
               label="跨区域 cross-regional"),
        Column("cross_level", "boolean", "a document reporting it is coded cross-level", label="跨层级 cross-level"),
        Column("cross_departmental", "boolean", "a document reporting it is coded cross-departmental",
               label="跨部门 cross-departmental"),
        Column("depth", "integer", "highest depth of its documents: 1 information exchange … 4 joint "
               "implementation", "1; 2; 3; 4", label="合作深度 depth (1-4)"),
        Column("institutions", "set", "institutionalisation indicators of its documents, ';'-separated",
               INSTITUTIONS, label="制度化指标 institutionalisation"),
        Column("vertical_guidance", "boolean", "a higher-level body directs or guides (any of its documents)",
               label="纵向指导 vertical guidance"),
        Column("regions", "string", "provincial units involved (full names), ';'-separated",
               label="涉及省份 provinces involved"),
        Column("blocs", "string", "regional blocs it belongs to, ';'-separated: its provinces all lie within the "
               "bloc and at least two of them take part, or its series names the bloc (the blocs table: "
               "corpora/lexicons/panel/blocs.csv, see the codebook)", label="区域板块 blocs"),
        Column("n_participants", "integer", "distinct participants over the documents that report it",
               label="参与方数 participants"),
        Column("n_national", "integer", "distinct national participants", label="国家级参与方数 national"),
        Column("n_provincial", "integer", "distinct provincial participants", label="省级参与方数 provincial"),
        Column("n_prefectural", "integer", "distinct prefectural participants", label="地级参与方数 prefectural"),
        Column("n_county", "integer", "distinct county-level participants", label="县级参与方数 county"),
        Column("n_township", "integer", "distinct township-level participants", label="乡镇级参与方数 township"),
        Column("doc_ids", "string", "documents that report it, ';'-separated", label="报道文档 documents"),
    ), """
        WITH m AS (
            SELECT c.doc_id, c.doc_class, c.series, c.session, CAST(d.date AS VARCHAR) AS doc_date,
                   c.meeting_date AS stated_date, c.location, c.collab_type, c.depth, c.institutions,
                   c.vertical_guidance, c.regions,
                   CASE WHEN c.series IS NULL THEN 'doc|' || c.doc_id
                        ELSE c.series || '|' || coalesce(CAST(c.session AS VARCHAR), '') || '|' ||
                             coalesce(CASE WHEN c.session IS NULL THEN c.meeting_date END, '') END AS key
            FROM codes c JOIN documents d USING (doc_id)
            WHERE c.doc_class IN ('joint_meeting', 'coordination_meeting_other', 'joint_meeting_international')
               OR (c.series IS NOT NULL AND c.doc_class NOT IN ('other', 'joint_meeting_system_document'))
        ), g AS (
            SELECT m.key, list(m.doc_id) AS ids, any_value(m.series) AS any_series, min(m.series) AS series,
                   min(m.session) AS session, min(m.stated_date) AS meeting_date, min(m.doc_date) AS first_doc,
                   min(m.location) AS location, arg_min(m.doc_class, m.doc_id) AS doc_class,
                   bool_or(list_contains(m.collab_type, 'cross_regional')) AS cross_regional,
                   bool_or(list_contains(m.collab_type, 'cross_level')) AS cross_level,
                   bool_or(list_contains(m.collab_type, 'cross_departmental')) AS cross_departmental,
                   max(m.depth) AS depth, list_sort(list_distinct(flatten(list(m.institutions)))) AS institutions,
                   bool_or(coalesce(m.vertical_guidance, false)) AS vertical_guidance,
                   list_sort(list_distinct(flatten(list(m.regions)))) AS regions
            FROM m GROUP BY m.key
        ), p AS (
            SELECT g.key, count(DISTINCT p.name) AS n_participants,
                   count(DISTINCT p.name) FILTER (WHERE p.level = 'national') AS n_national,
                   count(DISTINCT p.name) FILTER (WHERE p.level = 'provincial') AS n_provincial,
                   count(DISTINCT p.name) FILTER (WHERE p.level = 'prefectural') AS n_prefectural,
                   count(DISTINCT p.name) FILTER (WHERE p.level = 'county') AS n_county,
                   count(DISTINCT p.name) FILTER (WHERE p.level = 'township') AS n_township
            FROM (SELECT key, unnest(ids) AS doc_id FROM g) g JOIN participants p USING (doc_id) GROUP BY g.key
        )
        SELECT substr(sha256(g.key), 1, 16) AS meeting_id,
               CASE WHEN g.any_series IS NULL THEN NULL ELSE substr(sha256(g.any_series), 1, 12) END AS series_id,
               g.series, g.session, g.meeting_date,
               CAST(substr(coalesce(g.meeting_date, g.first_doc), 1, 4) AS INTEGER) AS year,
               g.location, g.doc_class, g.cross_regional, g.cross_level, g.cross_departmental, g.depth,
               array_to_string(g.institutions, ';') AS institutions, g.vertical_guidance,
               array_to_string(g.regions, ';') AS regions, NULL AS blocs,
               coalesce(p.n_participants, 0) AS n_participants, coalesce(p.n_national, 0) AS n_national,
               coalesce(p.n_provincial, 0) AS n_provincial, coalesce(p.n_prefectural, 0) AS n_prefectural,
               coalesce(p.n_county, 0) AS n_county, coalesce(p.n_township, 0) AS n_township,
               array_to_string(list_sort(g.ids), ';') AS doc_ids
        FROM g LEFT JOIN p USING (key)
    """, ("meeting_id",), post=lambda df, settings: with_blocs(df, read_blocs(settings.blocs))),
    TableSpec("series", "One row per meeting series and session, in order: the sessions of each series sorted by "
              "session, then date; `variants` are the names the documents used for it (linked by the codes' "
              "canonical name).", (
        Column("series_id", "string", "stable id of the series", label="系列ID series id"),
        Column("series", "string", "canonical series name", label="会议系列 series"),
        Column("rank", "integer", "position of the meeting in its series (1 = earliest)", label="序号 order"),
        Column("session", "integer", "ordinal of the session as stated", label="届次 session"),
        Column("meeting_date", "date", "first day of the meeting", label="会议日期 meeting date"),
        Column("location", "string", "host city", label="会议地点 location"),
        Column("meeting_id", "string", "the meeting (meetings.meeting_id)", label="会议ID meeting id"),
        Column("n_meetings", "integer", "meetings of the series in the corpus", label="会议数 meetings in series"),
        Column("variants", "string", "names of the series as written in the documents, ';'-separated",
               label="名称变体 name variants"),
    ), """
        WITH c AS (
            SELECT c.doc_id, c.series, c.session, c.meeting_date, c.location, d.date AS doc_date,
                   c.series || '|' || coalesce(CAST(c.session AS VARCHAR), '') || '|' ||
                       coalesce(CASE WHEN c.session IS NULL THEN c.meeting_date END, '') AS key
            FROM codes c JOIN documents d USING (doc_id)
            WHERE c.series IS NOT NULL AND c.doc_class NOT IN ('other', 'joint_meeting_system_document')
        ), m AS (
            SELECT c.series, c.key, min(c.session) AS session, min(c.meeting_date) AS meeting_date,
                   min(c.location) AS location, min(CAST(c.doc_date AS VARCHAR)) AS first_doc
            FROM c GROUP BY c.series, c.key
        ), v AS (
            SELECT c.series, array_to_string(list_sort(list(DISTINCT e.text)), ';') AS variants
            FROM c JOIN evidence e ON e.doc_id = c.doc_id AND e.code = 'series' GROUP BY c.series
        )
        SELECT substr(sha256(m.series), 1, 12) AS series_id, m.series,
               row_number() OVER (PARTITION BY m.series ORDER BY m.session NULLS LAST,
                                  coalesce(m.meeting_date, m.first_doc), m.key) AS rank,
               m.session, m.meeting_date, m.location, substr(sha256(m.key), 1, 16) AS meeting_id,
               count(*) OVER (PARTITION BY m.series) AS n_meetings, v.variants
        FROM m LEFT JOIN v USING (series)
    """, ("series", "rank")),
    TableSpec("topics", "Topics of the current fit.", (
        Column("fit_id", "string", "topic fit (models/<fit_id>/)", label="主题模型 topic fit"),
        Column("topic_id", "integer", "topic number", label="主题编号 topic"),
        Column("label", "string", "label (seed label or top three words)", label="主题标签 topic label"),
        Column("top_terms", "string", "the 20 top words, space-separated, best first", label="主题词 top words"),
    ), "SELECT fit_id, topic_id, label, top_terms FROM topics WHERE fit_id = $fit", ("topic_id",)),
    TableSpec("topic_terms_by_period", "Top words of each topic by period.", (
        Column("fit_id", "string", "topic fit", label="主题模型 topic fit"),
        Column("topic_id", "integer", "topic", label="主题编号 topic"),
        Column("period", "string", "period (year)", label="时期 period"),
        Column("rank", "integer", "1 = best", label="排名 rank"),
        Column("term", "string", "word", label="词 term"),
        Column("weight", "float", "weight of the word in the topic that period", label="权重 weight"),
    ), "SELECT fit_id, topic_id, period, rank, term, weight FROM topic_terms_by_period WHERE fit_id = $fit",
        ("topic_id", "period", "rank")),
    TableSpec("doc_topics", "Topic weights of each document (weights below 0.01 omitted).", (
        Column("fit_id", "string", "topic fit", label="主题模型 topic fit"),
        Column("doc_id", "string", "document", label="文档ID document id"),
        Column("topic_id", "integer", "topic", label="主题编号 topic"),
        Column("weight", "float", "share of the document", label="主题占比 topic share of the document"),
    ), "SELECT fit_id, doc_id, topic_id, weight FROM doc_topics WHERE fit_id = $fit", ("doc_id", "topic_id")),
    TableSpec("topic_prevalence", "Mean topic share per group, with bootstrap 95% intervals.", (
        Column("fit_id", "string", "topic fit", label="主题模型 topic fit"),
        Column("topic_id", "integer", "topic", label="主题编号 topic"),
        Column("group_type", "category", "what the groups are", label="分组类型 group type"),
        Column("group", "string", "the group (a period, province, level or series)", label="分组 group"),
        Column("share", "float", "mean share of the topic", label="平均占比 mean share"),
        Column("ci_low", "float", "2.5th percentile of the bootstrap", label="95%置信下限 CI low"),
        Column("ci_high", "float", "97.5th percentile of the bootstrap", label="95%置信上限 CI high"),
        Column("n_docs", "integer", "documents in the group", label="文档数 documents"),
    ), 'SELECT fit_id, topic_id, group_type, "group", share, ci_low, ci_high, n_docs FROM topic_prevalence '
       'WHERE fit_id = $fit', ("group_type", "group", "topic_id")),
    TableSpec("topic_metrics", "The quality of the current topic fit, in long format: one row per metric of the "
              "whole fit (topic_id empty: k, n_docs, n_docs_undated, npmi, c_v, topic_diversity, stability when "
              "measured, vocabulary, periods) and per topic (npmi, stability when measured, seed_words_in_top for a "
              "guided topic, anchor_words_in_top for an anchored one; note names the words). corpus says which "
              "documents the fit covers (topics.corpus: coordination = doc_class not other, or all).", (
        Column("fit_id", "string", "topic fit", label="主题模型 topic fit"),
        Column("corpus", "string", "documents fitted: coordination or all", label="语料 corpus"),
        Column("topic_id", "integer", "topic; empty for a metric of the whole fit", label="主题编号 topic"),
        Column("metric", "string", "what value measures", label="指标 metric"),
        Column("value", "float", "the metric's value", label="数值 value"),
        Column("note", "string", "the words behind a guided or anchored topic's value (label: seed words; those "
               "among its top 20 words)", label="说明 note"),
    ), "SELECT fit_id, metrics FROM topic_fits WHERE fit_id = $fit", ("topic_id", "metric"),
        post=lambda df, _settings: topic_metric_rows(df)),
    TableSpec("edges", "The participant networks, one row per pair of participants, year and kind of tie: "
              "co_participation (undirected: both took part in the same meeting; source is the alphabetically first) "
              "and convenes (directed: the host or chair of a meeting → each other participant of it), weighted by "
              "meetings (rows of `meetings`). network.graphml holds the co-participation network summed over years, "
              "for Gephi or networkx.", (
        Column("source", "string", "participant (co_participation: the alphabetically first of the pair; convenes: "
               "the host or chair)", label="参与主体甲 source"),
        Column("target", "string", "participant (the other one; convenes: the one convened)", label="参与主体乙 target"),
        Column("year", "integer", "year of the meetings (meetings.year); empty when unknown", label="年份 year"),
        Column("kind", "category", "co_participation (undirected) or convenes (directed, host or chair → member)",
               ("co_participation", "convenes"), label="关系类型 kind of tie"),
        Column("weight", "integer", "meetings with this tie that year", label="会议数 meetings"),
        Column("meeting_ids", "set", "those meetings (meetings.meeting_id), ';'-separated",
               label="会议ID meeting ids"),
    ), "", ("source", "target", "year", "kind"), derive=lambda frames: edges(frames)),
    TableSpec("evidence", "One row per evidence span: the text that supports a code of a document (CODEBOOK §3). "
              "The same spans are the `evidence` column of collaboration, as JSON.", (
        Column("doc_id", "string", "document", label="文档ID document id"),
        Column("idx", "integer", "number of the span in its document, from 0", label="序号 span number"),
        Column("code", "string", "the code it supports (doc_class, collab_type, series, depth, institutions, …)",
               label="编码 code"),
        Column("value", "string", "the value it supports", label="编码值 value"),
        Column("start", "integer", "character offset of the span in the document text (from 0)",
               label="起始位置 start offset"),
        Column("end", "integer", "end offset (exclusive)", label="结束位置 end offset (exclusive)"),
        Column("text", "string", "the span's text", label="证据文本 evidence text"),
    ), 'SELECT doc_id, idx, code, value, start, "end", text FROM evidence', ("doc_id", "idx")),
    TableSpec("panel", "The numbers behind every chart of report.html, in long format: one row per year × bloc × "
              "measure over the rows of meetings (bloc = all: every meeting; a bloc: the meetings whose `blocs` name "
              "it, from the blocs table corpora/lexicons/panel/blocs.csv; a meeting of two blocs counts in both). "
              "year is empty for meetings without a known year. Measures: meetings; cross_regional, cross_level, "
              "cross_departmental (meetings with that flag); vertical_guidance (meetings with it); mean_depth (over "
              "meetings with a depth); share_depth_1 … share_depth_4; share_institutionalised (any indicator); "
              "share_<indicator> for each indicator; share_vertical_guidance; distinct_participants (distinct "
              "names over the cell's meetings); participants_mean, participants_median, participants_p25, "
              "participants_p75 (meetings.n_participants).", (
        Column("year", "integer", "year (meetings.year); empty: year unknown", label="年份 year"),
        Column("bloc", "string", "all, or a bloc of the blocs table", label="区域板块 bloc"),
        Column("measure", "string", "what value measures (see the table's description)", PANEL_MEASURES,
               label="指标 measure"),
        Column("value", "float", "the measure's value: a count, a mean or a share (0–1)", label="数值 value"),
        Column("base", "integer", "meetings the value is computed over (for depth measures: those with a depth)",
               label="会议基数 meetings in the base"),
    ), "", ("bloc", "year", "measure"), derive=lambda frames: panel(frames)),
)


def spec(name: str) -> TableSpec:
    """The spec of one table, by name."""
    for s in TABLES:
        if s.name == name:
            return s
    raise ExportError(f"no export table named {name!r}; expected one of {', '.join(s.name for s in TABLES)}")


def columns(spec_: TableSpec, settings: ExportSettings) -> tuple[Column, ...]:
    """The columns a table is exported with under these settings (page text only when asked for)."""
    if spec_.name == "pages" and not settings.include_page_text:
        return tuple(c for c in spec_.columns if c.name != "text")
    return spec_.columns


# -- building the tables ---------------------------------------------------------------------------------------
def table(store: Store, spec_: TableSpec, fit_id: str | None, frames: Mapping[str, pd.DataFrame] | None = None,
          settings: ExportSettings | None = None) -> pd.DataFrame:
    """One export table, typed by its spec and sorted by its key."""
    cols = columns(spec_, settings or ExportSettings())
    if spec_.derive is not None:
        df = spec_.derive(frames or {})
    else:
        sql = spec_.sql.replace("$fit", "?")
        df = store.frame(sql, [fit_id] * spec_.sql.count("$fit"))
    if spec_.post is not None:
        df = spec_.post(df, settings or ExportSettings())
    missing = [c.name for c in cols if c.name not in df.columns]
    if missing:
        raise ExportError(f"table {spec_.name}: its query gives no column {', '.join(missing)}; the spec in "
                          f"pipeline/export.py and the query disagree")
    df = typed(df[[c.name for c in cols]], cols)
    if len(df):
        df = df.sort_values(list(spec_.key), kind="mergesort", na_position="last").reset_index(drop=True)
    return df


def tables(store: Store, settings: ExportSettings | None = None) -> dict[str, pd.DataFrame]:
    """Every export table, in the order of TABLES (derived tables see the ones before them)."""
    fit_id = store.current_fit()
    frames: dict[str, pd.DataFrame] = {}
    for s in TABLES:
        frames[s.name] = table(store, s, fit_id, frames, settings)
    return frames


def typed(df: pd.DataFrame, cols: Iterable[Column]) -> pd.DataFrame:
    """Give each column the pandas dtype of its type: nullable Int64/boolean, float64, text, and ISO dates as
    `datetime.date` objects (a value that is not a full YYYY-MM-DD date is an error naming it)."""
    out = {}
    for c in cols:
        s = df[c.name]
        if c.type == "integer":
            out[c.name] = pd.to_numeric(s).astype("Int64")
        elif c.type == "float":
            out[c.name] = pd.to_numeric(s).astype("float64")
        elif c.type == "boolean":
            out[c.name] = s.astype("boolean")
        elif c.type == "date":
            out[c.name] = s.map(lambda v, c=c: _date(v, c.name)).astype(object)
        else:
            out[c.name] = s.map(lambda v: None if isna(v) else str(v)).astype(object)
    return pd.DataFrame(out, index=df.index)


def isna(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _date(v: Any, name: str) -> dt.date | None:
    if isna(v) or v == "":
        return None
    if isinstance(v, dt.date):
        return v if not isinstance(v, dt.datetime) else v.date()
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError as exc:
        raise ExportError(f"column {name}: {v!r} is not an ISO date (YYYY-MM-DD)") from exc


# -- the network -----------------------------------------------------------------------------------------------
def meeting_members(frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, int | None, list[str]]]:
    """(meeting_id, year, sorted distinct participant names) of every meeting."""
    return [(mid, year, sorted(members)) for mid, year, members, _conv in _meetings_people(frames)]


def _meetings_people(frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, int | None, set[str], set[str]]]:
    """(meeting_id, year, participant names, conveners: names with role host or chair) of every meeting."""
    meetings = frames.get("meetings")
    if meetings is None or not len(meetings):
        return []
    names_of: dict[str, set[str]] = defaultdict(set)
    conveners_of: dict[str, set[str]] = defaultdict(set)
    parts = frames.get("participants")
    if parts is not None:
        for doc_id, name, role in zip(parts["doc_id"], parts["name"], parts["role"]):
            if name:
                names_of[doc_id].add(name)
                if role in ("host", "chair"):
                    conveners_of[doc_id].add(name)
    out = []
    for mid, year, doc_ids in zip(meetings["meeting_id"], meetings["year"], meetings["doc_ids"]):
        ids = [d for d in (doc_ids or "").split(";") if d]
        members = set().union(*(names_of[d] for d in ids)) if ids else set()
        conveners = set().union(*(conveners_of[d] for d in ids)) if ids else set()
        out.append((mid, None if isna(year) else int(year), members, conveners))
    return out


def edges(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Network edges, one row per (pair, year, kind) weighted by meetings: co_participation between two
    participants of the same meeting (source the alphabetically first), convenes from each host or chair of a
    meeting to each of its other participants."""
    pairs: dict[tuple[str, str, int | None, str], list[str]] = defaultdict(list)
    for mid, year, members, conveners in _meetings_people(frames):
        for a, b in combinations(sorted(members), 2):
            pairs[(a, b, year, "co_participation")].append(mid)
        for a in sorted(conveners):
            for b in sorted(members - {a}):
                pairs[(a, b, year, "convenes")].append(mid)
    rows = [(a, b, y, k, len(m), ";".join(sorted(m))) for (a, b, y, k), m in pairs.items()]
    return pd.DataFrame(rows, columns=["source", "target", "year", "kind", "weight", "meeting_ids"])


# -- topic metrics ---------------------------------------------------------------------------------------------
_FIT_METRICS = ("k", "n_docs", "n_docs_undated", "n_docs_scored", "npmi", "c_v", "topic_diversity", "stability",
                "vocabulary", "periods")


def topic_metric_rows(fits: pd.DataFrame) -> pd.DataFrame:
    """Long rows of the metrics JSON of each fit in `fits` (fit_id, metrics)."""
    rows = []
    for fit_id, raw in zip(fits["fit_id"], fits["metrics"]):
        m = json.loads(raw) if isinstance(raw, str) and raw else {}
        corpus = m.get("corpus")
        for key in _FIT_METRICS:
            if isinstance(m.get(key), (int, float)) and not isinstance(m.get(key), bool):
                rows.append((fit_id, corpus, None, key, float(m[key]), None))
        for key, name in (("npmi_by_topic", "npmi"), ("stability_by_topic", "stability")):
            for t, v in enumerate(m.get(key) or []):
                rows.append((fit_id, corpus, t, name, None if v is None else float(v), None))
        for g in m.get("guided_topics") or []:
            rows.append((fit_id, corpus, g["topic_id"], "seed_words_in_top", float(len(g["seed_words_in_top"])),
                         f"{g['label']}: {' '.join(g['seed_words'])}; in top 20: {' '.join(g['seed_words_in_top'])}"))
        for a in m.get("anchored_topics") or []:
            rows.append((fit_id, corpus, a["topic_id"], "anchor_words_in_top", float(len(a["anchor_words_in_top"])),
                         f"{' '.join(a['anchor_words'])}; in top 20: {' '.join(a['anchor_words_in_top'])}"))
    return pd.DataFrame(rows, columns=["fit_id", "corpus", "topic_id", "metric", "value", "note"])


# -- blocs and the panel ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bloc:
    """A regional bloc of the blocs table: its name, English name, member provinces and the names that, in a
    series name, mean it."""

    name: str
    name_en: str
    members: frozenset[str]
    names: tuple[str, ...]
    basis: str = ""


def read_blocs(path: Path | str | None) -> tuple[Bloc, ...]:
    """The blocs table (bloc, name_en, members, names, basis; members and names '|'-separated; names default to
    the bloc's name), in file order; () without a path."""
    if path is None:
        return ()
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: blocs table not found (export.blocs)")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"bloc", "members"} - set(rows[0] if rows else {})
    if missing:
        raise ExportError(f"{path}: the blocs table needs the columns bloc and members (missing {', '.join(missing)})")
    return tuple(Bloc(r["bloc"].strip(), (r.get("name_en") or "").strip(),
                      frozenset(m for m in r["members"].split("|") if m),
                      tuple(n for n in (r.get("names") or r["bloc"]).split("|") if n),
                      (r.get("basis") or "").strip()) for r in rows if r.get("bloc"))


def blocs_of(regions: Iterable[str], series: str | None, blocs: Iterable[Bloc]) -> list[str]:
    """The blocs a meeting belongs to: its provinces all lie within the bloc and at least two of them take part,
    or its series names the bloc."""
    regs = {r for r in regions if r}
    out = []
    for b in blocs:
        if (len(regs) >= 2 and regs <= b.members) or (series and any(n in series for n in b.names)):
            out.append(b.name)
    return out


def with_blocs(meetings: pd.DataFrame, blocs: Iterable[Bloc]) -> pd.DataFrame:
    """The meetings with their `blocs` column filled in (';'-separated, in the blocs table's order)."""
    blocs = tuple(blocs)
    out = meetings.copy()
    out["blocs"] = [";".join(blocs_of((r or "").split(";") if not isna(r) else [], None if isna(s) else s, blocs))
                    or None for r, s in zip(meetings["regions"], meetings["series"])]
    return out


def panel(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The long panel over the rows of `meetings`: year × bloc (all, then each bloc a meeting names) × measure
    (PANEL_MEASURES) → value and the number of meetings it is computed over."""
    m = frames["meetings"]
    cols = ["year", "bloc", "measure", "value", "base"]
    if not len(m):
        return pd.DataFrame(columns=cols)
    names_of: dict[str, set[str]] = defaultdict(set)
    parts = frames.get("participants")
    if parts is not None:
        for doc_id, name in zip(parts["doc_id"], parts["name"]):
            if name:
                names_of[doc_id].add(name)
    rows = []
    cells: dict[tuple[str, int | None], list[int]] = defaultdict(list)
    for i, (year, blocs) in enumerate(zip(m["year"], m["blocs"])):
        y = None if isna(year) else int(year)
        for b in ["all"] + ([x for x in blocs.split(";") if x] if not isna(blocs) else []):
            cells[(b, y)].append(i)
    for (bloc, year), idx in cells.items():
        sub = m.iloc[idx]
        n = len(sub)
        flag = lambda c, sub=sub: int(sub[c].fillna(False).astype(bool).sum())  # noqa: E731
        depth = sub["depth"].dropna().astype(int)
        inst = [set(x.split(";")) if not isna(x) and x else set() for x in sub["institutions"]]
        n_parts = sub["n_participants"].dropna().astype(float)
        people = set().union(*(names_of[d] for ids in sub["doc_ids"] for d in (ids or "").split(";") if d))
        values: dict[str, tuple[float | None, int]] = {
            "meetings": (n, n), "cross_regional": (flag("cross_regional"), n), "cross_level": (flag("cross_level"), n),
            "cross_departmental": (flag("cross_departmental"), n), "vertical_guidance": (flag("vertical_guidance"), n),
            "mean_depth": (float(depth.mean()) if len(depth) else None, len(depth)),
            **{f"share_depth_{d}": (float((depth == d).mean()) if len(depth) else None, len(depth))
               for d in (1, 2, 3, 4)},
            "share_institutionalised": (sum(bool(x) for x in inst) / n, n),
            **{f"share_{i}": (sum(i in x for x in inst) / n, n) for i in INSTITUTIONS},
            "share_vertical_guidance": (flag("vertical_guidance") / n, n),
            "distinct_participants": (len(people), n),
            "participants_mean": (float(n_parts.mean()) if len(n_parts) else None, len(n_parts)),
            "participants_median": (float(n_parts.median()) if len(n_parts) else None, len(n_parts)),
            "participants_p25": (float(n_parts.quantile(0.25)) if len(n_parts) else None, len(n_parts)),
            "participants_p75": (float(n_parts.quantile(0.75)) if len(n_parts) else None, len(n_parts)),
        }
        for measure in PANEL_MEASURES:
            v, base = values[measure]
            rows.append((year, bloc, measure, None if v is None else round(float(v), 6), base))
    df = pd.DataFrame(rows, columns=cols)
    order = {b: k for k, b in enumerate(["all"] + sorted(set(df["bloc"]) - {"all"}))}
    morder = {x: k for k, x in enumerate(PANEL_MEASURES)}
    return df.assign(_b=df["bloc"].map(order), _m=df["measure"].map(morder)).sort_values(
        ["_b", "year", "_m"], kind="mergesort", na_position="last").drop(columns=["_b", "_m"]).reset_index(drop=True)


def network(frames: Mapping[str, pd.DataFrame]):  # noqa: ANN201 - networkx.Graph
    """The participant network summed over years: nodes carry level, province, region code, sector and the
    meetings and documents they appear in; edges carry weight (meetings together), first and last year and the
    weight by year ("2019:2;2020:1")."""
    import networkx as nx

    g = nx.Graph(name="participant co-occurrence in joint meetings")
    parts = frames["participants"]
    meetings_of: Counter[str] = Counter()
    for _mid, _year, members in meeting_members(frames):
        meetings_of.update(members)
    if len(parts):
        first = parts.drop_duplicates("name").sort_values("name", kind="mergesort")
        docs_of = parts.groupby("name")["doc_id"].nunique()
        for r in first.itertuples(index=False):
            g.add_node(r.name, label=r.name, level=r.level or "", province=r.province or "",
                       region_code=r.region_code or "", sector=r.sector or "",
                       meetings=int(meetings_of.get(r.name, 0)), documents=int(docs_of[r.name]))
    e = frames["edges"]
    e = e[e["kind"] == "co_participation"] if len(e) else e
    if len(e):
        for (a, b), grp in e.groupby(["source", "target"], sort=True):
            years = [int(y) for y in grp["year"].dropna()]
            by_year = ";".join(f"{'' if pd.isna(y) else int(y)}:{int(w)}" for y, w in zip(grp["year"], grp["weight"]))
            g.add_edge(a, b, weight=int(grp["weight"].sum()), first_year=min(years) if years else -1,
                       last_year=max(years) if years else -1, weight_by_year=by_year)
    return g


def write_graphml(frames: Mapping[str, pd.DataFrame], path: Path) -> None:
    """network.graphml (for Gephi and networkx): nodes in name order, edges in pair order."""
    import networkx as nx

    buf = io.BytesIO()
    nx.write_graphml(network(frames), buf, encoding="utf-8", prettyprint=True)
    write_bytes(path, buf.getvalue())


# -- writers ---------------------------------------------------------------------------------------------------
def write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically (a reader never sees half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with BOM (Excel on a Chinese-locale machine shows it), LF line ends, empty for missing."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    write_bytes(path, b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


def write_parquet(df: pd.DataFrame, cols: tuple[Column, ...], path: Path, table_meaning: str) -> None:
    """Parquet with explicit Arrow types; each field carries its meaning as metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {"string": pa.string(), "category": pa.string(), "set": pa.string(), "integer": pa.int64(),
             "float": pa.float64(), "boolean": pa.bool_(), "date": pa.date32()}
    schema = pa.schema([pa.field(c.name, arrow[c.type], nullable=True,
                                 metadata={"meaning": c.meaning, "type": c.type}) for c in cols],
                       metadata={"table": path.stem, "meaning": table_meaning, "codebook_version": CODEBOOK_VERSION})
    arrays = []
    for c in cols:
        s = df[c.name]
        values = [None if isna(v) else v for v in s.tolist()]
        if c.type in ("integer",):
            values = [None if v is None else int(v) for v in values]
        elif c.type == "boolean":
            values = [None if v is None else bool(v) for v in values]
        elif c.type == "float":
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=arrow[c.type]))
    t = pa.Table.from_arrays(arrays, schema=schema)
    buf = pa.BufferOutputStream()
    pq.write_table(t, buf, compression="zstd", write_statistics=True, store_schema=True)
    write_bytes(path, buf.getvalue().to_pybytes())


def _xlsx_text(v: str, where: str, cut: Counter[str]) -> str:
    v = _CONTROL.sub("", v)
    if len(v) > XLSX_MAX_CHARS:
        cut[where] += 1
        note = f" …[cut at {XLSX_MAX_CHARS} characters of {len(v)}: the full text is in the .parquet and .csv]"
        v = v[:XLSX_MAX_CHARS - len(note)] + note
    return v


def write_xlsx(frames: Mapping[str, pd.DataFrame], settings: ExportSettings, path: Path) -> dict[str, int]:
    """One workbook, a README sheet then a sheet per table. Control characters are stripped; long-text columns
    (xlsx=False) are left out and a longer cell is cut with a note saying so; a table with more rows than Excel
    holds is left to the other formats. Returns the number of cut cells by "table.column"."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    cut: Counter[str] = Counter()
    readme = wb.create_sheet("README")
    readme.append(["Joint Meeting Miner export: one sheet per table; codebook.md / codebook.csv describe every "
                   "column. Cells are limited to 32,767 characters: long texts are in the .parquet and .csv files."])
    readme.append(["table", "rows", "meaning", "in this workbook"])
    sheets = []
    for s in TABLES:
        df = frames[s.name]
        cols = [c for c in columns(s, settings) if c.xlsx]
        left_out = [c.name for c in columns(s, settings) if not c.xlsx]
        fits = len(df) < XLSX_MAX_ROWS
        note = "yes" if fits else f"no: {len(df)} rows is more than Excel's {XLSX_MAX_ROWS - 1}; see {s.name}.parquet"
        if fits and left_out:
            note += f" (without {', '.join(left_out)}: see {s.name}.parquet)"
        readme.append([s.name, len(df), s.meaning, note])
        if fits:
            sheets.append((s, cols, df))
    for s, cols, df in sheets:
        ws = wb.create_sheet(s.name[:31])
        ws.freeze_panes = "A2"
        for i, c in enumerate(cols):
            ws.column_dimensions[_col_letter(i)].width = min(60, max(10, len(c.name) + 2))
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws, value=c.name)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in df[[c.name for c in cols]].itertuples(index=False, name=None):
            out = []
            for c, v in zip(cols, row):
                if isna(v):
                    out.append(None)
                elif isinstance(v, str):
                    v = _xlsx_text(v, f"{s.name}.{c.name}", cut)
                    if v.startswith("="):  # text, never a formula
                        cell = WriteOnlyCell(ws, value=v)
                        cell.data_type = "s"
                        out.append(cell)
                    else:
                        out.append(v)
                elif c.type == "boolean":
                    out.append(bool(v))
                elif c.type == "integer":
                    out.append(int(v))
                else:
                    out.append(v)
            ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, _reproducible_zip(buf.getvalue()))
    return dict(sorted(cut.items()))


def _col_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


_CORE_TIMES = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")


def _reproducible_zip(data: bytes) -> bytes:
    """Rewrite an OOXML zip without time: entries dated 1980-01-01 and the core properties' created/modified
    elements (openpyxl stamps the save time there) removed."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_TIMES.sub(b"", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body, compresslevel=6)
    return buf.getvalue()


def stata_frame(df: pd.DataFrame, cols: tuple[Column, ...], table_name: str
                ) -> tuple[pd.DataFrame, dict[str, dict[int, str]], list[str], list[str]]:
    """The frame as Stata stores it: coded columns as integers 1…n, booleans 0/1, dates as datetimes (%td),
    missing text as "". Returns (frame, value labels, date columns, strL columns), keyed by Stata names."""
    out: dict[str, Any] = {}
    labels: dict[str, dict[int, str]] = {}
    dates: list[str] = []
    strl: list[str] = []
    for c in cols:
        s = df[c.name]
        name = c.stata_name
        if c.coded:
            allowed = list(c.allowed)
            extra = sorted({v for v in s.dropna() if v not in allowed})
            if extra:
                log.warning("%s.%s: values outside the codebook %s are coded after the known ones", table_name,
                            c.name, extra)
            codes = {v: i + 1 for i, v in enumerate(allowed + extra)}
            gloss = VALUE_LABELS.get(c.name, {})
            labels[name] = {i: (f"{v} {gloss[v]}" if v in gloss else v)[:32000] for v, i in codes.items()}
            out[name] = s.map(lambda v, codes=codes: None if isna(v) else codes[v]).astype("Int16")
        elif c.type == "boolean":
            out[name] = s.astype("Int8")
            labels[name] = dict(_BOOL_LABELS)
        elif c.type == "integer":
            s = s.astype("Int64")
            if c.name in VALUE_LABELS:
                labels[name] = {int(k): f"{k} {v}" for k, v in VALUE_LABELS[c.name].items()}
            fits = s.dropna().between(-2_147_483_647, 2_147_483_620).all()
            out[name] = s.astype("Int32") if fits else s.astype("float64")
        elif c.type == "float":
            out[name] = s.astype("float64")
        elif c.type == "date":
            out[name] = pd.to_datetime(s.map(lambda v: None if v is None else v.isoformat()), format="%Y-%m-%d")
            dates.append(name)
        else:
            text = s.map(lambda v: "" if isna(v) else _CONTROL.sub("", v)).astype(object)
            if len(text) and int(text.map(lambda v: len(v.encode("utf-8"))).max()) > STATA_MAX_STR:
                strl.append(name)
            out[name] = text
    return pd.DataFrame(out, index=df.index), labels, dates, strl


def write_dta(df: pd.DataFrame, cols: tuple[Column, ...], path: Path, table_meaning: str) -> None:
    """Stata 118 (UTF-8) with variable labels, value labels for coded columns and booleans, %td dates, strL for
    texts longer than 2,045 bytes, and a fixed header time stamp."""
    frame, labels, dates, strl = stata_frame(df, cols, path.stem)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas renames or converts silently otherwise; the schema must be exact
        try:
            frame.to_stata(buf, write_index=False, version=118, time_stamp=STATA_TIME_STAMP,
                           data_label=table_meaning[:80], convert_dates={d: "td" for d in dates},
                           variable_labels={c.stata_name: c.stata_label for c in cols},
                           value_labels=labels or None, convert_strl=strl or None)
        except (ValueError, Warning) as exc:
            raise ExportError(f"{path}: cannot write the Stata file: {exc}") from exc
    write_bytes(path, buf.getvalue())


# -- codebook and manifest --------------------------------------------------------------------------------------
_TYPE_NOTES = {
    "string": "text", "category": "text, one of the allowed values (Stata: coded 1…n with value labels)",
    "set": "text, ';'-separated values", "integer": "integer", "float": "decimal number",
    "boolean": "true/false (Stata: 0/1 with value labels)", "date": "ISO date YYYY-MM-DD (Stata: %td date)",
}


def codebook_rows(settings: ExportSettings) -> list[dict[str, str]]:
    """One row per column of every table, from the schema."""
    rows = []
    for s in TABLES:
        for c in columns(s, settings):
            allowed = c.allowed
            gloss = VALUE_LABELS.get(c.name, {})
            values = "; ".join(f"{v} ({gloss[v]})" if v in gloss else v for v in allowed)
            if not values and c.type == "integer" and gloss:
                values = "; ".join(f"{k} ({v})" for k, v in gloss.items())
            rows.append({"table": s.name, "column": c.name, "type": c.type, "meaning": c.meaning, "values": values,
                         "key": "yes" if c.name in s.key else "", "stata_name": c.stata_name,
                         "stata_label": c.stata_label, "in_xlsx": "yes" if c.xlsx else "no (long text)"})
    return rows


def write_codebook(settings: ExportSettings, out: Path) -> None:
    """codebook.csv (one row per column) and codebook.md (the same, table by table, with the format notes)."""
    rows = codebook_rows(settings)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_bytes(out / "codebook.csv", b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    md = [f"# Codebook of the exported tables (codebook version {CODEBOOK_VERSION})", "",
          "Generated from the schema in `pipeline/export.py`; the coding rules are in CODEBOOK.md of the project.",
          "", "Formats: every table is written as `<table>.csv` (UTF-8 with BOM), `<table>.parquet`, "
          "`<table>.dta` (Stata 118, UTF-8) and a sheet of `tables.xlsx`; the network also as `network.graphml`. "
          "Missing values are empty cells in CSV and XLSX, nulls in Parquet, missing (`.`) in Stata, where missing "
          "text is the empty string. Offsets (`start`, `end`) are character offsets into the document text, "
          "end exclusive.", "",
          f"- **tables.xlsx** holds at most {XLSX_MAX_CHARS:,} characters a cell: long-text columns marked "
          f"\"no (long text)\" below are left out of it, and any other cell longer than that is cut with a note "
          f"saying so (manifest.json counts them under `xlsx_cut_cells`); the full text is in the .parquet and "
          f".csv files. A table with more than {XLSX_MAX_ROWS - 1:,} rows is left out of the workbook.",
          "- **Stata**: variable names are the column names, except Stata/Mata reserved words, which get a trailing "
          "underscore (`end` → `end_`); coded columns and booleans carry value labels; texts longer than "
          f"{STATA_MAX_STR} bytes are strL. The .dta header time stamp is fixed at 01 Jan 1970 so that files are "
          "byte-identical; the export time is `exported_at` in manifest.json.",
          "- **Parquet**: explicit Arrow types (string, int64, double, bool, date32); each field's metadata holds "
          "its meaning.", ""]
    blocs = read_blocs(settings.blocs)
    for s in TABLES:
        md += [f"## {s.name}", "", s.meaning, "", f"Sorted by: {', '.join(s.key)}.", "",
               "| column | type | meaning | allowed values | Stata label |", "|---|---|---|---|---|"]
        for r in (r for r in rows if r["table"] == s.name):
            name = r["column"] if r["stata_name"] == r["column"] else f"{r['column']} (Stata: {r['stata_name']})"
            if r["in_xlsx"] != "yes":
                name += " — not in tables.xlsx"
            md.append(f"| {name} | {_TYPE_NOTES[r['type']]} | {_md(r['meaning'])} | {_md(r['values'])} | "
                      f"{_md(r['stata_label'])} |")
        md.append("")
    md += ["## Blocs", "", f"`meetings.blocs` and the `bloc` of `panel` come from the blocs table `{BLOCS_CITED}` "
           "(one row per bloc: its member provinces, the names that mean it in a series name, and the plan that "
           "defines it). A meeting belongs to a bloc when its provinces (meetings.regions) all lie within the bloc "
           "and at least two of them take part, or when its series names the bloc; blocs overlap (长三角 lies within "
           "长江经济带), so a meeting may belong to several.", "",
           "| bloc | English | members | names in a series | basis |", "|---|---|---|---|---|"]
    md += [f"| {b.name} | {_md(b.name_en)} | {'、'.join(sorted(b.members))} | {'、'.join(b.names)} | {_md(b.basis)} |"
           for b in blocs]
    md.append("")
    write_bytes(out / "codebook.md", "\n".join(md).encode("utf-8"))


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- the whole export ------------------------------------------------------------------------------------------
def export(store: Store, out: Path, manifest: Mapping[str, Any], settings: ExportSettings,
           formats: Iterable[ExportFormat | str] | None = None,
           progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write every table in each format, network.graphml, codebook.md/.csv and manifest.json to `out`; return
    the row counts. `manifest` carries what only the caller knows (inputs, code and config versions);
    `formats` overrides settings.formats; `progress` is called with each file name as it is written."""
    fmts = [ExportFormat(f) for f in (formats if formats is not None else settings.formats)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda _name: None)
    frames = tables(store, settings)
    written: list[str] = []
    for s in TABLES:
        df, cols = frames[s.name], columns(s, settings)
        if ExportFormat.csv in fmts:
            write_csv(df, out / f"{s.name}.csv")
            written.append(f"{s.name}.csv")
        if ExportFormat.parquet in fmts:
            write_parquet(df, cols, out / f"{s.name}.parquet", s.meaning)
            written.append(f"{s.name}.parquet")
        if ExportFormat.dta in fmts:
            write_dta(df, cols, out / f"{s.name}.dta", s.meaning)
            written.append(f"{s.name}.dta")
        note(s.name)
    cut: dict[str, int] = {}
    if ExportFormat.xlsx in fmts:
        cut = write_xlsx(frames, settings, out / "tables.xlsx")
        written.append("tables.xlsx")
        note("tables.xlsx")
    write_graphml(frames, out / "network.graphml")
    write_codebook(settings, out)
    written += ["network.graphml", "codebook.md", "codebook.csv"]
    counts = {name: int(len(df)) for name, df in frames.items()}
    full = {**manifest, "codebook_version": CODEBOOK_VERSION, "topic_fit": store.current_fit(),
            "row_counts": counts, "formats": [f.value for f in fmts], "xlsx_cut_cells": cut,
            "files": {name: sha256_path(out / name) for name in sorted(written)},
            "exported_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}
    write_bytes(out / "manifest.json",
                 (json.dumps(full, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    log.info("exported %d tables to %s (%s)", len(frames), out, ", ".join(f.value for f in fmts))
    return counts
