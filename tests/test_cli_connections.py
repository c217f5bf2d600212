"""`fitness connections`, `fitness connect` and `fitness disconnect` run as a user runs them,
against fake Strava and Google: `connect` in a real process, a test playing the browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials, upsert_credentials
from fitness.db.runs import get_run_by_id
from fitness.db.sync_metadata import set_last_synced_at
from fitness.integrations.oauth import valid_access_token
from tests.fakes.google_calendar import FakeGoogle, running_fake_google
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.strava import FakeStrava, make_activities, running_fake_strava

CONNECT_SECONDS = 60


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A free loopback port, made the public base URL (where providers send browsers back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    monkeypatch.setenv("FITNESS_PUBLIC_BASE_URL", f"http://127.0.0.1:{free}")
    reset_settings()
    return free


class Connect:
    """`fitness connect ...` in its own process; the test reads its address and answers."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fitness.cli", "connect", *argv],
            env=dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.printed: list[str] = []
        self.url = self.wait_for("  http").strip()

    def wait_for(self, start: str) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.printed.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"never printed {start!r}: {self.finish()}")

    def paste(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def finish(self) -> tuple[int, str, str]:
        # Read through the same file objects as `wait_for` (communicate() would skip what
        # they already buffered).
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self.process.stdin.close()
        out, err = self.process.stdout.read(), self.process.stderr.read()
        return self.process.wait(timeout=CONNECT_SECONDS), "".join(self.printed) + out, err


def redirect_of(url: str) -> str:
    """Where the provider sends the browser once the user clicks Authorize."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    return response.headers["location"]


# --- fitness connect ----------------------------------------------------------------------


def test_connect_takes_the_redirect_on_the_loopback_listener(strava: FakeStrava, port: int) -> None:
    connect = Connect("strava")
    connect.wait_for("Waiting for Strava")

    page = httpx.get(redirect_of(connect.url), timeout=CONNECT_SECONDS)

    status, out, err = connect.finish()
    assert status == 0, err
    assert page.status_code == 200
    assert page.text.startswith("Strava connected: granted read, activity:read_all")
    assert "Strava connected: granted read, activity:read_all, profile:read_all." in out
    redirect_uri = httpx.URL(connect.url).params["redirect_uri"]
    assert redirect_uri == f"http://127.0.0.1:{port}/oauth/strava/callback"
    stored = get_credentials("strava")
    assert stored is not None and stored.source == "consent"


def test_connect_takes_a_pasted_address(strava: FakeStrava, port: int) -> None:
    strava.tokens.consent_scope = ("read", "activity:read")
    connect = Connect("strava", "--no-listen")

    connect.paste(redirect_of(connect.url))

    status, out, err = connect.finish()
    assert status == 0, err
    assert "Strava connected: granted read, activity:read." in out
    assert "Note: 'View data about your private activities' was not granted" in out
    assert get_credentials("strava").granted_scope == ("read", "activity:read")


def test_connect_takes_a_pasted_code_with_google_s_pkce(google: FakeGoogle, port: int) -> None:
    connect = Connect("google", "--no-listen")
    code = httpx.URL(redirect_of(connect.url)).params["code"]

    connect.paste(code)

    status, out, err = connect.finish()
    assert status == 0, err
    assert "Google connected: granted https://www.googleapis.com/auth/calendar.events." in out
    assert get_credentials("google") is not None


def test_connect_falls_back_to_pasting_when_the_port_is_taken(
    strava: FakeStrava, port: int
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        connect = Connect("strava")
        connect.paste(redirect_of(connect.url))
        status, out, err = connect.finish()

    assert status == 0, err
    assert "(cannot listen for" in out and "Strava connected" in out, out


def test_a_consent_declined_or_too_narrow_is_one_line_and_stores_nothing(
    strava: FakeStrava, port: int
) -> None:
    strava.tokens.consent_scope = ("read",)
    connect = Connect("strava", "--no-listen")

    connect.paste(redirect_of(connect.url))

    status, _, err = connect.finish()
    assert status == 1
    (line,) = [line for line in err.splitlines() if line.startswith("fitness: error:")]
    assert "'View data about your activities'" in line
    assert get_credentials("strava") is None


def test_widening_the_grant_says_the_next_sync_fetches_everything(
    strava: FakeStrava, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    upsert_credentials(
        "strava", CLIENT_ID, CLIENT_SECRET, "old-refresh", granted_scope=("read", "activity:read")
    )
    set_last_synced_at("strava", datetime(2025, 1, 1, tzinfo=UTC))
    connect = Connect("strava", "--no-listen")

    connect.paste(redirect_of(connect.url))

    status, out, err = connect.finish()
    assert status == 0, err
    assert "the next sync fetches every activity again" in out


# --- fitness connections ------------------------------------------------------------------


def test_connections_shows_each_provider(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "GOOGLE_REFRESH_TOKEN",
        "HEVY_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    assert run_cli(capsys, "sync", "strava")[0] == 0

    status, out, _ = run_cli(capsys, "connections")

    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "strava  connected (from the environment)"
    assert "        granted: not known (only a consent says: `fitness connect strava`)" in lines
    assert any(line.startswith("        access token valid until ") for line in lines)
    assert any(line.startswith("        last sync ") and line.endswith(": ok") for line in lines)
    assert lines[-4:] == [
        "google  not connected",
        "        set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, then run `fitness connect google`",
        "hevy    not connected",
        "        set HEVY_API_KEY to the API key of a Hevy Pro account "
        "(https://hevy.com/settings?developer)",
    ]


# --- fitness disconnect -------------------------------------------------------------------


def test_disconnect_revokes_then_forgets_and_warns_about_the_environment(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "sync", "strava")

    status, out, err = run_cli(capsys, "disconnect", "strava")

    assert status == 0, err
    assert out.splitlines() == [
        "Strava disconnected: Strava revoked fitness's access; the stored tokens are forgotten.",
        "Note: STRAVA_REFRESH_TOKEN is still set; fitness stores it again on its next use. "
        "Remove it to stay disconnected.",
    ]
    assert get_credentials("strava") is None and strava.tokens.revocations == 1
    assert run_cli(capsys, "disconnect", "strava")[1].startswith("Strava was not connected")


def test_disconnect_that_cannot_revoke_forgets_nothing_in_one_line(
    google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    with httpx.Client() as http:
        valid_access_token("google", http)
    google.server.stop()

    status, _, err = run_cli(capsys, "disconnect", "google")

    assert status == 1
    assert len(err.strip().splitlines()) == 1 and "--forget-only" in err
    assert get_credentials("google") is not None
    assert run_cli(capsys, "disconnect", "google", "--forget-only")[0] == 0
    assert get_credentials("google") is None


# --- fitness sync strava --since ----------------------------------------------------------


def test_sync_strava_since_brings_in_a_late_upload(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "sync", "strava")  # the recorded runs, up to January 2025
    when = datetime(2024, 11, 2, 7, 30, tzinfo=UTC)  # uploaded only now
    [late] = make_activities(1, start=when, first_id=4242)
    strava.api.activities.append(late)
    assert run_cli(capsys, "sync", "strava")[0] == 0
    assert get_run_by_id("strava_4242") is None

    status, out, err = run_cli(capsys, "sync", "strava", "--since", when.date().isoformat())

    assert status == 0, err
    assert "1 new run," in out
    assert get_run_by_id("strava_4242") is not None


@pytest.mark.parametrize(
    "argv", [["--since", "01/12/2024"], ["--since", "2024-12-01", "--full"]], ids=["bad", "both"]
)
def test_sync_strava_since_usage_errors(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, _, err = run_cli(capsys, "sync", "strava", *argv)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert strava.api_requests() == []
