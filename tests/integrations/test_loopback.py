"""fitness.integrations.loopback: the redirect taken on 127.0.0.1 or pasted, and the browser
told how the consent ended."""

from __future__ import annotations

import threading

import httpx
import pytest

from fitness.errors import InvalidOAuthState
from fitness.integrations.loopback import (
    ConsentAbandoned,
    Redirect,
    TerminalRedirect,
    redirect_sources,
)

PATH = "/oauth/strava/callback"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (
            "http://127.0.0.1:8000/oauth/strava/callback?state=s1&code=c1&scope=read,activity:read",
            Redirect(state="s1", code="c1", scope="read,activity:read", error=None),
        ),
        (
            "  4/0AbCd-code_from-google  \n",
            Redirect(state=None, code="4/0AbCd-code_from-google", scope=None, error=None),
        ),
        (
            "state=s2&error=access_denied",
            Redirect(state="s2", code=None, scope=None, error="access_denied"),
        ),
        ("", Redirect(state=None, code=None, scope=None, error=None)),
    ],
    ids=["address", "bare-code", "query", "empty"],
)
def test_a_pasted_address_or_code_is_read(pasted: str, expected: Redirect) -> None:
    assert Redirect.parse(pasted) == expected


def test_the_browser_is_answered_with_the_outcome() -> None:
    with redirect_sources(port=0, path=PATH, lines=None) as wait:
        port = wait.port
        answers: list[httpx.Response] = []
        browser = threading.Thread(
            target=lambda: answers.append(
                httpx.get(f"http://127.0.0.1:{port}{PATH}?state=s&code=c", timeout=10)
            )
        )
        browser.start()
        got: list[Redirect] = []
        said = wait(10, lambda redirect: got.append(redirect) or "Strava connected.")
        browser.join()

    assert said == "Strava connected."
    assert got == [Redirect(state="s", code="c", scope=None, error=None)]
    assert answers[0].status_code == 200
    assert answers[0].text == "Strava connected.\nYou can close this tab.\n"


def test_the_browser_is_told_the_error_and_the_command_raises_it() -> None:
    with redirect_sources(port=0, path=PATH, lines=None) as wait:
        port = wait.port
        answers: list[httpx.Response] = []
        browser = threading.Thread(
            target=lambda: answers.append(httpx.get(f"http://127.0.0.1:{port}{PATH}?state=x"))
        )
        browser.start()

        def refuse(redirect: Redirect) -> str:
            raise InvalidOAuthState("this authorisation was already used")

        with pytest.raises(InvalidOAuthState):
            wait(10, refuse)
        browser.join()

    assert answers[0].text == "fitness: error: this authorisation was already used\n"


def test_only_the_callback_path_is_answered() -> None:
    with redirect_sources(port=0, path=PATH, lines=None) as wait:
        response = httpx.get(f"http://127.0.0.1:{wait.port}/favicon.ico")
    assert response.status_code == 404


def test_a_pasted_line_is_taken_when_nothing_listens() -> None:
    lines = iter(["\n", "http://x/cb?state=s&code=c\n"])
    with redirect_sources(port=None, path=PATH, lines=lines) as wait:
        assert wait(10, lambda redirect: f"got {redirect.code}") == "got c"


def test_nothing_arriving_in_time_is_abandoned() -> None:
    with (
        redirect_sources(port=None, path=PATH, lines=iter([])) as wait,
        pytest.raises(ConsentAbandoned, match="run the command again"),
    ):
        wait(0.1, lambda redirect: "never")


@pytest.mark.parametrize(
    ("base", "port", "listen", "expected"),
    [
        (
            "http://127.0.0.1:8000",
            None,
            True,
            TerminalRedirect("http://127.0.0.1:8000/oauth/strava/callback", 8000, PATH),
        ),
        (
            "http://localhost/fitness/",
            None,
            True,
            TerminalRedirect(
                "http://localhost/fitness/oauth/strava/callback", 80, "/fitness" + PATH
            ),
        ),
        (
            "https://fitness.example",
            None,
            True,
            TerminalRedirect("https://fitness.example/oauth/strava/callback", None, PATH),
        ),
        (
            "https://fitness.example",
            9123,
            True,
            TerminalRedirect("http://127.0.0.1:9123/oauth/strava/callback", 9123, PATH),
        ),
        (
            "http://127.0.0.1:8000",
            None,
            False,
            TerminalRedirect("http://127.0.0.1:8000/oauth/strava/callback", None, PATH),
        ),
    ],
    ids=["default", "localhost-with-a-path", "a-server-elsewhere", "--port", "--no-listen"],
)
def test_where_the_terminal_consent_is_sent_back(
    base: str, port: int | None, listen: bool, expected: TerminalRedirect
) -> None:
    assert TerminalRedirect.choose(base, "strava", port=port, listen=listen) == expected
