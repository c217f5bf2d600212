"""The `ingest_tokens` table: the tokens that open only the ingest routes, kept as digests.

A token itself is never stored: only its SHA-256 digest (see fitness.services.ingest_tokens
for why a plain digest suffices), so reading the table gives nobody a token.
"""

from __future__ import annotations

import psycopg
from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import IngestTokenExists, IngestTokenNotFound
from fitness.models import IngestToken


@retry_on_disconnect
def insert_ingest_token(name: str, digest: bytes, *, conn: Connection | None = None) -> IngestToken:
    """Store a token's `digest` (32 bytes) under `name`; `IngestTokenExists` if the name is
    taken."""
    with transaction(conn) as active, active.cursor(row_factory=class_row(IngestToken)) as cur:
        try:
            cur.execute(
                """
                INSERT INTO ingest_tokens (name, token_digest)
                VALUES (%s, %s)
                RETURNING name, created_at, last_used_at
                """,
                (name, digest),
            )
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name == "ingest_tokens_name_key":
                raise IngestTokenExists(name) from None
            raise
        token = cur.fetchone()
    assert token is not None
    return token


@retry_on_disconnect
def get_ingest_tokens(*, conn: Connection | None = None) -> list[IngestToken]:
    """Every ingest token, oldest first (names and times only)."""
    with connection(conn) as active, active.cursor(row_factory=class_row(IngestToken)) as cur:
        cur.execute(
            """
            SELECT name, created_at, last_used_at
            FROM ingest_tokens
            ORDER BY created_at, id
            """
        )
        return cur.fetchall()


@retry_on_disconnect
def delete_ingest_token(name: str, *, conn: Connection | None = None) -> IngestToken:
    """Forget the token named `name` (it opens nothing from now on); `IngestTokenNotFound`
    if there is none."""
    with transaction(conn) as active, active.cursor(row_factory=class_row(IngestToken)) as cur:
        cur.execute(
            """
            DELETE FROM ingest_tokens
            WHERE name = %s
            RETURNING name, created_at, last_used_at
            """,
            (name,),
        )
        token = cur.fetchone()
    if token is None:
        raise IngestTokenNotFound(name)
    return token


@retry_on_disconnect
def use_ingest_token(digest: bytes, *, conn: Connection | None = None) -> str | None:
    """The name of the token whose digest is `digest`, recording that it was used now; None
    for a digest no token has."""
    with transaction(conn) as active:
        row = active.execute(
            """
            UPDATE ingest_tokens
            SET last_used_at = now()
            WHERE token_digest = %s
            RETURNING name
            """,
            (digest,),
        ).fetchone()
    return row[0] if row else None
