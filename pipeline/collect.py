"""Find the inputs of a batch: files in folders, a drop folder (the inbox), and documents fetched from
configured web sources, each identified by the SHA-256 of its bytes; JSON Lines files expand to one source
per record.

The web collector stays inside the hosts the user named: links and redirects to other hosts are not
followed, private and loopback addresses are refused unless the user named that host, responses are capped
while they stream, and fetched bytes are stored by content hash, never under a name taken from the URL."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from pipeline import convert
from pipeline.errors import CollectError
from pipeline.records import Source
from pipeline.settings import CollectSettings, Source as SourceSettings
from pipeline.store import RawStore, sha256_bytes, sha256_file

log = logging.getLogger(__name__)

KINDS = {".pdf": "pdf", ".txt": "txt", ".text": "txt", ".md": "txt", ".html": "html", ".htm": "html",
         ".docx": "docx", ".jsonl": "jsonl", ".ndjson": "jsonl", **convert.SUFFIXES}


def kind_of(path: Path) -> str | None:
    """The input kind of a file from its name (`x.jsonl.gz` is JSON Lines), or None if not a document. Office
    kinds (pipeline/convert.py) are documents too, read through a converter or quarantined as unreadable."""
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".ndjson.gz")):
        return "jsonl"
    return KINDS.get(path.suffix.lower())


def is_gold_file(path: Path) -> bool:
    """Whether a JSON Lines file is an annotation (gold) file rather than documents: named `gold.jsonl` or
    `*.gold.jsonl`. Walking a folder skips these, so a corpus can keep its gold file beside its documents."""
    name = path.name.lower()
    return name in ("gold.jsonl", "gold.jsonl.gz") or name.endswith((".gold.jsonl", ".gold.jsonl.gz"))


@dataclass(frozen=True, slots=True)
class Walk:
    """The files a walk found, sorted, each once; and the files it left out by rule, with the rule."""

    files: tuple[Path, ...] = ()
    skipped: tuple[tuple[Path, str], ...] = ()


def skip_rule(path: Path) -> str | None:
    """Why a file found in a folder is left out (a hidden file, a gold file, not a document), or None."""
    if path.name.startswith("."):
        return "hidden file"
    if is_gold_file(path):
        return "annotation (gold) file, not a document"
    if path.name == "metadata.csv":
        return "the folder's metadata (dates, URLs, titles of its files), read as such, not a document"
    if kind_of(path) is None:
        return f"not a document kind ({path.suffix.lower() or 'no suffix'})"
    return None


def walk(paths: Iterable[Path | str]) -> Walk:
    """Walk files and folders: the documents, sorted, each once, and the files of a folder left out by a rule
    (`skip_rule`). A file named on its own is always taken (a kind jmm cannot read is then quarantined by the
    run, saying why). A missing path is an error."""
    out: set[Path] = set()
    skipped: dict[Path, str] = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    rule = skip_rule(f)
                    if rule is None:
                        out.add(f)
                    else:
                        skipped.setdefault(f, rule)
        elif p.is_file():
            out.add(p)
        else:
            raise CollectError(f"{p}: no such file or folder")
    return Walk(tuple(sorted(out)), tuple(sorted((f, r) for f, r in skipped.items() if f not in out)))


def files(paths: Iterable[Path | str]) -> list[Path]:
    """The documents of `walk(paths)`, sorted."""
    return list(walk(paths).files)


def record_id(obj: dict[str, Any]) -> str:
    """SHA-256 of a JSON Lines record's canonical JSON (sorted keys, UTF-8): its doc_id."""
    canon = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def read_records(path: Path | str, only: Container[int] | None = None,
                 progress: Callable[[int], None] | None = None
                 ) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, record, error) for each non-blank line of a JSON Lines file (optionally gzipped);
    a line that is not a JSON object gives (n, None, reason). With `only`, lines not in it are skipped
    without being decoded or parsed, and reading stops after the last of them. `progress` is told the bytes
    of the file read so far (compressed bytes of a .gz), every 1,000 lines."""
    path = Path(path)
    gz = path.name.lower().endswith(".gz")
    last = max(only) if only else None
    try:
        with (gzip.open if gz else open)(path, "rb") as f:
            where = f.fileobj.tell if gz else f.tell  # type: ignore[attr-defined]
            for n, raw in enumerate(f):
                if progress is not None and n % 1000 == 0:
                    progress(where())
                if last is not None and n > last:
                    break
                if only is not None and n not in only:
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield n, None, f"line {n + 1}: not UTF-8 ({exc.reason} at byte {exc.start})"
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, None, f"line {n + 1}: invalid JSON ({exc.msg} at column {exc.colno})"
                    continue
                if not isinstance(obj, dict):
                    yield n, None, f"line {n + 1}: expected a JSON object, got {type(obj).__name__}"
                    continue
                yield n, obj, None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CollectError(f"{path}: cannot read JSON Lines ({exc})") from exc


#: the lead-in line of a broadcast transcript (央视网消息（新闻联播）：, 中国网络电视台消息:)
_LEAD_IN = re.compile(r"^(?:(?:央视网|中国网络电视台)(?:消息)?(?:[（(]新闻联播[)）])?(?:消息)?|[（(]?新闻联播[)）]?)\s*[:：]?\s*$")
_SENTENCE_END = re.compile(r"[。！？；]$")


def stories(record: dict[str, Any], bulletin_titles: str | None) -> list[dict[str, Any]] | None:
    """The stories of a multi-story bulletin record (its title matches `bulletin_titles`), or None for a record
    to keep whole. A story is a headline line (at most 40 characters, no sentence end) and the paragraphs up to
    the next headline; the lead-in line (央视网消息（新闻联播）：) is dropped. Each story is a record of its own:
    id "<id>-s<k>" (k from 0), the headline as title, headline and paragraphs as text, the other fields kept and
    `bulletin` naming the record it came from. A bulletin that does not start with a headline, or has fewer
    than two stories, is kept whole (nothing is dropped)."""
    title, text = record.get("title"), record.get("text")
    if not bulletin_titles or not isinstance(title, str) or not isinstance(text, str) or \
            not re.search(bulletin_titles, title.strip()):
        return None
    lines = [x.strip() for x in text.split("\n") if x.strip()]
    if lines and _LEAD_IN.match(lines[0]):
        lines = lines[1:]
    heads = [i for i, x in enumerate(lines[:-1]) if len(x) <= 40 and not _SENTENCE_END.search(x)]
    heads = [i for i in heads if i + 1 not in heads or len(lines[i + 1]) > 40]  # a headline heads a paragraph
    if len(heads) < 2 or heads[0] != 0:
        return None
    parent = str(record.get("id") or record_id(record)[:16])
    out = []
    for k, i in enumerate(heads):
        j = heads[k + 1] if k + 1 < len(heads) else len(lines)
        out.append({**record, "id": f"{parent}-s{k}", "title": lines[i], "text": "\n".join(lines[i:j]),
                    "bulletin": parent})
    return out


def sources(path: Path, *, bulletin_titles: str | None, progress: Callable[[int], None] | None = None
            ) -> Iterator[tuple[Source, dict[str, Any] | None, str | None]]:
    """Yield (source, record, error) for one input file: one source for a document file, one per line of a
    JSON Lines file, one per story of a bulletin record (`stories`; every command passes
    `collect.bulletin_titles`, so they all see the same documents). `error` is set for a line that cannot be a
    document; `progress` hears of the bytes read (see `read_records`)."""
    kind = kind_of(path)
    if kind == "jsonl":
        for n, obj, err in read_records(path, progress=progress):
            if obj is None:
                raw = f"{path}:{n}".encode()
                yield Source(hashlib.sha256(raw).hexdigest(), str(path), "jsonl-record", n), None, err
            elif (parts := stories(obj, bulletin_titles)) is not None:
                for k, story in enumerate(parts):
                    yield Source(record_id(story), str(path), "jsonl-record", n, part=k), story, None
            else:
                yield Source(record_id(obj), str(path), "jsonl-record", n), obj, None
    elif kind is not None:
        yield Source(sha256_file(path), str(path), kind), None, None
    else:
        raise CollectError(f"{path}: unsupported file type")


# -- the drop folder ---------------------------------------------------------------------------------------

def inbox_walk(folder: Path | str) -> Walk:
    """The documents in a drop folder, sorted, and the files left out by rule. A symbolic link that leads
    outside the folder is left out too (and logged), so a file name can never make a run read elsewhere. A
    missing folder gives nothing."""
    folder = Path(folder)
    if not folder.is_dir():
        return Walk()
    root = folder.resolve()
    found = walk([folder])
    out, skipped = [], list(found.skipped)
    for f in found.files:
        real = f.resolve()
        if not real.is_relative_to(root):
            log.warning("%s: leads outside the inbox %s (to %s); left out", f, folder, real)
            skipped.append((f, f"symbolic link leading outside the inbox (to {real})"))
            continue
        out.append(f)
    return Walk(tuple(out), tuple(sorted(skipped)))


def inbox(folder: Path | str) -> list[Path]:
    """The documents in a drop folder, sorted (see `inbox_walk`)."""
    return list(inbox_walk(folder).files)


# -- the web -----------------------------------------------------------------------------------------------

class TransientError(CollectError):
    """A fetch that may succeed when tried again: a 5xx or 429 answer, a timeout, a broken connection."""


class RefusedError(CollectError):
    """A URL the collector will not fetch: another host, a private address, robots.txt, too large."""


#: Stored file suffix of each kind a collector may store; file names and URLs never choose a path.
SUFFIXES = {"pdf": ".pdf", "html": ".html", "docx": ".docx", "txt": ".txt",
            **{kind: suffix for suffix, kind in convert.SUFFIXES.items()}}
_TYPES = {"application/pdf": "pdf", "application/x-pdf": "pdf", "text/html": "html",
          "application/xhtml+xml": "html", "text/plain": "txt",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
          "application/msword": "doc", "application/vnd.ms-word": "doc", "application/kswps": "wps",
          "application/vnd.ms-works": "wps", "application/wps-office.wps": "wps", "application/rtf": "rtf",
          "text/rtf": "rtf", "application/vnd.oasis.opendocument.text": "odt", "application/vnd.ms-excel": "xls",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
          "application/vnd.oasis.opendocument.spreadsheet": "ods", "application/ofd": "ofd",
          "application/vnd.ms-powerpoint": "ppt",
          "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx"}
#: The container each stored office kind must be in (checked on the first bytes): OLE2, ZIP or RTF.
_OLE, _ZIP, _RTF = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK", b"{\\rtf"
_CONTAINERS = {"docx": _ZIP, "xlsx": _ZIP, "pptx": _ZIP, "odt": _ZIP, "ods": _ZIP, "ofd": _ZIP, "doc": _OLE,
               "wps": _OLE, "xls": _OLE, "et": _OLE, "ppt": _OLE, "dps": _OLE, "rtf": _RTF}


@dataclass(frozen=True, slots=True)
class Fetch:
    """What fetching one document URL gave. `status`: new (stored now), stored (same bytes stored before),
    unchanged (the server said 304), refused (not fetched, by rule), failed (fetched, unusable)."""

    url: str
    status: str
    sha256: str | None = None
    path: str | None = None
    kind: str | None = None
    fetched_at: str | None = None
    final_url: str | None = None
    reason: str = ""
    links: tuple[str, ...] = ()
    page_date: str | None = None  # the publication date of an HTML page (`page_date`); for an attachment, of
                                  # the page that links to it (set by the collect flow)


@dataclass(frozen=True, slots=True)
class Crawl:
    """The links a listing gave: document pages, attachments, and links refused (with the reason)."""

    source: str
    pages: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, reserved,
    shared, unspecified and multicast addresses (and IPv4 addresses mapped into IPv6 that are such)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_host(host: str) -> list[str]:
    """The IP addresses a host name resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]")).compressed]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TransientError(f"{host}: cannot resolve the host name ({exc})") from exc
    return sorted({str(i[4][0]) for i in infos})


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class Scope:
    """The hosts one source may reach. `named` hosts were written by the user (the source's URL, an exact
    entry of allowed_hosts, `jmm collect --url`) and may be private addresses; hosts matched only by a
    pattern (`*.gov.cn`) must resolve to public addresses."""

    named: frozenset[str]
    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, url: str, allowed_hosts: Iterable[str] = ()) -> Scope:
        named = {_host(url)}
        patterns = []
        for h in allowed_hosts:
            h = h.lower().strip().rstrip(".")
            if h.startswith("*."):
                patterns.append(h)
            else:
                named.add(h)
        return cls(frozenset(n for n in named if n), tuple(patterns))

    def admits(self, url: str) -> bool:
        """True if the URL is http(s) on a host of this scope (no address check)."""
        parts = urlsplit(url)
        host = _host(url)
        if parts.scheme not in ("http", "https") or not host:
            return False
        return host in self.named or any(host.endswith(p[1:]) for p in self.patterns)

    def check(self, url: str, resolve: Callable[[str], list[str]] = resolve_host) -> list[str]:
        """Raise RefusedError unless the URL may be fetched: http(s), an allowed host, and (for a host the
        user did not name) only public addresses. Return the addresses checked: the only ones to connect to."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise RefusedError(f"{url}: not an http(s) URL")
        host = _host(url)
        if not self.admits(url):
            raise RefusedError(f"{url}: host {host!r} is outside the allowed hosts "
                               f"({', '.join(sorted(self.named) + list(self.patterns))})")
        addresses = resolve(host)
        if not addresses:
            raise TransientError(f"{url}: host {host!r} resolves to no address")
        if host in self.named:
            return addresses
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise RefusedError(f"{url}: host {host!r} resolves to a private or local address "
                               f"({', '.join(private)}); only a host named in the configuration may")
        return addresses


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area", "iframe", "embed"):
            for k, v in attrs:
                if k in ("href", "src") and v:
                    self.hrefs.append(v.strip())


def links(html: str, base_url: str) -> list[str]:
    """The http(s) links of a page, resolved against `base_url`, without fragments, each once, in order."""
    p = _Links()
    p.feed(html)
    out: dict[str, None] = {}
    for href in p.hrefs:
        if href.lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        url = urldefrag(urljoin(base_url, href))[0]
        if urlsplit(url).scheme in ("http", "https"):
            out.setdefault(url, None)
    return list(out)


def kind_of_response(url: str, content_type: str | None, head: bytes) -> str | None:
    """The kind of fetched bytes (pdf, html, txt, or an office kind: docx, doc, wps, xls, ofd…) from their
    first bytes, the Content-Type and the URL path, or None if the collector does not store that kind. An
    office kind is stored only when the bytes are in its container (OLE2, ZIP or RTF); the run then converts it
    or quarantines it, saying why (pipeline/convert.py)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    ctype = (content_type or "").split(";")[0].strip().lower()
    suffix = Path(urlsplit(url).path).suffix.lower()
    by_name = {"docx": "docx", **{k: k for k in convert.KINDS | set(convert.UNREADABLE)}}.get(suffix[1:])
    for kind in (by_name, _TYPES.get(ctype)):  # the file name first: servers send application/msword for .wps
        if kind in _CONTAINERS:
            return kind if head.startswith(_CONTAINERS[kind]) else None
    if ctype in _TYPES:
        kind = _TYPES[ctype]
        return None if kind == "pdf" else kind
    if suffix in (".html", ".htm", ".shtml") or head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    if suffix == ".txt":
        return "txt"
    return None


