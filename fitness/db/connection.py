"""The connection pool and the transaction helpers every db function is built on.

A public db function takes an optional keyword `conn`: without it, the function borrows a
pooled connection and runs in its own transaction; with it, it joins the caller's.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import psycopg
from psycopg import Connection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from fitness.config import Settings, get_settings
from fitness.errors import ConfigurationError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# A pooled connection idle longer than this is pinged before use: serverless Postgres (Neon)
# closes idle connections, while pinging every checkout would double the cost of a point read.
IDLE_CHECK_AFTER_SECONDS = 30.0

_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()
_checked_out_at: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()
_committing: contextvars.ContextVar[bool] = contextvars.ContextVar("committing", default=False)


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


def connect_kwargs(settings: Settings | None = None) -> dict[str, object]:
    """Connection parameters that every connection of ours gets."""
    settings = settings or get_settings()
    kwargs: dict[str, object] = {"connect_timeout": settings.connect_timeout}
    if not settings.prepared_statements:
        kwargs["prepare_threshold"] = None
    return kwargs


def connect(settings: Settings | None = None, **overrides: object) -> Connection:
    """A new connection outside the pool (for migrations, admin tasks and health checks)."""
    settings = settings or get_settings()
    kwargs = connect_kwargs(settings) | overrides
    return psycopg.connect(database_url(settings), **kwargs)  # type: ignore[arg-type]


def masked_url(url: str) -> str:
    """`url` with any password replaced by `***`, safe to print or log."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    if "password" not in params or not params["password"]:
        return url
    if "://" in url:
        scheme, rest = url.split("://", 1)
        userinfo, sep, hostpart = rest.rpartition("@")
        if sep and ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            return f"{scheme}://{user}:***@{hostpart}"
    params["password"] = "***"
    return make_conninfo("", **params)


def get_pool() -> ConnectionPool:
    """The process-wide pool, opened on first use from the settings, closed at exit."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _open_pool(get_settings())
    return _pool


def open_pool(settings: Settings | None = None) -> ConnectionPool:
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
def connection(conn: Connection | None = None) -> Iterator[Connection]:
    """Yield `conn` if given, else a pooled connection returned to the pool afterwards."""
    if conn is not None:
        yield conn
        return
    with get_pool().connection() as pooled:
        yield pooled


@contextmanager
def transaction(conn: Connection | None = None) -> Iterator[Connection]:
    """Yield a connection inside a transaction that commits when the block ends cleanly.

    With `conn`, the block runs in a savepoint of the caller's transaction, so a failure
    inside it rolls back only what the block did and the caller can carry on.
    """
    if conn is not None:
        with conn.transaction():
            yield conn
        return
    with get_pool().connection() as pooled, pooled.transaction():
        yield pooled
        # Errors from here on come from COMMIT: the server may have committed, so the
        # caller must not blindly retry (see retry_on_disconnect).
        _committing.set(True)


def retry_on_disconnect(function: Callable[P, T]) -> Callable[P, T]:
    """Run `function` again, once, when its pooled connection turned out to be dead.

    Only for calls that own their transaction (no `conn=`), and only when the failure came
    before COMMIT: then the server rolled the transaction back and a retry cannot write twice.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs.get("conn") is not None:
            return function(*args, **kwargs)
        token = _committing.set(False)
        try:
            return function(*args, **kwargs)
        except psycopg.OperationalError as error:
            if _committing.get() or not _is_connection_failure(error):
                raise
            logger.warning("Database connection lost (%s); retrying once", type(error).__name__)
            # A server restart or a Neon suspend kills every idle connection at once:
            # weed them all out so the retry gets a live one.
            get_pool().check()
            _committing.set(False)
            return function(*args, **kwargs)
        finally:
            _committing.reset(token)

    return wrapper


def _is_connection_failure(error: psycopg.OperationalError) -> bool:
    # A PoolTimeout already waited the whole pool timeout without getting a connection:
    # waiting again would only double the time a request hangs while the database is down.
    if isinstance(error, PoolTimeout):
        return False
    # No SQLSTATE means the client lost the connection; class 08 is "connection exception";
    # 57P01..57P03 are admin shutdown, crash shutdown and cannot connect now.
    state = error.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _open_pool(settings: Settings) -> ConnectionPool:
    url = database_url(settings)
    kwargs = connect_kwargs(settings)
    # Autocommit: a function that runs one SELECT costs one round trip, not three (BEGIN,
    # SELECT, COMMIT); transaction() still wraps every write in BEGIN ... COMMIT.
    kwargs["autocommit"] = True
    if settings.prepared_statements:
        # PgBouncer rejects the `options` startup parameter, so these are only set when we
        # talk to PostgreSQL directly. In a UTC session psycopg builds UTC datetimes
        # directly, instead of building them in the server's zone for the models to convert.
        options = ["-c TimeZone=UTC"]
        if settings.statement_timeout_ms:
            options.append(f"-c statement_timeout={settings.statement_timeout_ms}")
        kwargs["options"] = " ".join(options)
    pool = ConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=max(settings.pool_max_size, settings.pool_min_size),
        timeout=settings.pool_timeout,
        kwargs=kwargs,
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


def _check_if_idle(conn: Connection) -> None:
    # Time since the last checkout is never less than time idle since the return, so this
    # pings every connection idle for longer than the limit (and, rarely, one held that long).
    now = time.monotonic()
    last = _checked_out_at.get(conn)
    if last is None or now - last > IDLE_CHECK_AFTER_SECONDS:
        ConnectionPool.check_connection(conn)
    _checked_out_at[conn] = now
