"""Fixtures for the page tests: the real app on the test database, browsers' clients with
and without a login, and reading what a page shows."""

from __future__ import annotations

import dataclasses
import html
import re
import warnings
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from fitness.api.app import create_app
from fitness.config import Settings, get_settings
from fitness.db.runs import import_runs
from fitness.models import Run
from tests.factories import RunFactory

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

TOKEN = "page-test-token-7c41e2"
LOOPBACK = ("127.0.0.1", 51000)
BASE_URL = "http://127.0.0.1:8000"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_TAGS = re.compile(r"<[^>]+>")


@pytest.fixture
def settings(db: str) -> Settings:
    """The test database's settings, with one API token."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def anonymous(app: Starlette) -> Iterator[TestClient]:
    """A browser that has not logged in (the app's lifespan running)."""
    with TestClient(app, base_url=BASE_URL, client=LOOPBACK) as client:
        yield client


@pytest.fixture
def browser(anonymous: TestClient) -> TestClient:
    """A browser logged in with the token."""
    log_in(anonymous)
    return anonymous


@pytest.fixture
def local_app(db: str) -> Starlette:
    """The app without tokens: for this machine only, no login."""
    return create_app(dataclasses.replace(get_settings(), api_tokens=()))


@pytest.fixture
def local(local_app: Starlette) -> Iterator[TestClient]:
    """A browser on this machine, talking to the app without tokens."""
    with TestClient(local_app, base_url=BASE_URL, client=LOOPBACK) as client:
        yield client


@pytest.fixture
def add_runs(db: str, runs: RunFactory) -> Callable[..., list[Run]]:
    """Import runs through the library: `add_runs(3)` or `add_runs(1, distance=5.0)`."""

    def add(count: int = 1, **overrides: object) -> list[Run]:
        made = runs.many(count, **overrides)
        import_runs(made)
        return made

    return add


def log_in(client: TestClient | httpx.Client, token: str = TOKEN) -> httpx.Response:
    page = client.get("/app/login")
    return client.post(
        "/app/login",
        data={"csrf": csrf_of(page), "token": token, "next": "/app/"},
        follow_redirects=False,
    )


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the forms on `page`."""
    match = _CSRF.search(page.text)
    assert match is not None, page.text[:2000]
    return match.group(1)


def text_of(page: httpx.Response) -> str:
    """What a person reads on `page`: its text without tags, spaces collapsed."""
    body = page.text.split("<main", 1)[-1]
    return " ".join(html.unescape(_TAGS.sub(" ", body)).split())
