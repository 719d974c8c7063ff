"""Typed, frozen settings: one section per stage. `flows/` reads config.yaml with `read_settings`;
stages receive only their own section."""

from __future__ import annotations

import hashlib
import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError


def _valid_regex(v: str | None) -> str | None:
    """`v` unchanged if it is None or compiles as a regular expression; else a ValueError naming it."""
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"{v!r} is not a valid regular expression ({exc})") from exc
    return v


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    """Where the corpus store, the raw copies and the working files live (relative to config.yaml)."""

    root: Path = Path("data")
    database: str = "corpus.duckdb"


class OcrEngine(str, Enum):
    """Who reads the pages that need OCR."""

    rapidocr = "rapidocr"  # RapidOCR: PP-OCRv4 detection and recognition, ONNX models inside the wheel
    tesseract = "tesseract"  # tesseract with `ocr_language` (apt-get install tesseract-ocr tesseract-ocr-chi-sim)
    none = "none"  # pages that need OCR are marked needs_ocr


class TableReader(str, Enum):
    """Who reads the ruled tables of the pages with a grid of lines."""

    pdfium = "pdfium"  # the grid from PDFium's path objects, the cells' text from its character boxes
    pdfplumber = "pdfplumber"  # pdfplumber's lattice finder (parses each table page again: ~0.3 s a page)
    none = "none"


class Converter(str, Enum):
    libreoffice = "libreoffice"  # LibreOffice headless converts .doc/.wps/.rtf/.odt/.xls/.ods (pipeline/convert.py)
    none = "none"  # those kinds are quarantined, saying how to read them


class ExtractSettings(_Section):
    ocr: OcrEngine = OcrEngine.rapidocr
    ocr_language: str = "chi_sim"  # tesseract's language(s), e.g. chi_sim+eng
    ocr_dpi: int = Field(200, ge=72, le=600)  # pages are rendered in grey at this resolution for OCR
    ocr_psm: int = Field(3, ge=0, le=13)  # tesseract page segmentation mode (3: automatic)
    ocr_timeout_s: float = Field(120.0, gt=0)  # tesseract, per page (any engine: seconds_per_document)
    ocr_min_image_share: float = Field(0.3, ge=0.0, le=1.0)  # a page with < 10 CJK chars and this much image is OCR'd
    ocr_workers: int = Field(0, ge=0)  # processes that OCR a document's pages in parallel (0: one per CPU core)
    layout: bool = True  # reading order by position (red-header banner first), page numbers off by position
    drop_running_headers: bool = True  # with layout: drop lines repeated in the top/bottom band of most pages
    min_cjk_share: float = Field(0.2, ge=0.0, le=1.0)
    tables: TableReader = TableReader.pdfium
    traditional_to_simplified: bool = True
    max_file_mb: float = Field(200.0, gt=0)
    max_pages: int = Field(2000, gt=0)
    seconds_per_document: float = Field(600.0, gt=0)
    memory_mb_per_worker: int = Field(4096, gt=0)
    convert: Converter = Converter.libreoffice
    convert_timeout_s: float = Field(120.0, gt=0)  # per file; beyond it LibreOffice is stopped and the file quarantined


class SegmentSettings(_Section):
    user_dictionary: Path = Path("corpora/lexicons/user_dict.txt")


class TagSettings(_Section):
    gazetteer: Path = Path("corpora/lexicons")
    models: Path = Path("corpora/models")  # the learned models (participants, doc_class, depth): `make train`


class TopicModel(str, Enum):
    timelda = "timelda"  # tomotopy LDA (Gibbs) + each topic's words per period, smoothed over neighbouring periods
    dtm = "dtm"  # tomotopy DTModel over periods (slow: small corpora only)
    lda = "lda"  # gensim LDA, prevalence by period from document-topic weights


class TopicCorpus(str, Enum):
    coordination = "coordination"  # documents whose doc_class is not `other`: the goals of the meetings
    all = "all"  # every stored document


class Period(str, Enum):
    year = "year"
    month = "month"


