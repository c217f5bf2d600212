"""The one connection path of fitness, the pool, and the transaction helpers every db function
is built on.

Every connection (the pool's, migrations', backups', the CLI's and `/health`'s) is made by
`connect` from `connection_info`: the URL's own parameters exactly as written, plus a connect
timeout when the URL names none. fitness adds no startup parameter (PgBouncer refuses
`options`). Its session settings (TimeZone UTC, the statement timeout) are SET once per
connection where it reaches PostgreSQL itself, and SET LOCAL at the start of every transaction
behind a transaction pooler, where a server session is shared with other clients and must
carry nothing over. A public db function takes an optional keyword `conn`: without it, the
function borrows a pooled connection and runs in its own transaction; with it, it joins the
caller's.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import io
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Final, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg import Connection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from fitness.config import Settings, get_settings
from fitness.errors import ConfigurationError, DatabaseUnavailable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# A pooled connection idle longer than this is pinged before use: serverless Postgres (Neon)
# closes idle connections, while pinging every checkout would double the cost of a point read.
IDLE_CHECK_AFTER_SECONDS: Final = 30.0
# How often a connection ended by the server during its session setup is made again.
SETUP_ATTEMPTS: Final = 3
# Connection parameters whose value is a secret: never printed, logged or returned.
# (libpq's own are password, sslpassword and, from PostgreSQL 18, oauth_client_secret.)
SECRET_PARAMETER_WORDS: Final = ("password", "secret", "token")
MASK: Final = "***"

_pool: ConnectionPool[FitnessConnection] | None = None
_pool_lock = threading.Lock()
_checked_out_at: weakref.WeakKeyDictionary[Connection[Any], float] = weakref.WeakKeyDictionary()
_committing: contextvars.ContextVar[bool] = contextvars.ContextVar("committing", default=False)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What every connection sets up: `values` are (setting, value) pairs to SET, those the
    URL's own `options` do not set already; `prepared_statements` is whether the settings
    allow server-side prepared statements at all."""

    values: tuple[tuple[str, str], ...]
    prepared_statements: bool


class FitnessConnection(Connection[TupleRow]):
    """A psycopg connection that sets its session up as it connects and knows whether a
    pooler stands between it and PostgreSQL (`behind_pooler`).

    A pooler answers the client's startup with a backend key of its own, because one client
    connection is served by many server backends: so when the pid the client was given is
    not the pid the server reports, something multiplexes the connection. Behind one,
    prepared statements are off (a statement prepared on one backend is missing on the
    next) and nothing is SET for the session.
    """

    session: ClassVar[SessionSettings] = SessionSettings((), True)
    behind_pooler: bool = False

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> FitnessConnection:  # type: ignore[override]
        attempts = 0
        while True:
            attempts += 1
            try:
                conn = super().connect(conninfo, **kwargs)
            except psycopg.OperationalError as error:
                _connect_failures.record(error)
                raise
            try:
                conn._set_up_session()
            except psycopg.OperationalError as error:
                conn.close()
                # Ended by the server while being set up (a restart, or an administrator
                # ending every backend as it came in): made again at once, where the pool
                # would wait a second or more before its next attempt, and requests too.
                if _is_connection_failure(error) and attempts < SETUP_ATTEMPTS:
                    continue
                _connect_failures.record(error)
                raise
            except BaseException:
                conn.close()
                raise
            _connect_failures.clear()
            return conn  # type: ignore[return-value]

    def _set_up_session(self) -> None:
        autocommit = self.autocommit
        # SET in autocommit: inside a transaction a later ROLLBACK would undo it.
        self.autocommit = True
        try:
            row = self.execute("SELECT pg_backend_pid()").fetchone()
            self.behind_pooler = row is None or row[0] != self.info.backend_pid
            if self.behind_pooler or not self.session.prepared_statements:
                self.prepare_threshold = None
            if not self.behind_pooler:
                apply_session_settings(self, local=False)
        finally:
            self.autocommit = autocommit


