"""`fitness serve` under slow and greedy clients, measured with raw sockets against the real
process: header size, header/idle timeout, connection limit, body limit, a busy port.

Each test prints what it measured (`pytest -s` shows it); README's Guarantees quotes it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from fitness.api.imports import MAX_UPLOAD_BYTES
from fitness.cli.serve import SERVER_LIMITS
from fitness.config import PROJECT_ROOT
from tests.guarantees.conftest import AUTHORIZATION, TOKEN, Served, free_port, serving

MIB = 1024 * 1024
HEAD = b"GET /runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
# Long enough for the server's header timeout to have passed, with room for a busy machine.
CLOSE_WAIT_SECONDS = SERVER_LIMITS.header_timeout_seconds * 3


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(database_url, log) as served:
        yield served


def test_unfinished_64_mib_headers_cost_the_server_almost_nothing(served: Served) -> None:
    # The attack: four connections each sending 64 MiB of one header, never ending
    # it. uvicorn (httptools) kept every byte: +255 MB here, before.
    before = _server_rss(served)
    answers = []
    sent = []
    for _ in range(4):
        with _connection(served) as sock:
            sent.append(_send_until_refused(sock, HEAD + b"X-Big: ", 64 * MIB, b"a"))
            answers.append(_read_answer(sock))
    grown = _server_rss(served) - before

    print(
        f"\n64 MiB headers: server sent 431 after {[n // 1024 for n in sent]} KiB; "
        f"RSS grew by {grown / MIB:.1f} MiB"
    )
    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer in answers), answers
    assert all(n < 64 * MIB for n in sent)
    assert grown < 16 * MIB


def test_300_trickling_connections_do_not_block_other_requests(served: Served) -> None:
    # 150 send a request head a byte at a time, 150 a body; neither ever finishes.
    heads = [_open(served, HEAD) for _ in range(150)]
    bodies = [
        _open(
            served,
            b"PATCH /runs/mmf_1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: " + AUTHORIZATION["Authorization"].encode() + b"\r\n"
            b"Content-Length: 100000\r\n\r\n{",
        )
        for _ in range(150)
    ]
    stop = threading.Event()
    trickler = threading.Thread(
        target=_trickle, args=(heads, b"X", bodies, b" ", stop), daemon=True
    )
    trickler.start()
    try:
        latencies = []
        with served.client(timeout=5.0) as client:
            for _ in range(20):
                started = time.perf_counter()
                response = client.get("/runs", params={"limit": 5})
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200
    finally:
        stop.set()
        trickler.join()
        for sock in heads + bodies:
            sock.close()

    print(
        f"\n300 trickling connections: 20 other requests, all 200, "
        f"median {sorted(latencies)[10] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


@pytest.mark.parametrize("size", [100 * 1024, 400 * 1024])
def test_a_whole_head_over_64_kib_sent_at_once_is_a_431(served: Served, size: int) -> None:
    # Sent in one go, a complete head can get past the server's read buffer (a 100 KiB one
    # was served before); the app measures it against the same 64 KiB.
    with _connection(served) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(HEAD + b"X-Big: " + b"a" * size + b"\r\n\r\n")
        answer = _read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_connections_without_a_whole_request_head_are_closed(served: Served) -> None:
    silent = _open(served, b"")
    trickling = _open(served, HEAD)
    idle = _open(served, HEAD + b"\r\n")
    assert _read_answer(idle).startswith(b"HTTP/1.1 401 ")  # served, then kept alive
    stop = threading.Event()
    trickler = threading.Thread(
        target=_trickle, args=([trickling], b"X", [], b"", stop), daemon=True
    )
    trickler.start()
    started = time.monotonic()
    try:
        closed_after = {
            name: _seconds_until_closed(sock, started)
            for name, sock in (("silent", silent), ("trickling", trickling), ("idle", idle))
        }
    finally:
        stop.set()
        trickler.join()
        for sock in (silent, trickling, idle):
            sock.close()

    print(f"\nclosed after (s): {closed_after}")
    assert all(seconds is not None for seconds in closed_after.values()), closed_after


def test_a_chunked_upload_over_the_limit_is_refused_before_it_is_all_sent(
    served: Served,
) -> None:
    boundary = "limit-test"
    head = (
        "POST /mmf/upload-csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {AUTHORIZATION['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nDate Submitted,Workout Date\r\n"
    ).encode()
    chunk = b"x" * MIB
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with _connection(served) as sock:
        sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        sock.settimeout(30)
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < 260 * MIB and not _readable(sock):
                sock.sendall(framed)
                sent += len(chunk)
        answer = _read_answer(sock)

    print(
        f"\nchunked upload: 413 after {sent // MIB} MiB sent (limit {MAX_UPLOAD_BYTES // MIB} MiB)"
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < MAX_UPLOAD_BYTES + 16 * MIB


def test_a_port_in_use_is_one_line_and_exit_status_1(database_url: str) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        completed = subprocess.run(
            [sys.executable, "-m", "fitness.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env=os.environ | {"DATABASE_URL": database_url, "FITNESS_API_TOKENS": TOKEN},
            timeout=120,
            check=False,
        )

    assert completed.returncode == 1
    assert completed.stderr == (
        f"fitness: error: 127.0.0.1:{port} is already in use: stop what listens there or "
        "pick another --port\n"
    )


# --- helpers ------------------------------------------------------------------------------


def _server_rss(served: Served) -> int:
    """Resident memory of `fitness serve` and its worker process, in bytes."""
    process = psutil.Process(served.process.pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


@contextlib.contextmanager
def _connection(served: Served) -> Iterator[socket.socket]:
    sock = _open(served, b"")
    try:
        yield sock
    finally:
        sock.close()


def _open(served: Served, first_bytes: bytes) -> socket.socket:
    host, port = httpx.URL(served.url).host, httpx.URL(served.url).port
    sock = socket.create_connection((host, port), timeout=10)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def _send_until_refused(sock: socket.socket, head: bytes, total: int, filler: bytes) -> int:
    """Send `head` then `filler` bytes up to `total`; how many went out before the server
    stopped taking them (it answered, or closed)."""
    sock.sendall(head)
    block = filler * (64 * 1024)
    sent = len(head)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while sent < total and not _readable(sock):
            sock.sendall(block)
            sent += len(block)
    return sent


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _read_answer(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    try:
        return sock.recv(4096)
    except ConnectionResetError:
        return b""


def _trickle(
    heads: list[socket.socket],
    head_byte: bytes,
    bodies: list[socket.socket],
    body_byte: bytes,
    stop: threading.Event,
) -> None:
    """A byte to each connection every half second until `stop` (header lines for heads)."""
    while not stop.wait(0.5):
        for sock in heads:
            with contextlib.suppress(OSError):
                sock.sendall(head_byte)
        for sock in bodies:
            with contextlib.suppress(OSError):
                sock.sendall(body_byte)


def _seconds_until_closed(sock: socket.socket, started: float) -> float | None:
    """Seconds from `started` until the server closed `sock`; None if it stayed open."""
    deadline = started + CLOSE_WAIT_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if sock.recv(4096) == b"":
                return round(time.monotonic() - started, 1)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return round(time.monotonic() - started, 1)
    return None
