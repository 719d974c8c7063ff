"""The export and report flows on a real store: files written, Prefect artifacts published; the progress display
writes plain lines when its output is not a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.pipeline.test_export import make_store


@pytest.fixture
def settings(settings_factory):
    from flows.mine import store_path

    s = settings_factory()
    store_path(s).parent.mkdir(parents=True, exist_ok=True)
    make_store(store_path(s))
    return s


def _artifact(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      sort=ArtifactSort.CREATED_DESC, limit=1)
    assert found, f"no Prefect artifact {key!r}"
    return found[0]


def test_export_and_report_flows_write_files_and_publish_artifacts(prefect_harness, settings, tmp_path) -> None:
    from flows.publish import export_flow, report_flow

    out = tmp_path / "out"
    summary = export_flow(out=str(out), formats=["csv", "parquet"], settings=settings)
    assert summary["tables"]["participants"] == 11
    assert (out / "edges.csv").is_file() and (out / "network.graphml").is_file()
    assert not (out / "tables.xlsx").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == ["csv", "parquet"] and manifest["topic_fit"] == "fit1"
    assert {i["path"] for i in manifest["inputs"]} == {f"corpus/{c * 4}.pdf" for c in "abcd"}
    assert manifest["stopwords_version"] and manifest["gazetteer_version"]
    counts = _artifact("jmm-run-counts")
    assert {"what": "rows of edges", "count": summary["tables"]["edges"]} in json.loads(counts.data)

    summary = report_flow(out=str(out), settings=settings)
    assert Path(summary["report"]).is_file()
    link = _artifact("jmm-run-report")
    assert (out / "report.html").resolve().as_uri() in link.data


def test_progress_writes_plain_lines_when_not_a_terminal() -> None:
    from flows.progress import Progress

    stream = io.StringIO()
    with Progress(5, stream=stream, interval_s=0.0) as bar:
        bar.advance(2)
        bar.advance(3)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("documents: 0/5 (0%)")
    assert lines[1].startswith("documents: 2/5 (40%)") and "docs/s" in lines[1]
    assert lines[-1].startswith("documents: 5/5 (100%)") and lines[-1].endswith("finished")


def test_progress_draws_a_bar_on_a_terminal() -> None:
    from flows.progress import Progress

    stream = io.StringIO()
    with Progress(4, stream=stream, tty=True) as bar:
        bar.advance(4)
    text = stream.getvalue()
    assert "4/4" in text and "docs/s" in text and "documents: " not in text
