"""Page sessions: the signed cookie a login with an API token earns, and the CSRF token that
every form of the pages carries.

With FITNESS_API_TOKENS set, a page needs a logged-in session: `/app/login` takes one of the
tokens and answers with the cookie `fitness_session`, signed with HMAC-SHA256 (itsdangerous)
under a key derived from the configured tokens (so changing them ends every session),
HttpOnly, SameSite=Strict, Path=/app, Secure when the request came over https (or through a
proxy that says so in X-Forwarded-Proto), and valid for `SESSION_LIFETIME`. Without tokens
the pages are for this machine only, as the API is (fitness.server.auth enforces it before a
request gets here), and every browser gets an anonymous session, signed under a key drawn
when the app starts, which only binds its CSRF tokens.

The cookie holds a random session id and whether it was earned by a login; nothing is
stored on the server. Every form carries `csrf`, an HMAC of the session id: a write whose
`csrf` is missing or wrong is refused, so another site cannot submit a form for the user
(SameSite=Strict already keeps the cookie from such requests).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME: Final = "fitness_session"
COOKIE_PATH: Final = "/app"
SESSION_LIFETIME: Final = timedelta(days=14)
LOGIN_PATH: Final = "/app/login"
# A cookie longer than this is not one of ours; it is not even parsed.
MAX_COOKIE_CHARS: Final = 512
_SALT: Final = "fitness page session"
_KEY_LABEL: Final = b"fitness page sessions v1"


class OpenPage(Route):
    """A page that needs no session: the login page."""


class OpenMount(Mount):
    """Files that need no session: the stylesheet and scripts the login page uses."""


@dataclass(frozen=True, slots=True)
class PageSession:
    """One browser's session: its random id, and whether a login earned it."""

    session_id: str
    logged_in: bool


class Sessions:
    """Signs and reads session cookies and CSRF tokens for one app.

    `tokens` are the API tokens (empty: no login, anonymous sessions only). The key is an
    HMAC of the sorted tokens, so sessions survive a restart but not a change of tokens;
    without tokens it is random, drawn here.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = tuple(token.encode("utf-8") for token in tokens)
        if self.tokens:
            key = hmac.new(_KEY_LABEL, b"\n".join(sorted(self.tokens)), hashlib.sha256).digest()
        else:
            key = secrets.token_bytes(32)
        self._key = key
        self._serializer = URLSafeTimedSerializer(key, salt=_SALT)

    @property
    def needs_login(self) -> bool:
        return bool(self.tokens)

    def new(self, *, logged_in: bool) -> PageSession:
        """A fresh session (a login always starts a new one: the old id may be known)."""
        return PageSession(secrets.token_urlsafe(18), logged_in)

    def read(self, cookie: str | None) -> PageSession | None:
        """The session a cookie holds, or None if it is missing, forged or expired."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=int(SESSION_LIFETIME.total_seconds()))
        except BadSignature:
            return None
        if not (
            isinstance(payload, list)
            and len(payload) == 2
            and isinstance(payload[0], str)
            and isinstance(payload[1], bool)
        ):
            return None
        return PageSession(payload[0], payload[1] and self.needs_login)

    def cookie_value(self, session: PageSession) -> str:
        return self._serializer.dumps([session.session_id, session.logged_in])

    def csrf_token(self, session: PageSession) -> str:
        """The token the session's forms carry."""
        message = b"csrf:" + session.session_id.encode("ascii")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def is_valid_csrf(self, session: PageSession, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(
            given.encode("utf-8", "replace"), self.csrf_token(session).encode("ascii")
        )

    def is_token(self, given: str) -> bool:
        """True when `given` is one of the API tokens (compared in constant time, all of
        them, so the time taken says nothing about which one or how much matched)."""
        candidate = given.encode("utf-8", "replace")
        known = False
        for token in self.tokens:
            known |= hmac.compare_digest(candidate, token)
        return known

    def set_cookie_header(self, session: PageSession, request_scope: Scope) -> str:
        """The Set-Cookie header value that stores `session` in the browser."""
        seconds = int(SESSION_LIFETIME.total_seconds())
        parts = [
            f"{COOKIE_NAME}={self.cookie_value(session)}",
            f"Path={COOKIE_PATH}",
            f"Max-Age={seconds}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if is_https(request_scope):
            parts.append("Secure")
        return "; ".join(parts)


def is_https(scope: Scope) -> bool:
    """True when the browser reached us over https, directly or through a TLS proxy."""
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


def session_of(request: Request) -> PageSession:
    """The session `PageSessions` attached to the request."""
    session = request.scope.get("fitness.session")
    assert isinstance(session, PageSession), "the pages run behind PageSessions"
    return session


def sessions_of(request: Request) -> Sessions:
    sessions = request.scope.get("fitness.sessions")
    assert isinstance(sessions, Sessions), "the pages run behind PageSessions"
    return sessions


def start_session(request: Request, session: PageSession) -> None:
    """Make `session` the request's, and have its cookie set on the response."""
    request.scope["fitness.session"] = session
    request.scope["fitness.new_session"] = True


class PageSessions:
    """ASGI middleware of the pages: reads the session cookie, gives a browser without one a
    new session, and sends to the login page a request that needs a login and has none
    (any method: nothing is done for it). `OpenPage` and `OpenMount` routes need none.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = Request(scope).cookies.get(COOKIE_NAME)
        session = self.sessions.read(cookie)
        scope["fitness.sessions"] = self.sessions
        scope["fitness.new_session"] = session is None
        if session is None:
            session = self.sessions.new(logged_in=False)
        scope["fitness.session"] = session
        if self.sessions.needs_login and not session.logged_in and not _is_open(scope):
            query = scope.get("query_string", b"").decode("latin-1")
            next_page = quote(scope["path"] + (f"?{query}" if query else ""), safe="")
            response = RedirectResponse(f"{LOGIN_PATH}?next={next_page}", status_code=303)
            await response(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("fitness.new_session"):
                headers = MutableHeaders(scope=message)
                current = scope["fitness.session"]
                headers.append("Set-Cookie", self.sessions.set_cookie_header(current, scope))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _is_open(scope: Scope) -> bool:
    routes: list[BaseRoute] = scope["app"].routes
    return any(
        isinstance(route, OpenPage | OpenMount) and route.matches(scope)[0] == Match.FULL
        for route in routes
    )
