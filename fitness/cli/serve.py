"""`fitness serve`: the HTTP API under uvicorn, on loopback unless tokens protect it."""

from __future__ import annotations

import argparse
import ipaddress

from fitness.api.auth import check_settings
from fitness.cli._common import Subcommands, logger, prepare_database
from fitness.config import Settings, get_settings
from fitness.errors import ConfigurationError

LOOPBACK_NAMES = ("localhost",)


def add(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the HTTP API",
        description=(
            "Serve the HTTP API with uvicorn. On the embedded database, migrations are "
            "applied first; a DATABASE_URL database must already be at head "
            "(`fitness db upgrade`). Without FITNESS_API_TOKENS the API is unauthenticated "
            "and serves on loopback only."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (%(default)s)")
    # A server's log is its output: INFO without --verbose.
    parser.set_defaults(handler=_serve, logs_by_default=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    _check_exposure(settings, args.host)
    check_settings(settings)
    prepare_database(settings)
    if not settings.api_tokens:
        # Only once the server will start: a refusal above is the one line printed.
        logger.warning(
            "FITNESS_API_TOKENS is not set: the API is unauthenticated and serves on "
            "loopback only (%s)",
            args.host,
        )
    uvicorn.run(
        "fitness.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        log_config=None,
    )
    return 0


def _check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve an unauthenticated API anywhere but on this machine."""
    if settings.api_tokens:
        return
    if settings.is_prod:
        raise ConfigurationError(
            "FITNESS_API_TOKENS is not set: FITNESS_ENV=prod never serves an unauthenticated API"
        )
    if not is_loopback(host):
        raise ConfigurationError(
            f"FITNESS_API_TOKENS is not set: without tokens the API serves only on loopback "
            f"(127.0.0.1, ::1, localhost), not on {host}"
        )


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1, bracketed or not)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port
