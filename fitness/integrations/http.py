"""Authorised requests to an OAuth-protected API, with the retry rules every client shares.

A request carries the provider's current access token. A 401 refreshes the token once and
retries; a second 401 means the authorisation is gone. Timeouts, connection errors and 5xx
answers are retried a bounded number of times with exponential backoff. Messages name the
service and the operation, never a token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final, Self

import httpx

from fitness.errors import IntegrationError, ReauthorizationRequired
from fitness.integrations.oauth import valid_access_token

logger = logging.getLogger(__name__)

# A provider's Retry-After is believed up to a day: a larger one (or a date years ahead) is
# a bug or an attack on our arithmetic, and a day is the longest any rate window lasts.
MAX_RETRY_AFTER: Final = timedelta(days=1)


def retry_after(response: httpx.Response, now: datetime | None = None) -> datetime | None:
    """When a 429 or 503 says to try again (UTC): its Retry-After, in seconds or as an HTTP
    date (RFC 9110 section 10.2.3), at most `MAX_RETRY_AFTER` from `now`; None when it says
    nothing readable."""
    now = now or datetime.now(UTC)
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        # Capped as a number: timedelta overflows on a long run of digits.
        return now + timedelta(seconds=min(int(value), MAX_RETRY_AFTER.total_seconds()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return min(max(when, now), now + MAX_RETRY_AFTER)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try a request in all, and the first pause between tries (it doubles)."""

    max_attempts: int = 3
    backoff_seconds: float = 0.5


class AuthorisedClient:
    """What every API client shares: its HTTP connections and its retry policy.

    A client made with its own `http_client` (tests, a shared pool) leaves closing it to the
    caller; one it made itself it closes in `close()` or at the end of a `with` block.
    """

    def __init__(
        self,
        *,
        http_client: httpx.Client | None,
        max_attempts: int,
        backoff_seconds: float,
        timeout: float,
    ) -> None:
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._policy = RetryPolicy(max(1, max_attempts), backoff_seconds)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (only those this client opened itself)."""
        if self._owns_http:
            self._http.close()


def send_authorised(
    http: httpx.Client,
    *,
    provider: str,
    service: str,
    operation: str,
    method: str,
    url: str,
    policy: RetryPolicy,
    inspect: Callable[[httpx.Response], None] | None = None,
    **request: Any,
) -> httpx.Response:
    """Send one request with `provider`'s token; return the first answer below 500.

    `inspect` sees every answer first and may raise (a provider's rate limit, or an answer
    that refuses the whole connection, is its own business). Raises
    `ReauthorizationRequired` on a 401 with a freshly refreshed token and `IntegrationError`
    when the retries are used up.
    """
    failures = 0
    refreshed = refresh_now = False
    while True:
        token = valid_access_token(provider, http, force_refresh=refresh_now)
        refresh_now = False
        try:
            response = http.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **request
            )
        except httpx.TimeoutException:
            problem = "did not answer in time"
        except httpx.TransportError as error:
            problem = f"could not be reached ({type(error).__name__})"
        else:
            if inspect is not None:
                inspect(response)
            if response.status_code == 401:
                if refreshed:
                    raise ReauthorizationRequired(
                        provider,
                        f"{service} refused a freshly refreshed access token (was access "
                        f"revoked?): run `fitness connect {provider}`",
                    )
                # Revoked or expired early: refresh the token once and try again.
                refreshed = refresh_now = True
                continue
            if response.status_code < 500:
                return response
            problem = f"answered HTTP {response.status_code}"
        failures += 1
        if failures >= policy.max_attempts:
            raise IntegrationError(f"{service} {problem} to {operation} ({failures} attempts)")
        delay = policy.backoff_seconds * 2 ** (failures - 1)
        logger.warning("%s %s to %s; retrying in %.1f s", service, problem, operation, delay)
        time.sleep(delay)
