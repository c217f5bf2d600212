"""A fake OAuth 2 provider (Strava's or Google's way): consent page, token and revoke
endpoints, answering as the providers document and as their users report.

- The consent page (`GET .../authorize`) redirects the browser back with a one-time code,
  the `state` it was given and the scope the user ticked (`consent_scope`; Strava puts it
  comma-separated on the redirect, Google space-separated), or `error=access_denied`.
- The token endpoint exchanges a code once, for the redirect URI it was issued for, and
  (Google) only with the PKCE verifier of its challenge; it rotates refresh tokens the
  Strava way (the previous one stops working at once); Google restates the granted
  `scope` in every token response.
- The revoke endpoint: Strava's deauthorize takes the access token in the Authorization
  header and answers 401 once the grant is gone; Google's takes `token=` in a form and
  answers 400 `invalid_token` for a token already revoked.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.fakes.http import Reply, Request

CLIENT_ID = "client-123"
CLIENT_SECRET = "client-secret-shh"
FIRST_REFRESH_TOKEN = "refresh-token-0"
STRAVA_FULL_SCOPE = ("read", "activity:read_all", "profile:read_all")
GOOGLE_FULL_SCOPE = ("https://www.googleapis.com/auth/calendar.events",)


@dataclass(frozen=True)
class IssuedCode:
    """What the consent page recorded for a code it handed out."""

    redirect_uri: str
    scope: tuple[str, ...]
    challenge: str | None
    challenge_method: str | None


@dataclass
class FakeTokenEndpoint:
    """Consent page, token and revoke endpoints. `style` is "strava" or "google"."""

    style: str = "strava"
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    valid_refresh_token: str = FIRST_REFRESH_TOKEN
    lifetime_seconds: int = 6 * 3600
    valid_codes: set[str] = field(default_factory=lambda: {"good-code"})
    # What the current grant allows (None: everything fitness asks for); what the user
    # ticks on the next consent (None: everything asked for).
    grant_scope: tuple[str, ...] | None = None
    consent_scope: tuple[str, ...] | None = None
    declines_consent: bool = False
    # Google's redirect carries the scope too, but only its token response is to be trusted.
    redirect_has_scope: bool = True
    refreshes: int = 0
    exchanges: int = 0
    revocations: int = 0
    before_reply: Callable[[], None] | None = None
    failure: Reply | None = None
    issued_codes: dict[str, IssuedCode] = field(default_factory=dict)
    _issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def granted(self) -> tuple[str, ...]:
        """The scope of the current grant."""
        if self.grant_scope is not None:
            return self.grant_scope
        return STRAVA_FULL_SCOPE if self.style == "strava" else GOOGLE_FULL_SCOPE

    # --- the token endpoint (POST) ----------------------------------------------------------

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
                return self._exchange(form)
        return Reply(400, {"error": "unsupported_grant_type"})

    @property
    def current_access_token(self) -> str:
        return f"access-token-{self._issued}"

    # --- the consent page (GET) -------------------------------------------------------------

    def consent_page(self, request: Request) -> Reply:
        """What the provider does once the user clicks Authorize: redirect back."""
        query = request.query
        redirect_uri = query.get("redirect_uri", "")
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.declines_consent:
            back["error"] = "access_denied"
        else:
            separator = "," if self.style == "strava" else " "
            requested = tuple(query.get("scope", "").replace(",", " ").split())
            ticked = requested if self.consent_scope is None else self.consent_scope
            code = f"code-{len(self.issued_codes) + 1}"
            self.issued_codes[code] = IssuedCode(
                redirect_uri,
                ticked,
                query.get("code_challenge"),
                query.get("code_challenge_method"),
            )
            back["code"] = code
            if self.redirect_has_scope:
                back["scope"] = separator.join(ticked)
        return Reply(302, None, {"Location": f"{redirect_uri}?{urlencode(back)}"})

    # --- the revoke endpoint (POST) ---------------------------------------------------------

    def revoke(self, request: Request) -> Reply:
        if self.style == "strava":
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not token or token != self.current_access_token or "access_token" in request.query:
                return Reply(
                    401,
                    {
                        "message": "Authorization Error",
                        "errors": [
                            {"resource": "Athlete", "field": "access_token", "code": "invalid"}
                        ],
                    },
                )
            self._revoke_grant()
            return Reply(200, {"access_token": token})
        token = request.form().get("token")
        if token not in (self.valid_refresh_token, self.current_access_token):
            return Reply(
                400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            )
        self._revoke_grant()
        return Reply(200, {})

    # --- internals --------------------------------------------------------------------------

    def _exchange(self, form: dict[str, str]) -> Reply:
        code = form.get("code", "")
        if code in self.valid_codes:
            self.valid_codes.discard(code)
            self.exchanges += 1
            return Reply(200, self._new_tokens(rotate=True))
        issued = self.issued_codes.pop(code, None)
        if issued is None or issued.redirect_uri != form.get("redirect_uri"):
            return self._invalid_grant()
        if issued.challenge is not None:
            verifier = form.get("code_verifier")
            if verifier is None:
                return Reply(
                    400, {"error": "invalid_grant", "error_description": "Missing code verifier."}
                )
            if _s256(verifier) != issued.challenge or issued.challenge_method != "S256":
                return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        self.exchanges += 1
        self.grant_scope = issued.scope
        return Reply(200, self._new_tokens(rotate=True))

    def _revoke_grant(self) -> None:
        self.revocations += 1
        self.valid_refresh_token = f"revoked-{self.revocations}"
        self._issued += 1  # the access token in use stops working too

    def _new_tokens(self, rotate: bool) -> dict[str, object]:
        self._issued += 1
        body: dict[str, object] = {
            "token_type": "Bearer",
            "access_token": self.current_access_token,
            "expires_in": self.lifetime_seconds,
        }
        if self.style == "strava":
            body["expires_at"] = int(time.time()) + self.lifetime_seconds
        else:
            body["scope"] = " ".join(self.granted())
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
        return Reply(
            401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
