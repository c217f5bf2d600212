"""`fitness connections`, `fitness connect <provider>`, `fitness disconnect <provider>`:
see, make and end the Strava and Google connections, and Hevy's API key, from a terminal."""

from __future__ import annotations

import argparse
import secrets
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Final

import httpx

from fitness.cli._common import Subcommands, prepare_database
from fitness.config import get_settings
from fitness.integrations.connections import (
    ApiKeyStatus,
    ConnectionStatus,
    api_key_status,
    connection_status,
    disconnect,
    forget_api_key,
)
from fitness.integrations.consent import STATE_LIFETIME, complete_consent, start_consent
from fitness.integrations.hevy import KEY_HELP, RETIRE_KEY_HELP
from fitness.integrations.hevy import PROVIDER as HEVY
from fitness.integrations.loopback import Redirect, TerminalRedirect, redirect_sources
from fitness.integrations.oauth import PROVIDERS, get_provider

HTTP_TIMEOUT_SECONDS: Final = 15.0


def add(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "connections",
        help="show whether Strava, Google and Hevy are connected",
        description=(
            "For each provider: connected or not and where the credentials came from, the "
            "permissions granted, when the access token expires, the last refresh and the "
            "last sync's outcome, and how the environment's variables stand to what is "
            "stored; for Hevy, whether its API key is stored and the last sync. Asks no "
            "provider anything."
        ),
    )
    parser.set_defaults(handler=_connections)

    parser = commands.add_parser(
        "connect",
        help="connect Strava or Google from this terminal",
        description=(
            "Prints the provider's consent address: open it in a browser and grant access. "
            "The provider sends the browser back to FITNESS_PUBLIC_BASE_URL's callback "
            "(http://127.0.0.1:8000 by default), where this command listens; or paste the "
            "address the browser was sent to (or only its code) here. The consent is "
            "single-use, lasts ten minutes and only this process can finish it."
        ),
    )
    parser.add_argument("provider", choices=PROVIDERS)
    parser.add_argument(
        "--port",
        type=_port,
        help=(
            "listen on this port of 127.0.0.1 instead (the provider must accept "
            "http://127.0.0.1:PORT/oauth/PROVIDER/callback as a redirect)"
        ),
    )
    parser.add_argument(
        "--no-listen",
        action="store_true",
        help="do not listen: wait for the pasted address only",
    )
    parser.set_defaults(handler=_connect)

    parser = commands.add_parser(
        "disconnect",
        help="revoke fitness's access at Strava or Google and forget it here; forget Hevy's key",
        description=(
            "Revokes fitness's access at the provider (Strava: STRAVA_REVOKE_URL; Google: its "
            "revoke endpoint), then forgets the stored tokens. If the provider cannot be "
            "reached nothing is forgotten; --forget-only skips the revocation. For hevy, "
            "forgets the stored API key (Hevy cannot revoke one from here: generate a new "
            "key in Hevy's settings to retire it)."
        ),
    )
    parser.add_argument("provider", choices=(*PROVIDERS, HEVY))
    parser.add_argument(
        "--forget-only",
        action="store_true",
        help="forget the tokens here without asking the provider to revoke them",
    )
    parser.set_defaults(handler=_disconnect)


def _connections(args: argparse.Namespace) -> int:
    prepare_database()
    for provider in PROVIDERS:
        print("\n".join(describe(connection_status(provider))))
    print("\n".join(describe_api_key(api_key_status())))
    return 0


def describe_api_key(status: ApiKeyStatus) -> list[str]:
    """Hevy's key as lines for people, in the shape of `describe`."""
    name = f"{status.provider:<7}"
    if not status.stored and status.environment == "unset":
        return [f"{name} not connected", *_indented([KEY_HELP])]
    lines = [f"{name} " + ("API key stored (encrypted)" if status.stored else "no key stored")]
    details = {
        "unset": None,
        "in use": "HEVY_API_KEY is the stored key",
        "not yet used": "HEVY_API_KEY is set: the next sync tries it, and stores it if Hevy "
        "accepts it",
        "changed": "HEVY_API_KEY differs: it replaces the stored key on the next sync",
    }[status.environment]
    synced = status.last_synced_at
    last = f"synced up to {_when(synced)}" if synced else "last sync: none complete yet"
    return lines + _indented([details, last])


