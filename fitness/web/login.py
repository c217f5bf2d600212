"""Logging in and out of the pages: an API token in exchange for a session cookie.

Without API tokens there is nothing to log in to: the login page sends the browser on to
the dashboard. A login starts a new session (a session id known before the login is not
trusted after it) and sends the browser back to the page it came from, if that is one of
ours.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.web.forms import read_form
from fitness.web.rendering import render
from fitness.web.sessions import (
    COOKIE_NAME,
    COOKIE_PATH,
    OpenPage,
    session_of,
    sessions_of,
    start_session,
)

DASHBOARD: Final = "/app/"
# Where a login may send the browser back to: a path of the pages, nothing that could leave
# this site (`//host`, `/\host`, a scheme).
_LOCAL_PAGE = re.compile(r"/app(/[A-Za-z0-9._~%/?&=+-]*)?")
MAX_TOKEN_CHARS: Final = 1000


async def login_page(request: Request) -> Response:
    sessions = sessions_of(request)
    next_page = _next_page(request.query_params.get("next"))
    if not sessions.needs_login or session_of(request).logged_in:
        return RedirectResponse(next_page, status_code=303)
    return render(request, "login.html", {"title": "Log in", "next": next_page, "error": None})


async def log_in(request: Request) -> Response:
    sessions = sessions_of(request)
    fields = await read_form(request)
    next_page = _next_page(fields.get("next"))
    if not sessions.needs_login:
        return RedirectResponse(next_page, status_code=303)
    token = fields.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS or not sessions.is_token(token):
        error = "That is not one of the API tokens (FITNESS_API_TOKENS)."
        context = {"title": "Log in", "next": next_page, "error": error}
        return render(request, "login.html", context, status=401)
    start_session(request, sessions.new(logged_in=True))
    return RedirectResponse(next_page, status_code=303)


async def log_out(request: Request) -> Response:
    await read_form(request)
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


def _next_page(value: str | None) -> str:
    if value and len(value) <= 2000 and _LOCAL_PAGE.fullmatch(value):
        return value
    return DASHBOARD


routes = [
    OpenPage("/login", login_page, methods=["GET"]),
    OpenPage("/login", log_in, methods=["POST"]),
    Route("/logout", log_out, methods=["POST"]),
]
