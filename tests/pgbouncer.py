"""A real PgBouncer in transaction mode in front of the test server, for the pooler tests.

Started on a free loopback port with a generated configuration: every database of the test
server, trust authentication, `pool_mode = transaction` and fewer server connections than
the clients use, so that consecutive transactions of one client land on different server
sessions, as they do behind Neon's or Supabase's poolers. The tests that need it are skipped,
saying why, only when the `pgbouncer` program is not installed (CI installs it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Fewer than the app's pool (10) and the tests' 8 threads: sessions must be shared.
SERVER_CONNECTIONS = 3
STARTUP_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class PgBouncer:
    """A running PgBouncer: `url(database_url)` reaches the same database through it."""

    port: int
    log_path: Path

    def url(self, database_url: str) -> str:
        return make_conninfo(database_url, host="127.0.0.1", port=self.port, hostaddr=None)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def pgbouncer_program() -> str | None:
    """The pgbouncer executable (Debian installs it in /usr/sbin), or None."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")


@contextmanager
def running_pgbouncer(server_url: str) -> Iterator[PgBouncer]:
    """Start PgBouncer in front of the server of `server_url` until the block ends."""
    program = pgbouncer_program()
    assert program is not None
    params = conninfo_to_dict(server_url)
    host = str(params.get("host") or "127.0.0.1")
    port = int(params.get("port") or 5432)
    user = str(params.get("user") or "postgres")
    directory = Path(tempfile.mkdtemp(prefix="fitness-pgbouncer-"))
    # PgBouncer refuses to run as root: as root the tests run it as another user, who must
    # read its files.
    directory.chmod(0o755)
    listen = _free_port()
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {listen}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {directory / 'users.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {SERVER_CONNECTIONS}",
                "max_client_conn = 500",
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )
    )
    log_path = directory / "pgbouncer.log"
    command = [program]
    if os.geteuid() == 0:
        command += ["-u", _unprivileged_user(host)]
    command.append(str(directory / "pgbouncer.ini"))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(listen, log_path)
    try:
        _wait_for(listen, process, bouncer)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _unprivileged_user(host: str) -> str:
    """Who runs PgBouncer when we are root: the owner of a Unix socket's directory (the
    embedded server's, reachable by it alone), else nobody."""
    if host.startswith("/"):
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name
        if owner != "root":
            return owner
    return "nobody"


def _wait_for(port: int, process: subprocess.Popen[bytes], bouncer: PgBouncer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"pgbouncer exited at start:\n{bouncer.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"pgbouncer did not listen in time:\n{bouncer.log()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