def describe(status: ConnectionStatus) -> list[str]:
    """The status as lines for people: the provider's name, then indented details."""
    name = f"{status.provider:<7}"
    if not status.connected:
        return [f"{name} not connected", *_indented([status.action])]
    source = {"environment": "from the environment", "consent": "by consent"}.get(
        status.source or "", "source unknown"
    )
    lines = [f"{name} connected ({source})"]
    if status.granted_scope is None:
        details = [f"granted: not known (only a consent says: `fitness connect {status.provider}`)"]
    else:
        details = [f"granted: {', '.join(status.granted_scope) or 'nothing'}"]
    details += [f"missing: '{label}' (required)" for label in status.missing]
    details += [f"not granted: '{label}'" for label in status.not_granted]
    if status.access_token_expires_at is not None:
        details.append(f"access token valid until {_when(status.access_token_expires_at)}")
    if status.last_refreshed_at is not None:
        details.append(f"last refreshed {_when(status.last_refreshed_at)}")
    if status.last_sync_at is None:
        details.append("last sync: none yet")
    else:
        message = f": {status.last_sync_message}" if status.last_sync_message else ""
        details.append(
            f"last sync {_when(status.last_sync_at)}: {status.last_sync_outcome}{message}"
        )
    if status.environment == "changed":
        details.append("the environment's credentials changed: they replace these on next use")
    return lines + _indented([*details, status.action])


def _connect(args: argparse.Namespace) -> int:
    prepare_database()
    settings = get_settings()
    provider = get_provider(args.provider, settings)
    where = TerminalRedirect.choose(
        settings.public_base_url, provider.name, port=args.port, listen=not args.no_listen
    )
    port, redirect_uri = where.port, where.redirect_uri
    secret = secrets.token_urlsafe(32)
    started = start_consent(provider, redirect_uri, flow="terminal", binding=secret)
    print(f"Open this address in a browser and grant access to {provider.title}:\n", flush=True)
    print(f"  {started.authorization_url}\n", flush=True)

    def finish(redirect: Redirect) -> str:
        with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as http:
            consent = complete_consent(
                provider,
                state=redirect.state or started.state,
                binding=secret,
                flow="terminal",
                code=redirect.code,
                error=redirect.error,
                scope=redirect.scope,
                http_client=http,
            )
        granted = consent.granted_scope
        said = [
            f"{provider.title} connected" + (f": granted {', '.join(granted)}." if granted else ".")
        ]
        return "\n".join(said + [f"Note: {note}." for note in consent.notes()])

    lines = None if sys.stdin is None or sys.stdin.closed else sys.stdin
    with ExitStack() as stack:
        try:
            wait = stack.enter_context(redirect_sources(port=port, path=where.path, lines=lines))
        except OSError as error:
            print(f"(cannot listen for {redirect_uri}: {error.strerror or error})", flush=True)
            port = None
            wait = stack.enter_context(redirect_sources(port=None, path=where.path, lines=lines))
        if port is not None:
            print(
                f"Waiting for {provider.title} to send the browser back to {redirect_uri} ...",
                flush=True,
            )
        print(
            "Or paste here the address the browser was sent to (or its code), then Enter.",
            flush=True,
        )
        print(wait(STATE_LIFETIME.total_seconds(), finish))
    return 0


def _disconnect(args: argparse.Namespace) -> int:
    prepare_database()
    if args.provider == HEVY:
        return _forget_hevy_key()
    provider = get_provider(args.provider)
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as http:
        done = disconnect(provider, http_client=http, revoke=not args.forget_only)
    if not done.was_connected:
        print(f"{provider.title} was not connected; nothing to do.")
    else:
        said = {
            "revoked": f"{provider.title} revoked fitness's access",
            "already revoked": f"{provider.title} had already revoked fitness's access",
            "not attempted": "access not revoked at the provider (--forget-only)",
        }[done.revocation]
        print(f"{provider.title} disconnected: {said}; the stored tokens are forgotten.")
    if done.environment_still_set:
        print(
            f"Note: {provider.env_prefix}_REFRESH_TOKEN is still set; fitness stores it again on "
            "its next use. Remove it to stay disconnected."
        )
    return 0


def _forget_hevy_key() -> int:
    if forget_api_key():
        print(f"Hevy's stored API key is forgotten. {RETIRE_KEY_HELP}.")
    else:
        print("No Hevy API key was stored; nothing to do.")
    if get_settings().hevy_api_key:
        print(
            "Note: HEVY_API_KEY is still set; the next sync stores it again. Remove it to "
            "stay disconnected."
        )
    return 0


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port (1 to 65535)")
    return int(value)


def _indented(lines: list[str | None]) -> list[str]:
    return [f"        {line}" for line in lines if line]


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
