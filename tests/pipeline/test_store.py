import os

import duckdb
import pytest

from pipeline.errors import StoreError
from pipeline.records import Codes, Document, Evidence, Page, Participant, Tagged
from pipeline.store import RawStore, Store, sha256_file

TEXT = "长三角地区主要领导座谈会在芜湖召开，沪苏浙皖三省一市签署合作协议。"


def _doc(doc_id="a" * 64):
    return Document(doc_id, "x.txt", "座谈会", "2021-05-27", TEXT, (Page(1, TEXT),))


def _tagged(doc_id="a" * 64):
    p = Participant("上海市", "沪", 20, 21, "provincial", "310000", "上海市", "general", "signatory")
    return Tagged(doc_id, (p,), Codes("coordination_meeting_other", ("provincial",), ("上海市",),
                                      ("cross_regional",), depth=3,
                                      evidence=(Evidence("depth", "3", 28, 30, "签署"),)))


def test_raw_store_is_content_addressed_and_read_only(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(TEXT, encoding="utf-8")
    raw = RawStore(tmp_path / "raw")
    dest = raw.add_file(src)
    sha = sha256_file(src)
    assert dest == tmp_path / "raw" / sha[:2] / f"{sha}.txt"
    assert dest.read_text(encoding="utf-8") == TEXT
    assert not os.access(dest, os.W_OK) or os.geteuid() == 0
    assert oct(dest.stat().st_mode)[-3:] == "444"
    assert raw.add_file(src) == dest  # written once


def test_write_document_replaces_rows_in_one_transaction(tmp_path):
    with Store(tmp_path / "c.duckdb") as store:
        store.write_document(_doc(), ["长三角", "座谈会"], _tagged(), {"tag": "1"})
        store.write_document(_doc(), ["长三角"], _tagged(), {"tag": "2"})
        assert store.count("documents") == 1
        assert store.count("participants") == 1
        assert store.count("evidence") == 1
        assert store.versions() == {"a" * 64: {"tag": "2"}}
        assert list(store.iter_tokens()) == [("a" * 64, "2021-05-27", ["长三角"])]


def test_failed_write_leaves_no_half_document(tmp_path):
    class Boom(Exception):
        pass

    class FailingOnCodes:
        """The real connection, except that inserting the codes rows fails (mid-transaction)."""

        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args, **kw):
            if sql.startswith("INSERT INTO codes"):
                raise Boom()
            return self._con.execute(sql, *args, **kw)

        def __getattr__(self, name):
            return getattr(self._con, name)

    with Store(tmp_path / "c.duckdb") as store:
        store.write_document(_doc(), ["x"], _tagged(), {"tag": "1"})
        real = store._con
        store._con = FailingOnCodes(real)
        with pytest.raises(Boom):
            store.write_documents([(_doc(), ["y"], _tagged()), (_doc("b" * 64), ["z"], _tagged("b" * 64))],
                                  {"tag": "2"})
        store._con = real
        # neither document of the failed batch was written, and the first version is intact
        assert store.versions() == {"a" * 64: {"tag": "1"}}
        assert store.count("participants") == 1
        assert list(store.iter_tokens()) == [("a" * 64, "2021-05-27", ["x"])]


def test_bulk_write_matches_row_by_row(tmp_path):
    docs = [(_doc(c * 64), list("长三角"), _tagged(c * 64)) for c in "abc"]
    with Store(tmp_path / "one.duckdb") as one, Store(tmp_path / "bulk.duckdb") as bulk:
        for d in docs:
            one.write_document(*d, {"tag": "1"})
        bulk.write_documents(docs, {"tag": "1"})
        for table in ("documents", "pages", "tokens", "participants", "codes", "evidence"):
            q = f"SELECT * FROM {table} ORDER BY ALL"
            assert one.con.execute(q).fetchall() == bulk.con.execute(q).fetchall(), table


def test_quarantine_is_listed_with_reason(tmp_path):
    with Store(tmp_path / "c.duckdb") as store:
        store.quarantine("b" * 64, "broken.pdf", "broken.pdf: not a readable PDF", "extract")
        assert store.quarantined() == [{"file": "broken.pdf", "sha256": "b" * 64,
                                        "reason": "broken.pdf: not a readable PDF", "stage": "extract"}]


def test_second_writer_gets_a_clear_error(tmp_path):
    path = tmp_path / "c.duckdb"
    script = (f"import duckdb, time; c = duckdb.connect({str(path)!r}); c.execute('CREATE TABLE t(x INT)'); "
              "print('ready', flush=True); time.sleep(30)")
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another jmm process"):
            Store(path).open()
    finally:
        proc.kill()
        proc.wait()


def test_read_only_store_missing_is_explained(tmp_path):
    with pytest.raises(StoreError, match="run `jmm run PATH` first"):
        Store(tmp_path / "none.duckdb", read_only=True).open()


def test_a_store_made_before_skipped_files_were_recorded_is_read_as_it_is(tmp_path):
    """`jmm status` opens the store read-only, so an older store is not migrated: it has no `skipped` table."""
    path = tmp_path / "old.duckdb"
    with Store(path) as store:
        store.quarantine("ab" * 32, "x.pdf", "x.pdf: empty file (0 bytes)", "extract")
        store.con.execute("DROP TABLE skipped")
    with Store(path, read_only=True) as store:
        assert store.skipped() == []
        assert store.account() == {"seen": 1, "processed": 0, "quarantined": 1, "skipped": 0, "waiting": 0}
