"""Backups of the whole database with the pg_dump of the embedded wheel, and restores that
load a backup's data, and nothing else, into the schema our own migrations build.

pg_dump and pg_restore (PostgreSQL 18) work against any server fitness supports, Neon
included. Connection parameters reach pg_dump through the libpq environment, never the
command line. A restore never runs a statement of the archive: pg_restore only writes out
its table of contents, its schema (parsed and compared, see fitness.db.archive) and its rows,
which stream into COPY statements of ours.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
from psycopg import Connection, sql
from psycopg.conninfo import conninfo_to_dict

from fitness.db.archive import (
    Archive,
    ArchiveRefused,
    Reference,
    copy_into,
    first_error_line,
    reference_for,
    sequence_positions,
)
from fitness.db.catalog import migrations_schema, reference_catalog
from fitness.db.connection import connect, database_url, server_said
from fitness.db.embedded import embedded_bin_dir
from fitness.db.migrations import (
    MIGRATION_LOCK_ID,
    UnknownRevision,
    current_revision,
    head_revision,
    known_revisions,
    migration_sql,
)
from fitness.errors import BackupError

logger = logging.getLogger(__name__)

# Without these an archive is not a fitness backup at all.
_REQUIRED_TABLES: Final = ("alembic_version", "runs", "runs_history")
# The SEQUENCE SET statements of a backup: three short lines per identity column.
_MAX_SEQUENCE_SCRIPT_BYTES: Final = 1024 * 1024

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


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did: the backup's schema revision, the revision the database is at
    now (head), and the rows loaded into each table (in load order)."""

    backup_revision: str
    revision: str
    rows: dict[str, int]


class DatabaseNotEmpty(BackupError):
    """A restore would overwrite data (or tables fitness does not know) without `force`."""

    def __init__(self, contents: list[str]) -> None:
        super().__init__(
            f"the database is not empty ({'; '.join(contents)}): restoring replaces its "
            "fitness tables with the backup's; use --force to do that"
        )
        self.contents = contents


def backup_database(path: Path, *, url: str | None = None, force: bool = False) -> None:
    """Write the whole database (schema, data, alembic_version) to `path` in pg_dump's
    custom format, without owners or privileges so it restores anywhere.

    An existing file at `path` is a `BackupError` unless `force`. The file appears only
    once the dump is complete (written beside it, then renamed): a failed backup leaves no
    file and never clobbers an earlier backup at `path`. It is readable by its owner only,
    since it holds the OAuth credentials.

    >>> backup_database(Path("fitness.dump"))   # doctest: +SKIP
    """
    url = url or database_url()
    path = path.expanduser()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; name the backup file to write")
    if not path.parent.is_dir():
        raise BackupError(f"cannot write {path}: directory {path.parent} does not exist")
    if path.exists() and not force:
        raise _exists(path)
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
        _put_in_place(partial, path, force=force)
    finally:
        partial.unlink(missing_ok=True)


