"""The worker processes of the process runner are forked from a forkserver that loaded jieba and spaCy once;
the embedded Prefect API runs flows without heartbeats."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor


def test_workers_are_born_warm(settings_factory):
    from flows import workers

    settings = settings_factory(runner__kind="process", runner__workers=1)
    workers.start(settings)
    # no initializer: whatever the worker has loaded, it had from the forkserver when it was forked
    with ProcessPoolExecutor(max_workers=1, mp_context=workers._context) as pool:
        assert pool.submit(workers.born_warm).result(timeout=300) is True


def test_worker_pool_runs_batches_in_workers(settings_factory):
    import os

    from flows import workers

    settings = settings_factory(runner__kind="process", runner__workers=1)
    with workers.worker_pool(settings):
        assert workers._POOL is not None
        pid = workers.run(_pid, None, settings)
    assert pid != os.getpid()
    assert workers._POOL is None
    assert workers.run(_pid, None, settings) == os.getpid()  # outside a run: here


def _pid(_items, _settings) -> int:
    import os

    return os.getpid()


def test_embedded_api_runs_flows_without_heartbeats(monkeypatch):
    """Heartbeats only feed a server-side automation an embedded server never runs, and cost ~1 s a run."""
    from prefect.server.api import server as server_module
    from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings,
                                  temporary_settings)

    from flows.mine import shared_api

    class FakeServer:
        api_url = "http://127.0.0.1:9/api"

        def start(self, timeout: float | None = None) -> None:
            pass

    monkeypatch.setattr(server_module, "SubprocessASGIServer", FakeServer)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: None, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}):
        with shared_api():
            assert get_current_settings().api.url == FakeServer.api_url
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == 60
        with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # a configured server
            with shared_api():
                assert get_current_settings().flows.heartbeat_frequency == 60
