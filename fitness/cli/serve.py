"""`fitness serve`: the HTTP API under Granian, on loopback unless tokens protect it.

The server bounds what a client can hold (see `SERVER_LIMITS` and README, Guarantees): a
request head larger than `MAX_HEADER_BYTES` is a 431, a connection that has not sent a
whole request head `HEADER_TIMEOUT_SECONDS` after it opened (or after its previous
response) is closed, and at most `MAX_CONNECTIONS` connections are served at once (more
wait in the listen backlog). uvicorn, which served before, has none of the three with its
fast parser (httptools): no header limit, no timeout before the first request, and a
concurrency limit that answers 503 to everyone once slow clients fill it. Granian (hyper,
in Rust) has all three built in. Request bodies are bounded by the app itself
(fitness.server.limits), so they hold under any server.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
from dataclasses import dataclass
from typing import Any, Final

from fitness.cli._common import Subcommands, logger, prepare_database
from fitness.config import Settings, get_settings
from fitness.errors import ConfigurationError
from fitness.server.auth import check_settings, is_loopback
from fitness.server.limits import MAX_HEAD_BYTES

APP_FACTORY: Final = "fitness.api.app:create_app"


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one client may hold of the server: header bytes, time, connections."""

    max_header_bytes: int
    header_timeout_seconds: float
    max_connections: int
    listen_backlog: int


# A head's bytes are fitness.server.limits.MAX_HEAD_BYTES (the app measures every head
# again). 10 s is what a slow phone needs to send a head, and Go's usual ReadHeaderTimeout.
# 512 connections: far beyond one user's clients, and each costs the server at most one
# header buffer while it waits.
SERVER_LIMITS: Final = ServerLimits(
    max_header_bytes=MAX_HEAD_BYTES,
    header_timeout_seconds=10.0,
    max_connections=512,
    listen_backlog=1024,
)


def add(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the HTTP API",
        description=(
            "Serve the HTTP API with Granian. On the embedded database, migrations are "
            "applied first; a DATABASE_URL database must already be at head "
            "(`fitness db upgrade`). Without FITNESS_API_TOKENS the API is unauthenticated "
            "and serves on loopback only."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (%(default)s)")
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help=(
            "without FITNESS_API_TOKENS, listen on a --host other machines reach, for the "
            "ingest routes only (each request with an ingest token: `fitness tokens mint`); "
            "every other route still answers this machine only"
        ),
    )
    # A server's log is its output: INFO without --verbose.
    parser.set_defaults(handler=_serve, logs_by_default=True)


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    _check_exposure(settings, args.host, ingest_only=args.ingest_only)
    check_settings(settings)
    address = _listen_address(args.host, args.port)
    prepare_database(settings)
    if not settings.api_tokens and is_loopback(args.host):
        # Only once the server will start: a refusal above is the one line printed.
        logger.warning(
            "FITNESS_API_TOKENS is not set: the API is unauthenticated and serves on "
            "loopback only (%s)",
            args.host,
        )
    elif not settings.api_tokens:
        logger.warning(
            "FITNESS_API_TOKENS is not set: other machines reach only the ingest routes, "
            "with an ingest token; the rest of the API answers this machine only (%s)",
            args.host,
        )
    server = _server(address, args.port, debug=args.debug)
    logger.info("Serving the API on http://%s", _authority(address, args.port))
    server.serve()
    return 0


def _server(address: str, port: int, *, debug: bool) -> Any:
    """The Granian server for `create_app`, with `SERVER_LIMITS`: one worker process."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    limits = SERVER_LIMITS
    return Granian(
        APP_FACTORY,
        factory=True,
        address=address,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        # HTTP/1.1 only: HTTP/2 (h2c) would bring limits of its own to keep.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(limits.header_timeout_seconds * 1000),
            keep_alive=True,
            max_buffer_size=limits.max_header_bytes,
        ),
        backpressure=limits.max_connections,
        backlog=limits.listen_backlog,
        log_level=LogLevels.info if debug else LogLevels.warning,
        log_dictconfig=_log_config(debug),
    )


def _log_config(debug: bool) -> dict[str, Any]:
    """The worker process's logging: what `fitness` itself logs (fitness.cli.main)."""
    from fitness.cli import LOG_FORMAT

    root = logging.getLogger()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"fitness": {"format": LOG_FORMAT, "datefmt": "%Y-%m-%dT%H:%M:%S"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "fitness",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "DEBUG" if debug else root.level},
        "loggers": {"alembic": {"level": "WARNING"}},
    }


def _check_exposure(settings: Settings, host: str, *, ingest_only: bool = False) -> None:
    """Refuse to serve an unauthenticated API anywhere but on this machine.

    With `ingest_only` (dev), a non-loopback `host` is allowed without tokens: the app then
    serves other machines nothing but the ingest routes, each request with an ingest token
    (fitness.server.auth).
    """
    if settings.api_tokens:
        return
    if settings.is_prod:
        raise ConfigurationError(
            "FITNESS_API_TOKENS is not set: FITNESS_ENV=prod never serves an unauthenticated API"
        )
    if not is_loopback(host) and not ingest_only:
        raise ConfigurationError(
            f"FITNESS_API_TOKENS is not set: without tokens the API serves only on loopback "
            f"(127.0.0.1, ::1, localhost), not on {host} (add --ingest-only to serve other "
            "machines the ingest routes alone)"
        )


def _listen_address(host: str, port: int) -> str:
    """The IP address to listen on for `host`, once it is known that it can be listened on.

    Raises `ConfigurationError` (one line) when the name does not resolve or the port is in
    use or not ours to take, before anything starts.
    """
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(
            host.removeprefix("[").removesuffix("]"),
            port,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )[0]
    except socket.gaierror as error:
        raise ConfigurationError(f"cannot listen on {host}: {error.strerror}") from None
    address = str(sockaddr[0])
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server will: a port still in TIME_WAIT from a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as error:
            where = _authority(address, port)
            if error.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"{where} is already in use: stop what listens there or pick another --port"
                ) from None
            raise ConfigurationError(
                f"cannot listen on {where}: {error.strerror or error}"
            ) from None
    return address


def _authority(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port
