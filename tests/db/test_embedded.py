"""fitness/db/embedded.py: a `fitness serve` killed with SIGKILL leaves its embedded
PostgreSQL running; the next fitness process adopts it and stops it when it exits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from fitness.config import PROJECT_ROOT
from tests.guarantees.conftest import free_port

STARTUP_SECONDS = 120.0


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fitness data dir of the test's own; any server left in it is stopped afterwards."""
    # Under /tmp rather than pytest's tmp_path: when we are root the server runs as another
    # user, who must be able to reach its data directory.
    path = Path(tempfile.mkdtemp(prefix="fitness-embedded-test-"))
    try:
        yield path
    finally:
        postmaster = postmaster_pid(path)
        if postmaster is not None and is_running(postmaster):
            os.kill(postmaster, signal.SIGQUIT)
            psutil.Process(postmaster).wait(timeout=30)
        shutil.rmtree(path, ignore_errors=True)


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def environment(data_dir: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return environ | {"FITNESS_ENV": "dev", "FITNESS_DATA_DIR": str(data_dir)}


def fitness(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitness.cli", *arguments],
        cwd=PROJECT_ROOT,
        env=environment(data_dir),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )


def test_a_server_killed_with_sigkill_leaves_postgres_to_the_next_start_which_stops_it(
    data_dir: Path,
) -> None:
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "fitness.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("fitness serve did not answer")
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=30)
    postmaster = postmaster_pid(data_dir)
    assert postmaster is not None and is_running(postmaster), "PostgreSQL outlived fitness serve"

    current = fitness(data_dir, "db", "current")

    assert current.returncode == 0, current.stderr
    deadline = time.monotonic() + 30
    while is_running(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(postmaster), "the adopted PostgreSQL was left running"
    assert "adopting it" in current.stderr
    # And the next start finds no stale users: it starts the server and stops it again.
    again = fitness(data_dir, "db", "current")
    assert again.returncode == 0, again.stderr
    assert "adopting it" not in again.stderr
    assert postmaster_pid(data_dir) is None or not is_running(postmaster_pid(data_dir) or 0)
