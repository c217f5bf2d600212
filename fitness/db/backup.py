"""Backups of the whole database with the pg_dump and pg_restore of the embedded wheel.

Those programs (PostgreSQL 18) work against any server fitness supports, Neon included.
Connection parameters reach them through the libpq environment, never the command line.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import psycopg
from psycopg import Connection, sql
from psycopg.conninfo import conninfo_to_dict

from fitness.db.connection import connect_kwargs, database_url
from fitness.db.embedded import embedded_bin_dir
from fitness.db.migrations import current_revision
from fitness.errors import FitnessError

logger = logging.getLogger(__name__)

FITNESS_TABLES: Final = (
    "runs",
    "runs_history",
    "shoes",
    "shoe_gear",
    "synced_runs",
    "sync_metadata",
    "oauth_credentials",
    "oauth_states",
    "ingest_tokens",
    "dismissed_duplicates",
)
# alembic_version is ours too, and holds a row even in a database with no data.
_OWN_TABLES: Final = (*FITNESS_TABLES, "alembic_version")

# The libpq environment variable of each connection parameter that has one.
_LIBPQ_ENVIRONMENT: Final = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "require_auth": "PGREQUIREAUTH",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "requiressl": "PGREQUIRESSL",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "requirepeer": "PGREQUIREPEER",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}

# pg_restore 18 starts every script with this line, which servers before 17 reject.
_TRANSACTION_TIMEOUT_LINE: Final = b"SET transaction_timeout = 0;"
_SCRIPT_HEADER_BYTES: Final = 4096


class BackupError(FitnessError):
    """A backup or restore could not be made; nothing was changed."""


class DatabaseNotEmpty(BackupError):
    """A restore would overwrite data (or tables fitness does not know) without `force`."""

    def __init__(self, contents: list[str]) -> None:
        super().__init__(
            f"the database is not empty ({'; '.join(contents)}): restoring replaces its "
            "fitness tables with the backup's; use --force to do that"
        )
        self.contents = contents


def backup_database(path: Path, *, url: str | None = None) -> None:
    """Write the whole database (schema, data, alembic_version) to `path` in pg_dump's
    custom format, without owners or privileges so it restores anywhere.

    The file appears only once the dump is complete: a failed backup leaves no file and
    never clobbers an earlier backup at `path`. It is readable by its owner only, since it
    holds the OAuth credentials.

    >>> backup_database(Path("fitness.dump"))   # doctest: +SKIP
    """
    url = url or database_url()
    path = path.expanduser()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; name the backup file to write")
    if not path.parent.is_dir():
        raise BackupError(f"cannot write {path}: directory {path.parent} does not exist")
    descriptor, partial_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    os.close(descriptor)
    partial = Path(partial_name)
    try:
        _run(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--no-statistics",
            "--no-password",
            f"--file={partial}",
            url=url,
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def restore_database(path: Path, *, force: bool = False, url: str | None = None) -> str | None:
    """Replace the database's fitness tables with the backup in `path`; return its revision.

    Refuses (`DatabaseNotEmpty`) when the database holds fitness data or tables fitness
    does not know, unless `force`. The restore is one transaction that stops at the first
    error, so a failed restore changes nothing.

    >>> restore_database(Path("fitness.dump"))   # doctest: +SKIP
    '0001'
    """
    url = url or database_url()
    script = _restore_script(path.expanduser())
    with psycopg.connect(url, **connect_kwargs()) as conn:  # type: ignore[arg-type]
        if not force:
            contents = find_existing_contents(conn=conn)
            if contents:
                raise DatabaseNotEmpty(contents)
        if conn.info.server_version < 170000:
            script = _without_transaction_timeout(script)
    _run(
        "psql",
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--set=ON_ERROR_STOP=1",
        "--file=-",
        url=url,
        stdin=script,
        failure="the restore failed and changed nothing",
    )
    with psycopg.connect(url, **connect_kwargs()) as conn:  # type: ignore[arg-type]
        return current_revision(conn=conn)


def find_existing_contents(*, conn: Connection) -> list[str]:
    """What a restore would overwrite: fitness tables with rows, and tables that are not
    fitness's (in any schema); empty for a new or freshly migrated database.

    >>> find_existing_contents(conn=conn)   # doctest: +SKIP
    ['rows in runs, runs_history', 'table public.notes is not part of fitness']
    """
    foreign = conn.execute(
        """
        SELECT format('%%s %%I.%%I is not part of fitness',
                      CASE c.relkind
                          WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view'
                          WHEN 'f' THEN 'foreign table'
                          ELSE 'table'
                      END,
                      n.nspname, c.relname)
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%%'
          AND NOT (n.nspname = 'public' AND c.relname = ANY(%(own)s))
        ORDER BY n.nspname, c.relname
        """,
        {"own": list(_OWN_TABLES)},
    ).fetchall()
    present = [
        row[0]
        for row in conn.execute(
            """
            SELECT t.name
            FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS t (name, position)
            WHERE to_regclass(format('public.%%I', t.name)) IS NOT NULL
            ORDER BY t.position
            """,
            {"tables": list(FITNESS_TABLES)},
        )
    ]
    filled: list[str] = []
    if present:
        query = sql.SQL("\nUNION ALL\n").join(
            sql.SQL("SELECT {name} WHERE EXISTS (SELECT 1 FROM {table})").format(
                name=sql.Literal(name), table=sql.Identifier("public", name)
            )
            for name in present
        )
        filled = [row[0] for row in conn.execute(query)]
    contents = [f"rows in {', '.join(filled)}"] if filled else []
    return contents + [row[0] for row in foreign]


def libpq_environment(url: str) -> dict[str, str]:
    """The libpq environment variables (PGHOST, PGPASSWORD, ...) that connect to `url`.

    Parameters libpq reads only from a connection string (e.g. `keepalives`) are left out,
    with a warning: none of them decides which database is reached.
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise BackupError(f"the database URL cannot be parsed: {error}") from None
    dropped = sorted(name for name in params if name not in _LIBPQ_ENVIRONMENT)
    if dropped:
        logger.warning("Not passing connection parameters %s to pg_dump", ", ".join(dropped))
    return {
        _LIBPQ_ENVIRONMENT[name]: str(value)
        for name, value in params.items()
        if name in _LIBPQ_ENVIRONMENT and value is not None
    }