def _decode(data: bytes, content_type: str | None) -> str:
    charset = None
    for part in (content_type or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset":
            charset = v.strip().strip('"')
    m = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", data[:4096], re.I)
    for enc in filter(None, (charset, m.group(1).decode() if m else None, "utf-8", "gb18030")):
        try:
            return data.decode("gb18030" if enc.lower() in ("gb2312", "gbk") else enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def page_date(html: str) -> str | None:
    """The publication date of a web page (ISO), as htmldate finds it in its metadata, URL-less markup and text
    (original date, not the last change); None when it finds none. The page is parsed here: nothing is fetched."""
    from htmldate import find_date
    from lxml import html as lxml_html
    from lxml.etree import ParserError

    try:
        tree = lxml_html.fromstring(html)
    except (ParserError, ValueError):
        return None
    try:
        return find_date(tree, original_date=True, outputformat="%Y-%m-%d", extensive_search=True)
    except Exception:  # noqa: BLE001 - a page htmldate cannot read has no date, the document is still stored
        log.debug("htmldate failed on a page", exc_info=True)
        return None


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting to the addresses the collector checked for a host (`pins`) and to
    nothing else: no second DNS lookup between the check and the connection, so a name that answers a public
    address to the check and a private one to the connection (DNS rebinding) cannot lead the collector inside.
    TLS still verifies the certificate against the host name (httpcore passes the name, not the address)."""

    def __init__(self) -> None:
        self.pins: dict[str, list[str]] = {}

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = self.pins.get(host.lower().strip("[]").rstrip("."))
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no checked address to connect to")
        for i, address in enumerate(addresses):  # every one was checked; the first that answers
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if i == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class Fetcher:
    """An HTTP client for the collectors: a user agent, robots.txt, a per-host rate limit, timeouts,
    conditional GET, a size cap enforced while streaming, and redirects followed only inside a Scope.
    Documents are stored in a RawStore by content hash; the URL never chooses a path. Each host is resolved
    once, by the scope's check, and connections go to the addresses checked (`PinnedBackend`).

    Failures that may pass raise TransientError (the flow retries them); everything else is reported."""

    def __init__(self, settings: CollectSettings, raw: RawStore, state_path: Path | str | None = None,
                 resolve: Callable[[str], list[str]] = resolve_host) -> None:
        self.settings = settings
        self.raw = raw
        self.state_path = Path(state_path) if state_path else None
        self.resolve = resolve
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self.backend = PinnedBackend()
        transport = httpx.HTTPTransport()
        pool = getattr(transport, "_pool", None)
        if not hasattr(pool, "_network_backend"):  # httpx and httpcore keep it there since httpx 0.18
            raise CollectError("this httpx/httpcore cannot connect to checked addresses only (no network backend "
                               "to replace); install the versions in requirements.lock")
        pool._network_backend = self.backend  # type: ignore[union-attr]
        self.client = httpx.Client(headers={"User-Agent": settings.user_agent}, follow_redirects=False,
                                   timeout=httpx.Timeout(settings.timeout_s), trust_env=False, transport=transport)
        self._last: dict[str, float] = {}
        self._robots: dict[str, RobotFileParser | None] = {}
        self._delay: dict[str, float] = {}
        self.state: dict[str, dict[str, str]] = self.read_state()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.write_state()
        self.client.close()

    # -- state: validators for conditional GET --------------------------------------------------------
    def read_state(self) -> dict[str, dict[str, str]]:
        if self.state_path is None or not self.state_path.is_file():
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("%s: unreadable fetch state, starting afresh (%s)", self.state_path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def write_state(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, sort_keys=True, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    # -- politeness -----------------------------------------------------------------------------------
    def _wait(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        gap = max(1.0 / self.settings.requests_per_second, self._delay.get(host, 0.0))
        last = self._last.get(host)
        if last is not None:
            pause = last + gap - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self._last[host] = time.monotonic()

    def allowed_by_robots(self, url: str, scope: Scope) -> bool:
        """Whether robots.txt of the URL's site lets this user agent fetch it (a missing robots.txt allows
        all; one that cannot be read because of a server error disallows all, as RFC 9309 says)."""
        if not self.settings.respect_robots:
            return True
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._robots:
            rp: RobotFileParser | None = RobotFileParser(site + "/robots.txt")
            try:
                resp, body = self._get(site + "/robots.txt", scope, robots=False)
                if resp.status_code >= 400 or body is None:
                    rp = None  # no robots.txt: everything allowed
                else:
                    rp.parse(_decode(body, resp.headers.get("content-type")).splitlines())  # type: ignore[union-attr]
                    delay = rp.crawl_delay(self.settings.user_agent)  # type: ignore[union-attr]
                    if delay:
                        self._delay[parts.netloc.lower()] = float(delay)
            except TransientError:
                rp = RobotFileParser(site + "/robots.txt")
                rp.disallow_all = True
            except RefusedError:
                rp = None
            self._robots[site] = rp
        rp = self._robots[site]
        return True if rp is None else rp.can_fetch(self.settings.user_agent, url)

    # -- requests ---------------------------------------------------------------------------------------
    def _get(self, url: str, scope: Scope, headers: dict[str, str] | None = None,
             robots: bool = True) -> tuple[httpx.Response, bytes | None]:
        """GET a URL inside the scope, following redirects only inside it; return the last response and
        its body (None for 304 or an error status), read while streaming up to the size cap."""
        for _ in range(self.settings.max_redirects + 1):
            self._pin(url, scope)
            if robots and not self.allowed_by_robots(url, scope):
                raise RefusedError(f"{url}: disallowed by robots.txt for {self.settings.user_agent!r}")
            self._wait(url)
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code in (301, 302, 303, 307, 308):
                        location = resp.headers.get("location", "")
                        if not location:
                            raise CollectError(f"{url}: redirect ({resp.status_code}) without a Location")
                        url = urljoin(url, location)
                        continue
                    if resp.status_code >= 500 or resp.status_code == 429:
                        raise TransientError(f"{url}: server answered {resp.status_code}")
                    if resp.status_code == 304 or resp.status_code >= 400:
                        return resp, None
                    length = resp.headers.get("content-length")
                    if length and length.isdigit() and int(length) > self.max_bytes:
                        raise RefusedError(f"{url}: {int(length) / 1e6:.1f} MB announced, over collect."
                                           f"max_file_mb={self.settings.max_file_mb:g}")
                    buf = bytearray()
                    for chunk in resp.iter_bytes():
                        buf += chunk
                        if len(buf) > self.max_bytes:
                            raise RefusedError(f"{url}: more than collect.max_file_mb="
                                               f"{self.settings.max_file_mb:g} MB sent; download stopped")
                    return resp, bytes(buf)
            except httpx.TimeoutException as exc:
                raise TransientError(f"{url}: timed out after {self.settings.timeout_s:g} s") from exc
            except httpx.TransportError as exc:
                raise TransientError(f"{url}: {type(exc).__name__}: {exc}") from exc
        raise RefusedError(f"{url}: more than collect.max_redirects={self.settings.max_redirects} redirects")

    def _pin(self, url: str, scope: Scope) -> None:
        """Check the URL against the scope, resolving its host once per fetcher, and pin the addresses checked."""
        host = _host(url)
        if host not in self.backend.pins:
            self.backend.pins[host] = sorted(scope.check(url, self.resolve), key=lambda a: (":" in a, a))  # IPv4 first
        else:
            scope.check(url, lambda _h: self.backend.pins[host])

    def page(self, url: str, scope: Scope) -> tuple[str, str]:
        """Fetch an HTML page (a listing); return (final URL, text). A 4xx answer is a CollectError."""
        resp, body = self._get(url, scope)
        if body is None:
            raise CollectError(f"{url}: server answered {resp.status_code}")
        return str(resp.url), _decode(body, resp.headers.get("content-type"))

    def document(self, url: str, scope: Scope) -> Fetch:
        """Fetch one document into the raw store (conditional GET when fetched before). Refusals and
        permanent failures are returned as a Fetch; a TransientError is raised for the caller to retry."""
        known = self.state.get(url)
        headers = {}
        if known and known.get("path") and Path(known["path"]).exists():
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        try:
            resp, body = self._get(url, scope, headers)
        except TransientError:
            raise
        except RefusedError as exc:
            return Fetch(url, "refused", reason=str(exc))
        except CollectError as exc:
            return Fetch(url, "failed", reason=str(exc))
        final = str(resp.url)
        if resp.status_code == 304 and known:
            return Fetch(url, "unchanged", known["sha256"], known["path"], known.get("kind"), _now(), final)
        if body is None:
            return Fetch(url, "failed", final_url=final, reason=f"{url}: server answered {resp.status_code}")
        if not body:
            return Fetch(url, "failed", final_url=final, reason=f"{url}: empty response")
        ctype = resp.headers.get("content-type")
        kind = kind_of_response(final, ctype, body[:64])
        if kind is None:
            return Fetch(url, "refused", final_url=final,
                         reason=f"{url}: content type {ctype!r} is not one the collector stores "
                                f"({', '.join(SUFFIXES)})")
        dest = self.raw.path_for(sha256_bytes(body), SUFFIXES[kind])
        status = "stored" if dest.exists() else "new"
        sha, path = self.raw.add_bytes(body, SUFFIXES[kind])
        found = tuple(links(_decode(body, ctype), final)) if kind == "html" else ()
        published = page_date(_decode(body, ctype)) if kind == "html" else None
        validators = {k: v for k, v in (("etag", resp.headers.get("etag")),
                                        ("last_modified", resp.headers.get("last-modified"))) if v}
        self.state[url] = {"sha256": sha, "path": str(path), "kind": kind, **validators}
        return Fetch(url, status, sha, str(path), kind, _now(), final, links=found, page_date=published)

    def listing(self, source: SourceSettings, scope: Scope) -> Crawl:
        """Walk a source's listing pages (following next_page_pattern up to max_pages) and sort their links
        into document pages and attachments; links that match but lie outside the scope are refused."""
        doc_re = re.compile(source.document_pattern) if source.document_pattern else None
        att_re = re.compile(source.attachment_pattern, re.I)
        next_re = re.compile(source.next_page_pattern) if source.next_page_pattern else None
        pages: list[str] = []
        docs: dict[str, None] = {}
        atts: dict[str, None] = {}
        refused: dict[str, str] = {}
        url: str | None = source.url
        while url and len(pages) < source.max_pages and url not in pages:
            final, html = self.page(url, scope)
            pages.append(url)
            url = None
            for link in links(html, final):
                if next_re and next_re.search(link) and link not in pages and url is None:
                    if scope.admits(link):
                        url = link
                    continue
                target = atts if att_re.search(urlsplit(link).path) else (
                    docs if doc_re and doc_re.search(link) else None)
                if target is None:
                    continue
                if not scope.admits(link):
                    refused.setdefault(link, f"{link}: host {_host(link)!r} is outside the allowed hosts")
                    continue
                target.setdefault(link, None)
        return Crawl(source.name, tuple(pages), tuple(docs), tuple(atts), tuple(refused.items()))

    def attachments(self, fetch: Fetch, source: SourceSettings, scope: Scope) -> tuple[list[str], list[tuple[str, str]]]:
        """The attachment links of a fetched document page, and those refused as outside the scope."""
        att_re = re.compile(source.attachment_pattern, re.I)
        keep, refused = [], []
        for link in fetch.links:
            if att_re.search(urlsplit(link).path):
                if scope.admits(link):
                    keep.append(link)
                else:
                    refused.append((link, f"{link}: host {_host(link)!r} is outside the allowed hosts"))
        return keep, refused


def write_fetch_log(path: Path | str, fetches: Iterable[Fetch]) -> None:
    """Append one JSON line per fetch (url, final_url, status, sha256, kind, fetched_at, reason) to the
    provenance log; every URL a document came from stays on record, also when its bytes were stored before."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for x in fetches:
            f.write(json.dumps({"url": x.url, "final_url": x.final_url, "status": x.status, "sha256": x.sha256,
                                "kind": x.kind, "fetched_at": x.fetched_at, "reason": x.reason,
                                "page_date": x.page_date},
                               ensure_ascii=False, sort_keys=True) + "\n")
