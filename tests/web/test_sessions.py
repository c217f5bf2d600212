"""Logging in to the pages, their session cookie and CSRF tokens, and who may reach them
without tokens (fitness/web/sessions.py, fitness/web/login.py)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from unittest import mock

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.runs import get_run_by_id
from fitness.models import Run
from fitness.web.sessions import SESSION_LIFETIME, PageSession, Sessions
from tests.web.conftest import BASE_URL, LOOPBACK, TOKEN, csrf_of, log_in, text_of


def test_a_page_sends_a_browser_without_a_session_to_the_login_page(
    anonymous: TestClient,
) -> None:
    response = anonymous.get("/app/runs?units=km", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/app/login?next=%2Fapp%2Fruns%3Funits%3Dkm"
    assert "runs" not in response.text.lower()


def test_the_root_and_the_mount_lead_to_the_dashboard(anonymous: TestClient) -> None:
    for path in ("/", "/app"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == "/app/"


def test_logging_in_with_a_token_gives_a_strict_httponly_session_cookie(
    anonymous: TestClient,
) -> None:
    response = log_in(anonymous)

    assert response.status_code == 303
    assert response.headers["location"] == "/app/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fitness_session=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/app", "Max-Age=1209600"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert TOKEN not in cookie
    assert anonymous.get("/app/runs").status_code == 200


def test_behind_https_the_cookie_is_secure(app: Starlette) -> None:
    with TestClient(app, base_url="https://fitness.example", client=LOOPBACK) as client:
        assert "Secure" in log_in(client).headers["set-cookie"]
    with TestClient(app, base_url=BASE_URL, client=LOOPBACK) as client:
        page = client.get("/app/login")
        response = client.post(
            "/app/login",
            data={"csrf": csrf_of(page), "token": TOKEN},
            headers={"X-Forwarded-Proto": "https"},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize("token", ["wrong", f"{TOKEN}x", "", " ", "t" * 5000, "tök€n"])
def test_a_wrong_token_is_refused_on_the_login_page(anonymous: TestClient, token: str) -> None:
    response = log_in(anonymous, token)

    assert response.status_code == 401
    assert "That is not one of the API tokens" in text_of(response)
    assert anonymous.get("/app/runs", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("next_page", "lands_on"),
    [
        ("/app/runs?units=km", "/app/runs?units=km"),
        ("https://evil.example/app/", "/app/"),
        ("//evil.example/app", "/app/"),
        ("/app/\\evil.example", "/app/"),
        ("/api-lookalike", "/app/"),
    ],
)
def test_a_login_goes_back_only_to_a_page_of_ours(
    anonymous: TestClient, next_page: str, lands_on: str
) -> None:
    page = anonymous.get("/app/login")
    response = anonymous.post(
        "/app/login",
        data={"csrf": csrf_of(page), "token": TOKEN, "next": next_page},
        follow_redirects=False,
    )

    assert response.headers["location"] == lands_on


def test_a_login_starts_a_new_session(anonymous: TestClient) -> None:
    before = anonymous.get("/app/login")
    log_in(anonymous)
    after = anonymous.get("/app/runs")

    assert csrf_of(before) != csrf_of(after)


def test_logging_out_ends_the_session(browser: TestClient) -> None:
    page = browser.get("/app/")
    response = browser.post("/app/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)

    assert response.status_code == 303
    assert 'fitness_session=""' in response.headers["set-cookie"]
    assert browser.get("/app/", follow_redirects=False).status_code == 303


def test_changing_the_tokens_ends_every_session(settings: Settings, browser: TestClient) -> None:
    cookie = browser.cookies["fitness_session"]
    other = create_app(dataclasses.replace(settings, api_tokens=("a-new-token-9d3a",)))

    with TestClient(other, base_url=BASE_URL, client=LOOPBACK) as client:
        client.cookies["fitness_session"] = cookie
        assert client.get("/app/", follow_redirects=False).status_code == 303
    same = create_app(settings)  # a restart with the same tokens keeps the session
    with TestClient(same, base_url=BASE_URL, client=LOOPBACK) as client:
        client.cookies["fitness_session"] = cookie
        assert client.get("/app/", follow_redirects=False).status_code == 200


def test_a_session_expires(anonymous: TestClient) -> None:
    sessions = Sessions((TOKEN,))
    issued_long_ago = time.time() - SESSION_LIFETIME.total_seconds() - 60
    with mock.patch("itsdangerous.timed.time.time", return_value=issued_long_ago):
        old = sessions.cookie_value(PageSession("s" * 24, True))
    fresh = sessions.cookie_value(PageSession("s" * 24, True))

    anonymous.cookies["fitness_session"] = old
    assert anonymous.get("/app/", follow_redirects=False).status_code == 303
    anonymous.cookies["fitness_session"] = fresh
    assert anonymous.get("/app/", follow_redirects=False).status_code == 200


def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    other_session = Sessions((TOKEN,))
    foreign = other_session.csrf_token(PageSession("another-session-id", True))
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": foreign}):
        response = browser.post(
            f"/app/runs/{run.id}",
            data={**data, "version": "1", "distance": "9.9", "duration": "1800", "type": run.type},
        )
        assert response.status_code == 403
        assert "did not come from this site" in text_of(response)
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_without_tokens_pages_need_no_login(local: TestClient) -> None:
    assert local.get("/app/").status_code == 200
    assert local.get("/app/login", follow_redirects=False).headers["location"] == "/app/"
    assert "Log out" not in local.get("/app/").text


def test_without_tokens_forms_still_carry_a_csrf_token(
    local: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    response = local.post(f"/app/runs/{run.id}/delete", data={"version": "1"})

    assert response.status_code == 403
    assert get_run_by_id(run.id) is not None


@pytest.mark.parametrize(
    ("client", "headers", "status"),
    [
        (("192.0.2.7", 40000), {}, 403),
        (("2001:db8::1", 40000), {}, 403),
        (LOOPBACK, {"Host": "rebind.attacker.example:8000"}, 421),
        (LOOPBACK, {"Sec-Fetch-Site": "cross-site"}, 403),
        (LOOPBACK, {"Origin": "http://evil.example"}, 403),
    ],
)
def test_without_tokens_the_pages_serve_only_this_machine(
    local_app: Starlette, client: tuple[str, int], headers: dict[str, str], status: int
) -> None:
    with TestClient(local_app, base_url=BASE_URL, client=client) as browser:
        for path in ("/app/", "/app/runs", "/app/login", "/app/static/app.css"):
            response = browser.get(path, headers=headers, follow_redirects=False)
            assert response.status_code == status, (path, response.text)


def test_the_token_never_shows_in_a_log_an_answer_or_a_cookie(
    anonymous: TestClient, add_runs: Callable[..., list[Run]], caplog: pytest.LogCaptureFixture
) -> None:
    (run,) = add_runs(1)
    caplog.set_level(logging.DEBUG)
    answers = [log_in(anonymous), log_in(anonymous, f"{TOKEN}-wrong")]
    for path in ("/app/", "/app/runs", f"/app/runs/{run.id}", "/app/shoes", "/app/import"):
        answers.append(anonymous.get(path))

    seen = "\n".join(f"{answer.headers}\n{answer.text}" for answer in answers) + "\n".join(
        record.getMessage() for record in caplog.records
    )
    assert TOKEN not in seen


def test_bad_units_are_said_on_the_page(browser: TestClient) -> None:
    for path in ("/app/?units=furlongs", "/app/shoes?units=furlongs"):
        response = browser.get(path)
        assert response.status_code == 422
        assert "units: must be null or one of mi, km" in text_of(response)