def _restore_script(path: Path) -> bytes:
    """The SQL script of the archive at `path`: drop (if they exist) and recreate its
    objects, load its data, all between one BEGIN and COMMIT."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    script = _run(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--no-statistics",
        "--file=-",
        str(path),
        failure=f"{path} is not a backup pg_restore can read",
    )
    for table in ("alembic_version", "runs", "runs_history"):
        if f"CREATE TABLE public.{table} (".encode() not in script:
            raise BackupError(f"{path} is not a fitness backup: it has no table {table}")
    return script


def _without_transaction_timeout(script: bytes) -> bytes:
    header = script[:_SCRIPT_HEADER_BYTES]
    line = b"\n" + _TRANSACTION_TIMEOUT_LINE
    at = header.find(line)
    if at < 0:
        return script
    return script[:at] + script[at + len(line) :]


def _run(
    program: str,
    *arguments: str,
    url: str | None = None,
    stdin: bytes | None = None,
    failure: str | None = None,
) -> bytes:
    """Run one of the embedded PostgreSQL programs and return its standard output."""
    executable = shutil.which(program, path=str(embedded_bin_dir()))
    if executable is None:
        raise BackupError(f"{program} is missing from the embedded PostgreSQL")
    environment = os.environ.copy()
    if url is not None:
        environment.update(libpq_environment(url))
    completed = subprocess.run(
        [executable, *arguments],
        input=stdin,
        capture_output=True,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        reason = _first_error(completed.stderr) or f"exit status {completed.returncode}"
        raise BackupError(f"{failure or program + ' failed'}: {reason}")
    return completed.stdout


def _first_error(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    for line in lines:
        for marker in ("ERROR:", "FATAL:", "error:"):
            if marker in line:
                return " ".join(line.split(marker, 1)[1].split())
    return next((line for line in lines if line), "")