def restore_database(path: Path, *, force: bool = False, url: str | None = None) -> Restored:
    """Load the data of the backup in `path` into the schema this fitness's migrations build
    at the backup's revision, then migrate it to head; return what was restored.

    Nothing of the archive runs: its table of contents and its schema statements are
    checked against the migrations' schema first, and anything else in it (a function, a
    trigger, a table, a constraint, an extension, a large object, ...) is an
    `ArchiveRefused` naming what it found. A backup at a revision this fitness does not know
    (a newer fitness's) is an `UnknownRevision`. A database that holds fitness data, or
    tables fitness does not know, is a `DatabaseNotEmpty` unless `force`; with `force` the
    fitness tables are dropped (by the migrations' downgrades) and built anew, and other
    tables are left alone. One transaction: a refused or failed restore changes nothing.
    Rows stream from pg_restore into COPY one table at a time, so memory stays flat
    whatever the backup's size.

    >>> restore_database(Path("fitness.dump")).rows   # doctest: +SKIP
    {'alembic_version': 1, 'shoes': 12, 'runs': 20000, 'runs_history': 22345, ...}
    """
    path = path.expanduser()
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    archive = Archive.open(path, _program("pg_restore"))
    for table in _REQUIRED_TABLES:
        if archive.data_entry(table) is None:
            raise BackupError(f"{path} is not a fitness backup: it has no table {table}")
    revision = _archive_revision(archive)
    head = head_revision()
    try:
        with connect(url=url) as conn, conn.transaction():
            # No migration may run meanwhile; a big restore may take longer than requests may.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
            conn.execute("SET LOCAL statement_timeout = 0")
            with migrations_schema(conn, revision) as scratch:
                reference = reference_for(conn, scratch)
            findings = archive.findings(reference)
            if findings:
                raise ArchiveRefused(path, findings)
            if not force:
                tables = {*fitness_tables(conn), *reference.load_order}
                contents = find_existing_contents(conn=conn, tables=tables)
                if contents:
                    raise DatabaseNotEmpty(contents)
            _rebuild_schema(conn, revision)
            unvalidated = sorted(archive.unvalidated_constraints() & reference.constraints.keys())
            for table, name in unvalidated:
                conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
            rows = {
                table: _load_table(conn, archive, reference, table)
                for table in reference.load_order
            }
            _restore_sequences(conn, archive, reference)
            for table, name in unvalidated:
                _add_not_valid(conn, table, name, reference.constraints[(table, name)])
            loaded = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
            if loaded != [revision]:
                raise ArchiveRefused(path, [f"alembic_version rows {loaded!r}, not [{revision!r}]"])
            conn.execute(migration_sql(revision, head))
    except psycopg.Error as error:
        raise BackupError(f"the restore failed and changed nothing: {_said(error)}") from error
    logger.info("Restored %s (revision %s, migrated to %s)", path, revision, head)
    return Restored(revision, head, rows)


def find_existing_contents(*, conn: Connection, tables: Iterable[str] | None = None) -> list[str]:
    """What a restore would overwrite: fitness tables with rows, and tables that are not
    fitness's (in any schema); empty for a new or freshly migrated database. Fitness's tables
    are `tables` (default: those the migrations build at head) in the first schema of the
    search path (`public` unless the URL says otherwise).

    >>> find_existing_contents(conn=conn)   # doctest: +SKIP
    ['rows in runs, runs_history', 'table public.notes is not part of fitness']
    """
    own = sorted(set(tables if tables is not None else fitness_tables(conn)))
    # alembic_version is ours too, and holds a row even in a database with no data.
    filled_candidates = [table for table in own if table != "alembic_version"]
    row = conn.execute("SELECT current_schema()").fetchone()
    schema = row[0] if row and row[0] else "public"
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
          AND NOT (n.nspname = %(schema)s AND c.relname = ANY(%(own)s))
        ORDER BY n.nspname, c.relname
        """,
        {"own": [*own, "alembic_version"], "schema": schema},
    ).fetchall()
    present = [
        row[0]
        for row in conn.execute(
            """
            SELECT t.name
            FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS t (name, position)
            WHERE to_regclass(format('%%I.%%I', %(schema)s::text, t.name)) IS NOT NULL
            ORDER BY t.position
            """,
            {"tables": filled_candidates, "schema": schema},
        )
    ]
    filled: list[str] = []
    if present:
        query = sql.SQL("\nUNION ALL\n").join(
            sql.SQL("SELECT {name} WHERE EXISTS (SELECT 1 FROM {table})").format(
                name=sql.Literal(name), table=sql.Identifier(schema, name)
            )
            for name in present
        )
        filled = [row[0] for row in conn.execute(query)]
    contents = [f"rows in {', '.join(filled)}"] if filled else []
    return contents + [row[0] for row in foreign]


def fitness_tables(conn: Connection) -> list[str]:
    """The tables the migrations build at head, alembic_version included, by name (built in
    a scratch schema that is rolled back)."""
    catalog = reference_catalog(conn, head_revision())
    return sorted(name for kind, name in catalog if kind == "table")


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


def _exists(path: Path) -> BackupError:
    return BackupError(f"{path} exists; use --force to replace it")


def _put_in_place(partial: Path, path: Path, *, force: bool) -> None:
    if force:
        partial.replace(path)
        return
    try:
        # A hard link never replaces a file that appeared meanwhile (a rename would).
        os.link(partial, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError:
        if path.exists():
            raise _exists(path) from None
        partial.replace(path)


def _archive_revision(archive: Archive) -> str:
    """The schema revision in the archive's alembic_version data, checked to be known."""
    entry = archive.data_entry("alembic_version")
    assert entry is not None
    with archive.copy_data(entry) as (header, rows):
        text = b"".join(_first(rows, 4096)).decode("utf-8", errors="replace")
    columns = [name.sval for name in header.attlist or ()]
    values = text.splitlines()
    if columns != ["version_num"] or len(values) != 1:
        raise BackupError(f"{archive.path} is not a fitness backup: its alembic_version is odd")
    revision = values[0]
    if revision not in known_revisions():
        raise UnknownRevision(revision[:40], where=str(archive.path))
    return revision


