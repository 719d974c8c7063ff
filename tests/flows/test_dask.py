"""Scale-out: the same `mine` flow on a Dask cluster (a distributed.LocalCluster here, reached by address as a
remote one would be, through `jmm run --runner dask --dask-address`) gives byte-identical exports."""

from __future__ import annotations


import pytest
from typer.testing import CliRunner

from tests.flows.test_collect_flow import _config



@pytest.mark.slow
def test_dask_cluster_exports_are_identical_to_the_process_pool(prefect_harness, sample_batch, tmp_path):
    from distributed import LocalCluster

    from flows.cli import app

    batch, pdfs = sample_batch(6)
    runner = CliRunner()
    outs = {}
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        for kind in ("process", "dask"):
            work = tmp_path / kind
            work.mkdir()
            cfg = _config(work, None)
            args = ["run", str(batch), "--out", str(work / "out"), "--config", str(cfg), "--no-collect",
                    "--runner", kind]
            if kind == "dask":
                args += ["--dask-address", cluster.scheduler_address]
                before = cluster.scheduler.transition_counter
            r = runner.invoke(app, args)
            assert r.exit_code in (0, 3), r.output
            assert "documents processed: 6 new" in r.output, r.output
            outs[kind] = work / "out"
        assert cluster.scheduler.transition_counter > before  # the batches really ran on the cluster
    csvs = sorted(p.name for p in outs["process"].glob("*.csv"))
    assert {"documents.csv", "participants.csv"} <= set(csvs)
    assert csvs == sorted(p.name for p in outs["dask"].glob("*.csv"))
    for name in csvs:
        assert (outs["process"] / name).read_bytes() == (outs["dask"] / name).read_bytes(), name