class TopicSettings(_Section):
    """Topic corpus, model and prevalence (pipeline/topics.py). `k` is capped at one topic per ten documents on a
    small corpus; tomotopy models train with one worker so a seed gives the same topics."""

    enabled: bool = True
    corpus: TopicCorpus = TopicCorpus.coordination  # which documents the topics are fitted on
    model: TopicModel = TopicModel.timelda
    k: int = Field(30, ge=2, le=500)
    seed: int = 42
    iterations: int = Field(600, ge=1)  # DTModel training iterations; gensim LDA's per-document iterations
    passes: int = Field(5, ge=1)  # gensim LDA passes over the corpus
    period: Period = Period.year
    min_docs: int = Field(20, ge=2)
    stopwords: Path = Path("corpora/lexicons/stopwords.txt")
    min_token_length: int = Field(2, ge=1)
    max_token_length: int = Field(12, ge=1)
    no_below: int = Field(3, ge=1)
    no_above: float = Field(0.4, gt=0.0, le=1.0)
    keep_n: int = Field(20000, ge=100)
    phrases: bool = True
    phrase_min_count: int = Field(20, ge=1)
    phrase_threshold: float = Field(0.5, gt=-1.0, le=1.0)  # NPMI scoring
    bootstrap: int = Field(500, ge=0)
    seed_topics: dict[str, list[str]] = Field(default_factory=dict)
    seed_weight: float = Field(0.3, ge=0.0)  # LDA: a seed word's prior pseudo-counts, as a share of its count
    seed_prior: float = Field(1.0, ge=0.0)  # tomotopy: word prior of a seed word in its own topic
    seed_prior_other: float = Field(0.001, ge=0.0)  # … and in the other topics
    anchor_words: int = Field(3, ge=0)  # unguided topics start from NMF themes, this many anchor words each (0: off)
    alpha: float = Field(0.1, gt=0.0)  # timelda: document-topic prior
    eta: float = Field(0.1, gt=0.0)  # timelda: topic-word prior
    time_bandwidth: float = Field(1.0, ge=0.0)  # timelda: Gaussian kernel width over periods (0: no sharing)
    time_prior: float = Field(200.0, ge=0.0)  # timelda: pseudo-words of the overall topic in each period
    dtm_alpha_var: float = Field(0.1, gt=0.0)
    dtm_eta_var: float = Field(0.1, gt=0.0)
    dtm_phi_var: float = Field(0.1, gt=0.0)
    top_words_lambda: float = Field(0.6, ge=0.0, le=1.0)  # top words ranked by relevance (1.0: by probability)
    infer_iterations: int = Field(100, ge=1)
    coherence_docs: int = Field(3000, ge=0)  # documents sampled for c_v (0: skip c_v)
    sweep_docs: int = Field(20000, ge=0)  # documents sampled for a K sweep (0: all)
    min_diversity: float = Field(0.8, ge=0.0, le=1.0)  # a K sweep prefers K with at least this diversity
    stability_seeds: int = Field(0, ge=0)  # extra seeds refitted to measure stability (0: skip)
    refit: bool = True  # false: new documents are scored with the current fit (`jmm topics` refits)
    models_dir: Path = Path("models")


class ExportFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"
    dta = "dta"


class ExportSettings(_Section):
    formats: tuple[ExportFormat, ...] = (ExportFormat.csv, ExportFormat.xlsx, ExportFormat.parquet, ExportFormat.dta)
    include_page_text: bool = False
    report: bool = True
    report_network_nodes: int = Field(60, ge=2)  # the report's network chart shows the best-connected bodies
    evidence_chunk: int = Field(100, ge=1)  # documents per lazily loaded chunk of the evidence browser
    evidence_inline_mb: float = Field(8.0, ge=0)  # up to this much text, the chunks live inside report.html
    blocs: Path = Path("corpora/lexicons/panel/blocs.csv")  # regional blocs of meetings.blocs and the panel


class RunnerKind(str, Enum):
    process = "process"
    thread = "thread"
    dask = "dask"


class RunnerSettings(_Section):
    kind: RunnerKind = RunnerKind.process
    workers: int = Field(2, ge=1)
    batch_size: int = Field(200, ge=1)
    record_batch_size: int = Field(2000, ge=1)  # JSON Lines records are small: larger batches
    dask_address: str | None = None


