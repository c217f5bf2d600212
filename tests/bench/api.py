"""The API workloads: uvicorn (one worker) serving `create_app`, driven by 8 HTTP clients.

The server runs in a subprocess against the bench database, on 127.0.0.1 only. Each
client is a thread with its own keep-alive connection doing a fixed number of requests.
The clients use the standard library's `http.client`: on a 2-core machine the load
generator shares the CPU with the server, and httpx spent about half as much CPU per
request as the server itself, which the figure would have charged to the server.
PATCH is compared with pgbench doing the same edit transaction (the edit workload's
baseline), GET with pgbench doing the same point read: both from 8 connections.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from fitness.config import PROJECT_ROOT
from fitness.db.runs import get_run_detail_by_id
from tests.bench import data
from tests.bench.measure import Samples, ThreadRun, capture_queries, only_query, run_threads
from tests.bench.pgbench import build_script
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import Bench, edit_pgbench_script, pgbench_rate

TOKEN = "bench-token-not-a-secret"
STARTUP_SECONDS = 60.0


def api_workloads(bench: Bench) -> list[Result]:
    """PATCH /runs/{id} on random runs and GET /runs/{id}, each from 8 concurrent clients."""
    sizes, dataset = bench.sizes, bench.dataset
    clients, per_client = sizes.api_clients, sizes.api_requests_per_client
    edit_script = edit_pgbench_script(bench, hot=False)
    read_script = _point_read_pgbench_script(bench)
    distances = itertools.count(1)
    rngs = [random.Random(data.SEED + 200 + i) for i in range(clients)]
    with _uvicorn(bench.work_dir) as base_url, _clients(base_url, clients) as http:

        def patch(client: int, _call: int) -> None:
            run_id = dataset.edit_target(rngs[client])
            body = {"distance": 30 + next(distances) / 1e5, "changed_by": "bench"}
            http[client].request("PATCH", f"/runs/{run_id}", json.dumps(body).encode())

        def get(client: int, _call: int) -> None:
            run_id = rngs[client].choice(dataset.runs).id
            http[client].request("GET", f"/runs/{run_id}")

        # Warm: the server's pool gets a connection per client, psycopg prepares.
        run_threads(clients, 10, patch, max_seconds=sizes.loop_seconds)
        run_threads(clients, 10, get, max_seconds=sizes.loop_seconds)
        patches: list[ThreadRun] = []
        gets: list[ThreadRun] = []
        edit_baseline: list[float] = []
        read_baseline: list[float] = []
        for _ in range(sizes.repeats):
            patches.append(run_threads(clients, per_client, patch, max_seconds=sizes.loop_seconds))
            edit_baseline.append(pgbench_rate(bench, edit_script, "api_edit", per_client))
            gets.append(run_threads(clients, per_client, get, max_seconds=sizes.loop_seconds))
            read_baseline.append(pgbench_rate(bench, read_script, "api_read", per_client))
    return [
        Result(
            workload=f"API PATCH /runs/{{id}}, uvicorn 1 worker, {clients} clients, different runs",
            unit="req/s",
            ours=Samples(tuple(run.rate for run in patches)),
            baseline=Samples(tuple(edit_baseline)),
            baseline_label=f"pgbench -c {clients}, the edit transaction",
            target=Target(">=", 0.25),
            judged=sizes.judges_targets,
            checks=(_failures(patches),),
        ),
        Result(
            workload=f"API GET /runs/{{id}}, {clients} clients",
            unit="req/s",
            ours=Samples(tuple(run.rate for run in gets)),
            baseline=Samples(tuple(read_baseline)),
            baseline_label=f"pgbench -c {clients}, the same SELECT",
            checks=(_failures(gets),),
        ),
    ]


def _point_read_pgbench_script(bench: Bench) -> str:
    """pgbench reading one random run as `GET /runs/{id}` does (get_run_detail_by_id)."""
    probe_id = data.strava_id(1)
    probe = only_query(
        capture_queries(bench.url, lambda conn: get_run_detail_by_id(probe_id, conn=conn)),
        "get_run_detail_by_id",
    )
    if not isinstance(probe.params, dict):
        raise TypeError("get_run_detail_by_id is expected to use named parameters")
    (name,) = [key for key, value in probe.params.items() if value == probe_id]
    return build_script(
        probe,
        variables={name: "('strava_' || :n)"},
        setup=(
            f"\\set k random(1, {bench.dataset.strava_count})",
            f"\\set n {data.STRAVA_ID_BASE} + :k",
        ),
        in_transaction=False,
        url=bench.url,
    )


@contextmanager
def _uvicorn(work_dir: Path) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port; yields its base URL."""
    port = _free_loopback_port()
    env = os.environ | {"FITNESS_API_TOKENS": TOKEN, "FITNESS_ENV": "dev"}
    log = (work_dir / "uvicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "fitness.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server, work_dir / "uvicorn.log")
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer /health within {STARTUP_SECONDS:.0f} s")


class _KeepAliveClient:
    """One keep-alive connection that sends the bearer token and insists on a 200."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self._headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: bytes | None = None) -> None:
        self._connection.request(method, path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status}")

    def close(self) -> None:
        self._connection.close()


@contextmanager
def _clients(base_url: str, count: int) -> Iterator[list[_KeepAliveClient]]:
    """One keep-alive client per thread."""
    clients = [_KeepAliveClient(base_url) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def _failures(runs: list[ThreadRun]) -> Check:
    failures = sum(run.failures for run in runs)
    total = failures + sum(run.completed for run in runs)
    errors = "; ".join(error for run in runs for error in run.first_errors)[:300]
    return Check(
        "failures",
        failures == 0,
        f"{failures} of {total} requests failed" + (f" ({errors})" if errors else ""),
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