def _first(chunks: Iterator[bytes], limit: int) -> list[bytes]:
    kept: list[bytes] = []
    size = 0
    for chunk in chunks:
        kept.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return kept


def _rebuild_schema(conn: Connection, revision: str) -> None:
    """Drop what the migrations built (by their own downgrades) and build `revision`."""
    current = current_revision(conn=conn)
    if current is not None:
        if current not in known_revisions():
            raise UnknownRevision(current)
        conn.execute(migration_sql(current, None))
    # Alembic's downgrade to base leaves its (empty) table behind.
    conn.execute("DROP TABLE IF EXISTS alembic_version")
    conn.execute(migration_sql(None, revision))
    # The backup's own alembic_version row is loaded with the rest.
    conn.execute("DELETE FROM alembic_version")


def _load_table(conn: Connection, archive: Archive, reference: Reference, table: str) -> int:
    entry = archive.data_entry(table)
    if entry is None:
        return 0
    with archive.copy_data(entry) as (header, rows):
        columns = [name.sval for name in header.attlist or ()]
        if not _is_plain_copy(header, table, archive.schema) or sorted(columns) != sorted(
            reference.columns.get(table, [])
        ):
            raise ArchiveRefused(archive.path, [f"data of table {table} in an unexpected form"])
        with conn.cursor() as cur:
            with cur.copy(copy_into(table, columns)) as copy:
                for chunk in rows:
                    copy.write(chunk)
            return cur.rowcount


def _add_not_valid(conn: Connection, table: str, name: str, definition: str) -> None:
    """Put back a constraint the backup held NOT VALID (its rows came before it), as the
    migration that made it does: NOT VALID, then validated if every row meets it."""
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
            sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
        )
    )
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
    except (psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation):
        logger.warning("Some restored rows of %s break %s; it stays NOT VALID", table, name)


def _is_plain_copy(header: object, table: str, schema: str | None) -> bool:
    relation = getattr(header, "relation", None)
    return (
        relation is not None
        and relation.relname == table
        and relation.schemaname in (schema, None)
        and bool(getattr(header, "is_from", False))
        and not getattr(header, "is_program", False)
        and getattr(header, "filename", None) is None
        and not getattr(header, "options", None)
        and getattr(header, "whereClause", None) is None
        and getattr(header, "query", None) is None
    )


def _restore_sequences(conn: Connection, archive: Archive, reference: Reference) -> None:
    entries = [entry for entry in archive.entries if entry.kind == "SEQUENCE SET"]
    if not entries:
        return
    script = archive.script("--data-only", limit=_MAX_SEQUENCE_SCRIPT_BYTES, entries=entries)
    positions, unknown = sequence_positions(script, reference.tags["SEQUENCE SET"])
    if unknown:
        raise ArchiveRefused(archive.path, unknown)
    for sequence, value, is_called in positions:
        conn.execute(
            "SELECT setval(%s::regclass, %s, %s)",
            (sql.Identifier(sequence).as_string(conn), value, is_called),
        )


def _said(error: psycopg.Error) -> str:
    detail = error.diag.message_detail
    return server_said(error) + (f" ({detail})" if detail else "")


def _program(name: str) -> str:
    executable = shutil.which(name, path=str(embedded_bin_dir()))
    if executable is None:
        raise BackupError(f"{name} is missing from the embedded PostgreSQL")
    return executable


def _run(
    program: str,
    *arguments: str,
    url: str | None = None,
    stdin: bytes | None = None,
    failure: str | None = None,
) -> bytes:
    """Run one of the embedded PostgreSQL programs and return its standard output."""
    executable = _program(program)
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
        reason = first_error_line(completed.stderr) or f"exit status {completed.returncode}"
        raise BackupError(f"{failure or program + ' failed'}: {reason}")
    return completed.stdout