class Source(_Section):
    """A website to collect from: a listing page (`url`), the links on it that are document pages
    (`document_pattern`, searched in the absolute URL) and attachments (`attachment_pattern`, searched in
    the URL path, on listing and document pages), and the link to the next listing page. Only the URL's host
    and `allowed_hosts` (exact names, or `*.suffix` patterns whose hosts must resolve to public addresses)
    are fetched."""

    name: str
    url: str
    document_pattern: str | None = None
    attachment_pattern: str = r"\.(pdf|docx?|wps|rtf|odt|xlsx?|ods|ofd|txt)$"  # office kinds: pipeline/convert.py
    next_page_pattern: str | None = None
    max_pages: int = Field(5, ge=1)
    max_documents: int = Field(500, ge=1)
    allowed_hosts: tuple[str, ...] = ()

    @field_validator("document_pattern", "attachment_pattern", "next_page_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _valid_regex(v)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"https?://[^/\s]+", v):
            raise ValueError(f"{v!r}: expected an http(s) URL of a listing page")
        return v


class CollectSettings(_Section):
    """The collectors: the drop folder, the web sources, and how politely and safely to fetch."""

    inbox: Path = Path("corpora/inbox")
    sources: tuple[Source, ...] = ()
    user_agent: str = "JointMeetingMiner/0.1 (+research; contact: see README)"
    timeout_s: float = Field(30.0, gt=0)
    max_file_mb: float = Field(50.0, gt=0)
    requests_per_second: float = Field(1.0, gt=0)
    respect_robots: bool = True
    max_redirects: int = Field(5, ge=0)
    retries: int = Field(3, ge=0)
    retry_delay_s: float = Field(2.0, ge=0)  # doubled after each retry
    #: JSON Lines records with such a title are multi-story bulletins: each story (a short headline line and its
    #: paragraphs) becomes a document of its own, id "<record id>-s<k>" (null: keep records whole)
    bulletin_titles: str | None = r"^\W*(?:\[标题\])?(?:国内|国际)?联播(?:国际)?(?:快讯|简讯)$"

    @field_validator("bulletin_titles")
    @classmethod
    def _bulletin_regex(cls, v: str | None) -> str | None:
        return _valid_regex(v or None)


class LabelSet(_Section):
    """A file of human labels (CODEBOOK §4 gold format); `split` keeps only its records with that `split`."""

    path: Path
    split: str | None = None


class TrainSettings(_Section):
    """`make train` / `jmm train`: the label sets the models are fitted on and the models' settings. Every
    figure it reports is cross-validated over these labels (folds by document)."""

    label_sets: tuple[LabelSet, ...] = (
        LabelSet(path=Path("../shared/corpora/dev/gold.jsonl")),
        LabelSet(path=Path("../shared/corpora/dev2/gold.jsonl"), split="train"),
        LabelSet(path=Path("corpora/sample/gold.jsonl")),
        LabelSet(path=Path("corpora/training/labels.jsonl")),
    )
    #: the news archive that label files giving only an `id` point into
    archive: Path | None = Path("../shared/corpora/xwlb/news.jsonl.gz")
    folds: int = Field(5, ge=2)
    seed: int = 0
    participants_c: float = Field(1.0, gt=0)  # inverse L2 strength of each logistic regression
    doc_class_c: float = Field(0.3, gt=0)
    depth_c: float = Field(0.3, gt=0)
    min_count: int = Field(2, ge=1)  # a feature seen in fewer training rows is dropped


class Deployment(_Section):
    name: str
    cron: str
    collect: bool = True
    paths: tuple[str, ...] = ()
    out: str = "out"


class ServeSettings(_Section):
    deployments: tuple[Deployment, ...] = ()


class Settings(_Section):
    """The whole configuration. Relative paths are resolved against the folder of config.yaml."""

    store: StoreSettings = StoreSettings()
    extract: ExtractSettings = ExtractSettings()
    segment: SegmentSettings = SegmentSettings()
    tag: TagSettings = TagSettings()
    topics: TopicSettings = TopicSettings()
    export: ExportSettings = ExportSettings()
    runner: RunnerSettings = RunnerSettings()
    collect: CollectSettings = CollectSettings()
    serve: ServeSettings = ServeSettings()
    train: TrainSettings = TrainSettings()
    base_dir: Path = Path(".")

    def path(self, p: Path | str) -> Path:
        """Resolve a path from the config against `base_dir`."""
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def hash(self) -> str:
        """SHA-256 of the settings (without base_dir), for manifests."""
        data = self.model_dump(mode="json", exclude={"base_dir"})
        return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Load config.yaml into Settings; an unknown key or a bad value raises ConfigError naming it."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
        base = path.resolve().parent
    for dotted, value in overrides.items():
        section, _, key = dotted.partition("__")
        data.setdefault(section, {})
        data[section] = {**data[section], key: value}
    data["base_dir"] = base
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path or 'settings'}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
