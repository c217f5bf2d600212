"""A fake OAuth 2 token endpoint that behaves like Strava's (or Google's) for our tests.

It rotates refresh tokens (Strava does: the previous one stops working at once), issues
access tokens with an expiry, and exchanges one-time authorisation codes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.http import Reply, Request

CLIENT_ID = "client-123"
CLIENT_SECRET = "client-secret-shh"
FIRST_REFRESH_TOKEN = "refresh-token-0"


@dataclass
class FakeTokenEndpoint:
    """POST handler for a token URL. `style` is "strava" (rotation, `expires_at`) or "google"."""

    style: str = "strava"
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    valid_refresh_token: str = FIRST_REFRESH_TOKEN
    lifetime_seconds: int = 6 * 3600
    valid_codes: set[str] = field(default_factory=lambda: {"good-code"})
    refreshes: int = 0
    exchanges: int = 0
    before_reply: Callable[[], None] | None = None
    failure: Reply | None = None
    _issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Reply:
        if self.before_reply is not None:
            self.before_reply()
        if self.failure is not None:
            return self.failure
        form = request.form()
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return self._rejected_client()
        with self._lock:
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") != self.valid_refresh_token:
                    return self._invalid_grant()
                self.refreshes += 1
                return Reply(200, self._new_tokens(rotate=self.style == "strava"))
            if form.get("grant_type") == "authorization_code":
                if form.get("code") not in self.valid_codes:
                    return self._invalid_grant()
                self.valid_codes.discard(form["code"])
                self.exchanges += 1
                return Reply(200, self._new_tokens(rotate=True))
        return Reply(400, {"error": "unsupported_grant_type"})

    @property
    def current_access_token(self) -> str:
        return f"access-token-{self._issued}"

    def _new_tokens(self, rotate: bool) -> dict[str, object]:
        self._issued += 1
        body: dict[str, object] = {
            "token_type": "Bearer",
            "access_token": self.current_access_token,
            "expires_in": self.lifetime_seconds,
        }
        if self.style == "strava":
            body["expires_at"] = int(time.time()) + self.lifetime_seconds
        if rotate:
            self.valid_refresh_token = f"refresh-token-{self._issued}"
            body["refresh_token"] = self.valid_refresh_token
        return body

    def _invalid_grant(self) -> Reply:
        if self.style == "strava":
            return Reply(
                400,
                {
                    "message": "Bad Request",
                    "errors": [
                        {"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}
                    ],
                },
            )
        return Reply(
            400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
        )

    def _rejected_client(self) -> Reply:
        if self.style == "strava":
            return Reply(
                401,
                {
                    "message": "Authorization Error",
                    "errors": [
                        {"resource": "Application", "field": "client_secret", "code": "invalid"}
                    ],
                },
            )
        return Reply(401, {"error": "invalid_client"})
