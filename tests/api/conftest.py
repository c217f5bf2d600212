"""Fixtures for the API tests: the real app on the test database, clients with and without
a token, data put in through the library, and a TCP gate to take the database away."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import warnings
from collections.abc import Callable, Iterator

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from starlette.applications import Starlette

from fitness.api.app import create_app
from fitness.config import Settings, get_settings
from fitness.db.runs import import_runs
from fitness.models import Run
from tests.factories import RunFactory

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package for its TestClient; httpx still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

TOKEN = "test-token-5f1d0c"


@pytest.fixture
def settings(db: str) -> Settings:
    """The test database's settings, with one API token."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    """A client that sends the token, with the app's lifespan (pool) running."""
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def anonymous(app: Starlette, client: TestClient) -> TestClient:
    """A client that sends no token (the app is already started by `client`)."""
    return TestClient(app)


@pytest.fixture
def add_runs(db: str, runs: RunFactory) -> Callable[..., list[Run]]:
    """Import runs through the library: `add_runs(3)` or `add_runs(1, distance=5.0)`."""

    def add(count: int = 1, **overrides: object) -> list[Run]:
        made = runs.many(count, **overrides)
        import_runs(made)
        return made

    return add


class TcpGate:
    """A port on 127.0.0.1 that refuses connections until `open()`, then forwards them to
    the test database (TCP or Unix socket), until `close()`."""

    def __init__(self, database_url: str) -> None:
        params = conninfo_to_dict(database_url)
        host = str(params.get("host") or "127.0.0.1")
        port = int(params.get("port") or 5432)
        if host.startswith("/"):
            self._target: tuple[int, object] = (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
        else:
            self._target = (socket.AF_INET, (host, port))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = make_conninfo(database_url, host="127.0.0.1", port=self.port)
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            family, address = self._target
            upstream = socket.socket(family, socket.SOCK_STREAM)
            upstream.connect(address)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def gate(db: str) -> Iterator[TcpGate]:
    """A closed TCP gate in front of the test database; `gate.open()` lets connections in."""
    gate = TcpGate(db)
    yield gate
    gate.close()
