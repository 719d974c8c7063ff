"""Scheduled and manual runs: the `collect-and-mine` flow, and the deployments of config.yaml
(`serve.deployments`) that `jmm serve` registers and runs on their cron schedules.

A deployment can also be run by hand with other parameters, e.g.
`prefect deployment run 'collect-and-mine/nightly' --param batch=/data/new-batch --param collect=false`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow

from pipeline.errors import ConfigError
from pipeline.settings import Settings, read_settings

log = logging.getLogger(__name__)

FLOW_NAME = "collect-and-mine"


@flow(name=FLOW_NAME)
def collect_and_mine(batch: list[str] | str | None = None, collect: bool = True, out: str = "out",
                     config: str | None = None) -> dict[str, Any]:
    """Collect from the configured web sources and the inbox (if `collect`), then mine what they gave plus
    `batch` (files or folders; relative paths are taken from config.yaml's folder) and export to `out`."""
    from flows.collect import collect_flow
    from flows.mine import run_mine

    settings = read_settings(config)
    wanted = [batch] if isinstance(batch, str) else list(batch or [])
    paths = []
    for p in wanted:
        path = settings.path(p)
        if path.exists():
            paths.append(str(path))
        else:
            log.warning("%s: no such file or folder; left out of this run", path)
    collected: dict[str, Any] = {}
    if collect:
        collected = collect_flow(settings=settings)
        paths += [p for p in collected["paths"] if p not in paths]
    if not paths:
        log.warning("nothing to process: no batch given and nothing collected")
        return {"collected": collected, "mined": None, "nothing_new": True}
    mined = run_mine(paths, str(settings.path(out)), settings)
    return {"collected": collected, "mined": mined, "nothing_new": not mined["new_documents"]}


def build_deployments(settings: Settings, config: Path | str | None) -> list[Any]:
    """One Prefect deployment of `collect-and-mine` per entry of serve.deployments, with its cron schedule
    and its parameters (the config file is passed by absolute path, so a served run finds it)."""
    if not settings.serve.deployments:
        raise ConfigError(f"{config or 'config.yaml'}: serve.deployments is empty; add one "
                          f"(name, cron, collect, paths, out) to schedule runs")
    out = []
    for d in settings.serve.deployments:
        params = {"batch": list(d.paths), "collect": d.collect, "out": d.out,
                  "config": str(Path(config).resolve()) if config else None}
        out.append(collect_and_mine.to_deployment(name=d.name, cron=d.cron, parameters=params,
                                                  description=f"collect + mine on cron {d.cron!r}"))
    return out


def serve_deployments(settings: Settings, config: Path | str | None) -> None:
    """Register the deployments and run them when due, until interrupted (needs a Prefect API)."""
    from prefect import serve

    serve(*build_deployments(settings, config))
