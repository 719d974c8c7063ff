"""The collectors against a real HTTP server on 127.0.0.1 that imitates a government notice list: two listing
pages, relative links, a broken link, a redirect, an oversized file, a 500 that passes on retry, a robots.txt,
links and redirects that lead to another host or another private address, and hostile file names."""

from __future__ import annotations

import io
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline import collect
from pipeline.collect import Fetcher, RefusedError, Scope, TransientError
from pipeline.errors import CollectError
from pipeline.settings import CollectSettings, Source as SourceSettings
from pipeline.store import RawStore


def make_pdf(text: str) -> bytes:
    """A small real PDF with Chinese text (reportlab's built-in CID font, fixed output)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("STSong-Light", 12)
    y = 800
    for line in text.split("\n"):
        c.drawString(60, y, line)
        y -= 20
    c.save()
    return buf.getvalue()


NOTICES = {
    "a": "长三角地区生态环境保护协作联席会议第三次会议在上海召开\n上海市、江苏省、浙江省、安徽省生态环境厅参加会议。\n2021年5月20日",
    "b": "京津冀交通一体化联席会议召开\n北京市交通委员会、天津市交通运输委员会、河北省交通运输厅出席。\n2020年9月1日",
    "c": "泛珠三角区域合作行政首长联席会议在广州举行\n广东省人民政府、广西壮族自治区人民政府参加。\n2019年7月3日",
    "d": "成渝地区双城经济圈建设联席会议第一次会议召开\n重庆市人民政府、四川省人民政府出席会议。\n2020年4月2日",
    "e": "粤港澳大湾区建设领导小组办公室联席会议召开\n广东省发展和改革委员会参加会议。\n2022年3月8日",
}

HUGE = 32 * 1024 * 1024  # bytes; the tests cap at 0.1 MB, far below what socket buffers hold


class NoticeSite:
    """A threaded HTTP server on 127.0.0.1 serving an imitation notice list; counts requests per path."""

    def __init__(self) -> None:
        self.pdfs = {k: make_pdf(v) for k, v in NOTICES.items()}
        self.hits: dict[str, int] = {}
        self.conditional: list[str] = []
        self.huge_sent = 0
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def send(self, h: BaseHTTPRequestHandler, status: int, body: bytes = b"", ctype: str = "text/html",
             headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def page(self, body: str, head: str = "") -> bytes:
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告</title>{head}</head>'
                f"<body>{body}</body></html>").encode()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            n = self.hits[path]
        other = f"http://127.0.0.2:{self.port}"
        if path == "/robots.txt":
            return self.send(h, 200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path == "/notices/index.html":
            return self.send(h, 200, self.page(
                '<ul><li><a href="t20210520_1.html">长三角生态环境协作联席会议</a></li>'
                '<li><a href="../files/a.pdf">附件：会议纪要</a></li>'
                '<li><a href="/files/missing.pdf">已删除的附件</a></li>'
                '<li><a href="/files/moved.pdf">迁移的附件</a></li>'
                '<li><a href="/files/huge.pdf">超大附件</a></li>'
                '<li><a href="/files/flaky.pdf">不稳定的附件</a></li>'
                '<li><a href="/private/secret.pdf">内部文件</a></li>'
                f'<li><a href="{other}/files/a.pdf">另一个内网地址</a></li>'
                '<li><a href="http://www.example.com/files/x.pdf">外站附件</a></li>'
                '<li><a href="#top">顶部</a> <a href="mailto:x@example.com">邮件</a></li></ul>'
                '<a href="index_1.html">下一页</a>'))
        if path == "/notices/index_1.html":
            return self.send(h, 200, self.page(
                '<a href="t20200901_2.html">京津冀交通一体化联席会议</a>'
                '<a href="/files/c.pdf">附件</a><a href="/files/a-copy.pdf">同一份附件</a>'
                '<a href="/files/redirect-out.pdf">跳转到内网</a>'
                '<a href="index.html">上一页</a>'))
        if path == "/notices/t20210520_1.html":
            return self.send(h, 200, self.page(
                "<h1>长三角地区生态环境保护协作联席会议召开</h1><p>上海市、江苏省、浙江省、安徽省生态环境厅"
                "参加会议。会议审议通过了《长三角区域大气污染防治协作工作规则》。</p>"
                '<a href="/files/..%2F..%2Fevil.pdf?name=../../../etc/passwd">附件下载</a>',
                '<meta name="PubDate" content="2021-05-20 09:30">'))  # the page's date, as gov.cn sites give it
        if path == "/notices/t20200901_2.html":
            return self.send(h, 200, self.page(
                "<h1>京津冀交通一体化联席会议召开</h1><p>北京市交通委员会、天津市交通运输委员会、"
                "河北省交通运输厅出席会议，研究推进交通一体化。</p>"
                f'<a href="{other}/files/b.pdf">内网附件</a>'))
        if path == "/files/a.pdf" or path == "/files/a-copy.pdf":
            etag = '"a-v1"'
            if h.headers.get("If-None-Match") == etag:
                self.conditional.append(path)
                return self.send(h, 304, b"", "application/pdf", {"ETag": etag})
            return self.send(h, 200, self.pdfs["a"], "application/pdf", {"ETag": etag})
        if path == "/files/moved.pdf":
            return self.send(h, 302, b"", "text/html", {"Location": "/files/b.pdf"})
        if path == "/files/redirect-out.pdf":
            return self.send(h, 302, b"", "text/html", {"Location": f"{other}/files/a.pdf"})
        if path == "/files/b.pdf":
            return self.send(h, 200, self.pdfs["b"], "application/pdf")
        if path == "/files/c.pdf":
            return self.send(h, 200, self.pdfs["c"], "application/pdf")
        if path == "/files/flaky.pdf":
            if n == 1:
                return self.send(h, 500, b"internal error")
            return self.send(h, 200, self.pdfs["d"], "application/pdf")
        if path.startswith("/files/..%2F..%2Fevil.pdf"):
            return self.send(h, 200, self.pdfs["e"], "application/pdf",
                             {"Content-Disposition": 'attachment; filename="../../../evil.pdf"'})
        if path == "/files/huge.pdf":
            # no Content-Length: the cap must be enforced while streaming
            h.send_response(200)
            h.send_header("Content-Type", "application/pdf")
            h.send_header("Connection", "close")
            h.end_headers()
            chunk = b"%PDF-1.4\n" + b"0" * 8183
            try:
                for _ in range(HUGE // len(chunk) + 1):
                    h.wfile.write(chunk)
                    h.wfile.flush()
                    self.huge_sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if path.startswith("/private/"):
            return self.send(h, 200, self.pdfs["a"], "application/pdf")
        return self.send(h, 404, b"not found")


@pytest.fixture
def site():
    s = NoticeSite()
    yield s
    s.close()


def settings(**kw) -> CollectSettings:
    base = {"requests_per_second": 200.0, "timeout_s": 5.0, "max_file_mb": 0.1, "retries": 1, "retry_delay_s": 0.05}
    base.update(kw)
    return CollectSettings(**base)


def source(site: NoticeSite, **kw) -> SourceSettings:
    base = {"name": "notices", "url": f"{site.base}/notices/index.html", "document_pattern": r"/t\d{8}_\d+\.html$",
            "next_page_pattern": r"index_\d+\.html$", "max_pages": 3}
    base.update(kw)
    return SourceSettings(**base)


def test_listing_follows_pages_and_sorts_links(site, tmp_path):
    src = source(site)
    with Fetcher(settings(), RawStore(tmp_path / "raw")) as f:
        crawl = f.listing(src, Scope.of(src.url))
    assert [p.rsplit("/", 1)[1] for p in crawl.pages] == ["index.html", "index_1.html"]
    assert crawl.documents == (f"{site.base}/notices/t20210520_1.html", f"{site.base}/notices/t20200901_2.html")
    names = [a.rsplit("/", 1)[1] for a in crawl.attachments]
    assert names[:3] == ["a.pdf", "missing.pdf", "moved.pdf"]  # relative ../files/a.pdf resolved
    assert {"huge.pdf", "flaky.pdf", "secret.pdf", "c.pdf", "a-copy.pdf", "redirect-out.pdf"} <= set(names)
    refused = dict(crawl.refused)
    assert set(refused) == {f"http://127.0.0.2:{site.port}/files/a.pdf", "http://www.example.com/files/x.pdf"}
    assert all("outside the allowed hosts" in r for r in refused.values())


def test_documents_are_fetched_once_by_content_and_the_rules_hold(site, tmp_path):
    raw = RawStore(tmp_path / "raw")
    scope = Scope.of(f"{site.base}/notices/index.html")
    with Fetcher(settings(), raw, tmp_path / "state.json") as f:
        a = f.document(f"{site.base}/files/a.pdf", scope)
        copy = f.document(f"{site.base}/files/a-copy.pdf", scope)
        moved = f.document(f"{site.base}/files/moved.pdf", scope)
        missing = f.document(f"{site.base}/files/missing.pdf", scope)
        huge = f.document(f"{site.base}/files/huge.pdf", scope)
        secret = f.document(f"{site.base}/private/secret.pdf", scope)
        out = f.document(f"{site.base}/files/redirect-out.pdf", scope)
        with pytest.raises(TransientError, match="500"):
            f.document(f"{site.base}/files/flaky.pdf", scope)
        flaky = f.document(f"{site.base}/files/flaky.pdf", scope)
    assert a.status == "new" and a.kind == "pdf" and Path(a.path).read_bytes() == site.pdfs["a"]
    assert copy.status == "stored" and copy.sha256 == a.sha256  # same bytes from another URL: stored once
    assert moved.status == "new" and moved.final_url.endswith("/files/b.pdf")
    assert missing.status == "failed" and "404" in missing.reason
    assert huge.status == "refused" and "max_file_mb=0.1" in huge.reason
    assert site.huge_sent < HUGE // 2  # the download stopped, not the whole body read and then dropped
    assert secret.status == "refused" and "robots.txt" in secret.reason
    assert out.status == "refused" and "127.0.0.2" in out.reason and site.hits.get("/files/redirect-out.pdf") == 1
    assert flaky.status == "new" and site.hits["/files/flaky.pdf"] == 2
    assert sorted(p.name for p in (tmp_path / "raw").rglob("*.pdf")) == sorted(
        f"{x.sha256}.pdf" for x in (a, moved, flaky))
    assert a.fetched_at and a.url.endswith("/files/a.pdf")


def test_conditional_get_reuses_the_stored_copy(site, tmp_path):
    raw = RawStore(tmp_path / "raw")
    scope = Scope.of(site.base)
    with Fetcher(settings(), raw, tmp_path / "state.json") as f:
        first = f.document(f"{site.base}/files/a.pdf", scope)
    with Fetcher(settings(), raw, tmp_path / "state.json") as f:  # a later run, validators read from disk
        again = f.document(f"{site.base}/files/a.pdf", scope)
    assert site.conditional == ["/files/a.pdf"]
    assert again.status == "unchanged" and again.sha256 == first.sha256 and again.path == first.path


def test_hostile_names_never_choose_a_path(site, tmp_path):
    raw_root = tmp_path / "deep" / "raw"
    scope = Scope.of(site.base)
    with Fetcher(settings(), RawStore(raw_root)) as f:
        page = f.document(f"{site.base}/notices/t20210520_1.html", scope)
        [att], refused = f.attachments(page, source(site), scope)
        got = f.document(att, scope)
    assert page.kind == "html" and "..%2F" in att and not refused
    assert got.status == "new" and Path(got.path) == raw_root / got.sha256[:2] / f"{got.sha256}.pdf"
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert all(str(p).startswith(os.path.join("deep", "raw")) for p in written)
    assert not any("evil" in str(p) or "passwd" in str(p) for p in written)


def test_private_addresses_need_a_named_host(site, tmp_path):
    # the user named 127.0.0.1: allowed although loopback
    Scope.of(site.base).check(f"{site.base}/x.pdf")
    # another loopback address the user did not name: refused (and not contacted)
    with pytest.raises(RefusedError, match="outside the allowed hosts"):
        Scope.of(site.base).check(f"http://127.0.0.2:{site.port}/files/a.pdf")
    # naming it in allowed_hosts allows it
    Scope.of(site.base, ["127.0.0.2"]).check(f"http://127.0.0.2:{site.port}/files/a.pdf")
    # a host allowed only by a pattern must resolve to public addresses
    dns = {"files.example.gov.cn": ["127.0.0.1"], "www.example.gov.cn": ["93.184.216.34"],
           "intranet.example.gov.cn": ["93.184.216.34", "10.0.0.7"]}.__getitem__
    scope = Scope.of(f"{site.base}/notices/index.html", ["*.example.gov.cn"])
    scope.check("http://www.example.gov.cn/a.pdf", dns)
    for host in ("files.example.gov.cn", "intranet.example.gov.cn"):
        with pytest.raises(RefusedError, match="private or local address"):
            scope.check(f"http://{host}/a.pdf", dns)
    with pytest.raises(RefusedError, match="not an http"):
        scope.check("file:///etc/passwd")


def test_a_redirect_from_the_named_host_to_a_private_host_is_refused(site, tmp_path):
    # the site redirects to 127.0.0.2; even with a pattern that admits the name, its address is private
    dns = {"127.0.0.1": ["127.0.0.1"]}.get
    with Fetcher(settings(), RawStore(tmp_path / "raw"), resolve=lambda h: dns(h) or ["127.0.0.2"]) as f:
        got = f.document(f"{site.base}/files/redirect-out.pdf", Scope.of(site.base))
    assert got.status == "refused" and "127.0.0.2" in got.reason
    assert not any(k.startswith("/files/a.pdf") for k in site.hits)  # never fetched from anywhere


@pytest.mark.parametrize("address, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False), ("fc00::1", False),
    ("fe80::1%eth0", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("93.184.216.34", True),
    ("2606:4700::1111", True)])
def test_is_public(address, public):
    assert collect.is_public(address) is public


def test_rate_limit_spaces_requests_to_one_host(site, tmp_path):
    import time

    scope = Scope.of(site.base)
    with Fetcher(settings(requests_per_second=10.0, respect_robots=False), RawStore(tmp_path / "raw")) as f:
        t0 = time.monotonic()
        for name in ("b", "c", "a"):
            f.document(f"{site.base}/files/{name}.pdf", scope)
        elapsed = time.monotonic() - t0
    assert elapsed >= 0.2  # three requests, two gaps of 0.1 s


def test_inbox_leaves_out_links_that_lead_outside(tmp_path):
    box = tmp_path / "inbox"
    (box / "sub").mkdir(parents=True)
    (box / "sub" / "note.txt").write_text("京津冀协同发展联席会议", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("不应读取", encoding="utf-8")
    (box / "link.txt").symlink_to(outside)
    (box / "ignored.bin").write_bytes(b"\0")
    assert collect.inbox(box) == [box / "sub" / "note.txt"]
    assert collect.inbox(tmp_path / "absent") == []


def test_kind_of_response_trusts_bytes_over_names():
    assert collect.kind_of_response("http://h/x.html", "text/html", b"%PDF-1.7") == "pdf"
    assert collect.kind_of_response("http://h/x.pdf", "application/pdf", b"<html>") is None
    assert collect.kind_of_response("http://h/x.doc", "application/msword", b"\xd0\xcf") is None  # not OLE2
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"
    assert collect.kind_of_response("http://h/x.doc", "application/msword", ole) == "doc"
    assert collect.kind_of_response("http://h/x.wps", "application/msword", ole) == "wps"  # the name decides
    assert collect.kind_of_response("http://h/x.xls", "application/octet-stream", ole) == "xls"
    assert collect.kind_of_response("http://h/x.ofd", "application/octet-stream", b"PK\x03\x04") == "ofd"
    assert collect.kind_of_response("http://h/x.doc", "text/html", b"<html>") is None  # an error page
    assert collect.kind_of_response("http://h/x", "text/html; charset=gbk", b"<html>") == "html"


def test_bad_source_settings_are_named():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        SourceSettings(name="x", url="http://h/", document_pattern="(")
    with pytest.raises(ValueError, match="expected an http"):
        SourceSettings(name="x", url="ftp://h/")
    assert issubclass(RefusedError, CollectError)


def test_walking_a_folder_leaves_its_gold_file_out(tmp_path):
    from pipeline.collect import files

    (tmp_path / "a.txt").write_text("长三角地区主要领导座谈会在芜湖召开。", encoding="utf-8")
    (tmp_path / "gold.jsonl").write_text('{"id": "a", "text": "x", "gold": {}}\n', encoding="utf-8")
    (tmp_path / "news.jsonl").write_text('{"id": "b", "text": "长三角"}\n', encoding="utf-8")
    assert [p.name for p in files([tmp_path])] == ["a.txt", "news.jsonl"]
    assert [p.name for p in files([tmp_path / "gold.jsonl"])] == ["gold.jsonl"]  # named explicitly: taken


def test_the_collector_connects_to_the_address_it_checked(site, tmp_path):
    """Pinned resolution: a host name only the collector's resolver knows, which answers 127.0.0.1 the first time
    and 127.0.0.2 (where nothing listens) after. The host is resolved once, by the check, and every request
    (robots.txt, the listing, a document) reaches the site at the address checked."""
    calls = []

    def resolve(host: str) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["127.0.0.2"]

    base = f"http://notices.jmm-test.invalid:{site.port}"
    scope = Scope.of(f"{base}/notices/index.html")
    with Fetcher(settings(), RawStore(tmp_path / "raw"), resolve=resolve) as f:
        _final, html = f.page(f"{base}/notices/index.html", scope)
        fetch = f.document(f"{base}/files/c.pdf", scope)
    assert "t20210520_1.html" in html and fetch.status == "new", fetch.reason
    assert calls == ["notices.jmm-test.invalid"]
    assert site.hits["/robots.txt"] == 1 and site.hits["/files/c.pdf"] == 1


def test_a_host_that_rebinds_to_a_private_address_never_reaches_it(site, tmp_path, monkeypatch):
    """DNS rebinding: a host allowed by a pattern (public addresses only) answers a public address to the check
    and 127.0.0.1 afterwards. The connection goes to the public address checked (refused here: the test stays
    offline), never to the private one: the site on 127.0.0.1 gets no request."""
    import httpcore

    calls, attempts = [], []

    def resolve(host: str) -> list[str]:
        calls.append(host)
        return ["93.184.216.34"] if len(calls) == 1 else ["127.0.0.1"]

    def offline(self, host, port, *args, **kwargs):  # the socket layer under the pinned backend
        attempts.append((host, port))
        raise httpcore.ConnectError("offline test")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", offline)
    scope = Scope.of(f"{site.base}/notices/index.html", ["*.gov.test"])
    with Fetcher(settings(respect_robots=False), RawStore(tmp_path / "raw"), resolve=resolve) as f:
        for _ in range(2):
            with pytest.raises(TransientError):
                f.document(f"http://www.gov.test:{site.port}/files/c.pdf", scope)
    assert calls == ["www.gov.test"]
    assert attempts == [("93.184.216.34", site.port)] * 2
    assert site.hits == {}
