"""Fixtures for the guarantee tests: `fitness serve` as a real process, the app in-process,
and helpers to look at what the database holds afterwards.

`serving(...)` starts the `fitness` command the way a user does (`python -m fitness.cli
serve`), on a free port of 127.0.0.1, with everything it logs written to a file the test
can read, and stops it with SIGTERM at the end of the block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from starlette.applications import Starlette

from fitness.api.app import create_app
from fitness.config import PROJECT_ROOT, Settings, get_settings

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package for its TestClient; httpx still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

TOKEN = "guarantees-token-3b9e51d7"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
STARTUP_SECONDS = 60.0
TABLES = (
    "runs",
    "runs_history",
    "shoes",
    "synced_runs",
    "sync_metadata",
    "oauth_credentials",
    "oauth_states",
)


@dataclass
class Served:
    """A running `fitness serve`: its base URL, its process and the file it logs to."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, *, token: str | None = TOKEN, timeout: float = 30.0) -> httpx.Client:
        """An httpx client for the server, sending `token` (None: no Authorization)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(
    database_url: str,
    log_path: Path,
    *,
    environment: Mapping[str, str] | None = None,
    debug: bool = False,
) -> Iterator[Served]:
    """Run `fitness serve` against `database_url` until the block ends.

    It gets FITNESS_API_TOKENS=TOKEN and any `environment` on top of this process's;
    `debug=True` passes `--debug` (everything logged at DEBUG). Waits until /health answers.
    """
    port = free_port()
    environ = os.environ | {
        "DATABASE_URL": database_url,
        "FITNESS_ENV": "dev",
        "FITNESS_API_TOKENS": TOKEN,
        **(environment or {}),
    }
    command = [sys.executable, "-m", "fitness.cli", *(["--debug"] if debug else [])]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, env=environ, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    served = Served(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_answering(served)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_answering(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"fitness serve exited early:\n{served.log()}")
        try:
            httpx.get(f"{served.url}/health", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"fitness serve did not answer in {STARTUP_SECONDS} s:\n{served.log()}")


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    """How many rows each fitness table holds (and so, that each table still exists)."""
    counts = {}
    for table in TABLES:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        row = conn.execute(query).fetchone()
        assert row is not None
        counts[table] = row[0]
    return counts


@pytest.fixture
def settings(db: str) -> Settings:
    """The test database's settings, with one API token."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    """A client of the app in this process that sends the token, with the pool running."""
    with TestClient(app, headers=AUTHORIZATION) as client:
        yield client