def database_url(settings: Settings | None = None) -> str:
    """The URL of the database in use: `DATABASE_URL`, else the embedded server's.

    In prod a missing `DATABASE_URL` is a `ConfigurationError`: production must never
    quietly write to a laptop-local database.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    if settings.is_prod:
        raise ConfigurationError(
            "DATABASE_URL is not set: FITNESS_ENV=prod needs DATABASE_URL "
            "(the embedded database is for development only)"
        )
    from fitness.db.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)


def connection_info(url: str | None = None, settings: Settings | None = None) -> str:
    """The conninfo every connection of ours uses: `url` (default: `database_url()`) with all
    its parameters kept, `connect_timeout` (seconds) added when it names none.

    Raises `ConfigurationError` when the URL cannot be parsed (without echoing it: it may
    hold a password).
    """
    settings = settings or get_settings()
    url = url or database_url(settings)
    params = _parse(url)
    if params.get("connect_timeout"):
        return url
    return make_conninfo(url, connect_timeout=settings.connect_timeout)


def connect(
    settings: Settings | None = None,
    *,
    url: str | None = None,
    autocommit: bool = False,
    connect_timeout: int | None = None,
) -> FitnessConnection:
    """A new connection outside the pool (migrations, backups, admin tasks), made and set up
    exactly as the pool makes its own; `url` defaults to `database_url()`.

    Raises `psycopg.OperationalError` with the server's message when it refuses us.
    """
    settings = settings or get_settings()
    conninfo = connection_info(url, settings)
    if connect_timeout is not None:
        conninfo = make_conninfo(conninfo, connect_timeout=connect_timeout)
    return connection_class(settings, conninfo).connect(conninfo, autocommit=autocommit)


def connection_class(settings: Settings, conninfo: str) -> type[FitnessConnection]:
    """The `FitnessConnection` class that sets up sessions for `settings` on `conninfo`."""
    return _connection_class(session_settings(settings, conninfo))


def session_settings(settings: Settings, conninfo: str) -> SessionSettings:
    """fitness's session settings, less any the URL sets itself with `options=-c name=value`
    (the URL's own choice wins: ours are merged with it, never put in its place)."""
    wanted = {"TimeZone": "UTC"}
    if settings.statement_timeout_ms:
        wanted["statement_timeout"] = str(settings.statement_timeout_ms)
    given = options_settings(str(_parse(conninfo).get("options") or ""))
    values = tuple((name, value) for name, value in wanted.items() if name.lower() not in given)
    return SessionSettings(values, settings.prepared_statements)


def options_settings(options: str) -> dict[str, str]:
    """The settings in a libpq `options` value (`-c name=value`, `-cname=value`,
    `--name=value`), by lower-cased name.

    >>> options_settings("-csearch_path=fit -c statement_timeout=5s")
    {'search_path': 'fit', 'statement_timeout': '5s'}
    """
    found: dict[str, str] = {}
    words = iter(_option_words(options))
    for word in words:
        if word == "-c":
            assignment = next(words, "")
        elif word.startswith(("-c", "--")):
            assignment = word[2:]
        else:
            continue
        name, sep, value = assignment.partition("=")
        if sep:
            found[name.strip().lower().replace("-", "_")] = value
    return found


def _option_words(options: str) -> list[str]:
    # libpq splits `options` at spaces, except one escaped by a backslash (`\\` is a backslash).
    words: list[str] = []
    current: list[str] = []
    escaped = False
    for char in options:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def apply_session_settings(conn: Connection[Any], *, local: bool) -> None:
    """SET fitness's session settings on `conn`: for the session, or (`local`) for the
    current transaction only. One round trip; SET takes no snapshot, so a transaction can
    still choose its isolation level afterwards."""
    session = conn.session if isinstance(conn, FitnessConnection) else SessionSettings((), True)
    if not session.values:
        return
    command = sql.SQL("SET LOCAL" if local else "SET")
    conn.execute(
        sql.SQL("; ").join(
            sql.SQL("{} {} = {}").format(command, sql.Identifier(name), sql.Literal(value))
            for name, value in session.values
        )
    )


def masked_url(url: str) -> str:
    """`url` with every secret-bearing parameter (`password`, `sslpassword`,
    `oauth_client_secret`, any name with "password", "secret" or "token" in it) shown as
    `***`, safe to print or log. The URL's form (URL or key=value) is kept.

    >>> masked_url("postgresql://me:pw@db/fit?sslpassword=x&sslmode=require")
    'postgresql://me:***@db/fit?sslpassword=%2A%2A%2A&sslmode=require'
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    if not any(_is_secret(name) for name in params):
        return url
    if "://" not in url:
        return make_conninfo(
            "", **{name: MASK if _is_secret(name) else value for name, value in params.items()}
        )
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hosts}"
    query = urlencode(
        [
            (name, MASK if _is_secret(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    # Not urlunsplit: it drops the `//` of a URL with no host (postgresql:///fit?host=...).
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def server_said(error: BaseException) -> str:
    """What the server (or libpq, when no server answered) said in `error`, on one line and
    without the host, port or socket path that libpq puts before it.

    >>> server_said(psycopg.OperationalError(
    ...     'connection to server at "10.0.0.5", port 6432 failed: '
    ...     'FATAL:  unsupported startup parameter: options'))
    'unsupported startup parameter: options'
    """
    diag = getattr(error, "diag", None)
    primary = diag.message_primary if diag is not None else None
    if primary:
        return " ".join(primary.split())
    text = str(error)
    for marker in ("FATAL:", "ERROR:"):
        if marker in text:
            return " ".join(text.rsplit(marker, 1)[1].strip().splitlines()[0].split())
    if " failed: " in text:
        text = text.rsplit(" failed: ", 1)[1]
    lines = text.strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(error).__name__


def last_connection_failure() -> str | None:
    """What the server said when the last attempt to connect failed, unless one succeeded
    since (None then)."""
    return _connect_failures.last()


def get_pool() -> ConnectionPool[FitnessConnection]:
    """The process-wide pool, opened on first use from the settings, closed at exit."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _open_pool(get_settings())
    return _pool


def open_pool(settings: Settings | None = None) -> ConnectionPool[FitnessConnection]:
    """Open the process-wide pool now, from `settings`; a pool already open is kept.

    The API's lifespan calls this so that `create_app(settings)` serves from the database
    those settings name. Opening does not wait for a connection: a database that is down
    only makes requests fail (and recover) later.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _open_pool(settings or get_settings())
    return _pool


def close_pool() -> None:
    """Close the pool (the API's lifespan and the tests call this); safe to call twice."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


# Scripts never call close_pool themselves: end their connections cleanly at exit.
atexit.register(close_pool)


@contextmanager
def connection(
    conn: Connection[Any] | None = None, *, timeout: float | None = None
) -> Iterator[Connection[Any]]:
    """Yield `conn` if given, else a pooled connection (in autocommit) returned afterwards.

    Raises `DatabaseUnavailable`, saying what the server last said, when no pooled
    connection can be had within `timeout` seconds (default: the pool timeout).
    """
    if conn is not None:
        yield conn
        return
    with _pooled(timeout) as pooled:
        yield pooled


@contextmanager
def transaction(conn: Connection[Any] | None = None) -> Iterator[Connection[Any]]:
    """Yield a connection inside a transaction that commits when the block ends cleanly.

    With `conn`, the block runs in a savepoint of the caller's transaction, so a failure
    inside it rolls back only what the block did and the caller can carry on. Without it,
    a pooled connection that turns out dead at BEGIN (the server ended it while it sat in
    the pool: a restart, an administrator, a pooler's idle timeout) is replaced before the
    block runs, so every write path survives that, whatever it does inside.
    """
    if conn is not None:
        with conn.transaction():
            yield conn
        return
    try:
        pooled, stack = _begin()
    except psycopg.OperationalError as error:
        if not _is_connection_failure(error):
            raise
        logger.warning("Database connection lost before BEGIN (%s); retrying", server_said(error))
        get_pool().check()
        pooled, stack = _begin()
    with stack:
        yield pooled
        # Errors from here on come from COMMIT: the server may have committed, so the
        # caller must not blindly retry (see retry_on_disconnect).
        _committing.set(True)


def retry_on_disconnect(function: Callable[P, T]) -> Callable[P, T]:
    """Run `function` again, once, when its connection turned out to be dead.

    Only for calls that own their transaction (no `conn=`), and only when the failure came
    before COMMIT: then the server rolled the transaction back and a retry cannot write twice.
    A function that reads a stream (a seekable binary file among its arguments) reads it
    again from where it started; with a stream that cannot go back there is no retry.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs.get("conn") is not None:
            return function(*args, **kwargs)
        starts = _stream_positions(args, kwargs)
        token = _committing.set(False)
        try:
            return function(*args, **kwargs)
        except psycopg.OperationalError as error:
            if _committing.get() or not _is_connection_failure(error) or starts is None:
                raise
            logger.warning("Database connection lost (%s); retrying once", server_said(error))
            # A server restart or a Neon suspend kills every idle connection at once:
            # weed them all out so the retry gets a live one.
            get_pool().check()
            for stream, position in starts:
                stream.seek(position)
            _committing.set(False)
            return function(*args, **kwargs)
        finally:
            _committing.reset(token)

    return wrapper


def _stream_positions(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> list[tuple[Any, int]] | None:
    """Where each file-like argument stands now; None if one of them cannot seek back."""
    positions: list[tuple[Any, int]] = []
    for value in (*args, *kwargs.values()):
        if not _is_stream(value):
            continue
        stream: Any = value
        try:
            if not stream.seekable():
                return None
            positions.append((stream, stream.tell()))
        except (OSError, ValueError):
            return None
    return positions


def _is_stream(value: object) -> bool:
    return isinstance(value, io.IOBase) or (
        callable(getattr(value, "read", None)) and callable(getattr(value, "seekable", None))
    )


def _is_connection_failure(error: psycopg.OperationalError) -> bool:
    # A PoolTimeout already waited the whole pool timeout without getting a connection:
    # waiting again would only double the time a request hangs while the database is down.
    if isinstance(error, PoolTimeout):
        return False
    # No SQLSTATE means the client lost the connection; class 08 is "connection exception";
    # 57P01..57P03 are admin shutdown, crash shutdown and cannot connect now.
    state = error.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _begin() -> tuple[Connection[Any], ExitStack]:
    """A pooled connection with a transaction begun (and, behind a pooler, the session
    settings SET LOCAL), and the stack that ends both."""
    with ExitStack() as stack:
        pooled = stack.enter_context(_pooled(None))
        stack.enter_context(pooled.transaction())
        if isinstance(pooled, FitnessConnection) and pooled.behind_pooler:
            apply_session_settings(pooled, local=True)
        return pooled, stack.pop_all()


@contextmanager
def _pooled(timeout: float | None) -> Iterator[FitnessConnection]:
    pool = get_pool()
    try:
        with pool.connection(timeout) as pooled:
            yield pooled
    except PoolTimeout as error:
        raise DatabaseUnavailable(_no_connection_message(pool, timeout)) from error


def _no_connection_message(pool: ConnectionPool[FitnessConnection], timeout: float | None) -> str:
    waited = timeout if timeout is not None else pool.timeout
    failure = last_connection_failure()
    if failure is not None:
        return f"the database refused or did not answer the connection: {failure}"
    return (
        f"no database connection became free within {waited:g} s (all {pool.max_size} are in use)"
    )


class _ConnectFailures:
    """The last connection attempt's failure, as the server worded it, until one succeeds:
    the pool retries in the background, and this is what a request that waited in vain
    reports instead of a bare timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: str | None = None

    def record(self, error: BaseException) -> None:
        said = server_said(error)
        with self._lock:
            self._last = said

    def clear(self) -> None:
        with self._lock:
            self._last = None

    def last(self) -> str | None:
        with self._lock:
            return self._last


_connect_failures = _ConnectFailures()


@functools.lru_cache(maxsize=16)
def _connection_class(session: SessionSettings) -> type[FitnessConnection]:
    return type("FitnessConnection", (FitnessConnection,), {"session": session})


def _open_pool(settings: Settings) -> ConnectionPool[FitnessConnection]:
    conninfo = connection_info(None, settings)
    pool: ConnectionPool[FitnessConnection] = ConnectionPool(
        conninfo,
        connection_class=connection_class(settings, conninfo),
        min_size=settings.pool_min_size,
        max_size=max(settings.pool_max_size, settings.pool_min_size),
        timeout=settings.pool_timeout,
        # Autocommit: a function that runs one SELECT costs one round trip, not three (BEGIN,
        # SELECT, COMMIT); transaction() still wraps every write in BEGIN ... COMMIT.
        kwargs={"autocommit": True},
        # No `reset=` callback: with one, psycopg_pool hands every returned connection to
        # a worker thread, which made a point read 25% slower and grew the pool for nothing.
        check=_check_if_idle,
        # Reconnection attempts back off exponentially; ending them after the pool timeout
        # lets the next request start afresh, so that requests succeed again soon after the
        # database is back, not only once a backoff of minutes has run out.
        reconnect_timeout=settings.pool_timeout,
        name="fitness",
        open=True,
    )
    logger.debug("Opened connection pool (max %s connections)", settings.pool_max_size)
    return pool


def _check_if_idle(conn: Connection[Any]) -> None:
    # Time since the last checkout is never less than time idle since the return, so this
    # pings every connection idle for longer than the limit (and, rarely, one held that long).
    now = time.monotonic()
    last = _checked_out_at.get(conn)
    if last is None or now - last > IDLE_CHECK_AFTER_SECONDS:
        ConnectionPool.check_connection(conn)
    _checked_out_at[conn] = now


def _parse(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ConfigurationError(
            "DATABASE_URL cannot be parsed as a libpq URL or key=value connection string"
        ) from None


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_PARAMETER_WORDS)
