"""`fitness sync calendar`, run as a user runs it (fitness/cli.py), against a fake Google."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.runs import delete_run, get_all_run_details, import_runs
from fitness.db.runs_history import update_run_with_history
from tests.factories import RunFactory
from tests.fakes.google_calendar import FakeGoogle, running_fake_google


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


def test_sync_calendar_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "sync", "calendar", "--help")

    assert status == 0
    assert out.startswith("usage: fitness sync calendar")
    assert "GOOGLE_CALENDAR_ID" in " ".join(out.split())


def test_sync_calendar_writes_the_events_and_prints_a_summary(
    google: FakeGoogle, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    edited, deleted, new = runs.many(3)
    import_runs([edited, deleted])
    run_cli(capsys, "sync", "calendar")
    import_runs([new])
    update_run_with_history(edited.id, {"distance": 8.0}, changed_by="test")
    delete_run(deleted.id, changed_by="test")

    status, out, err = run_cli(capsys, "sync", "calendar")

    assert status == 0, err
    assert out == "calendar: 1 event created, 1 updated, 1 removed, 0 already current\n"
    assert [d.calendar_state for d in get_all_run_details()] == ["current", "current"]
    assert len(google.calendar.live_events()) == 2

    status, out, _ = run_cli(capsys, "sync", "calendar")
    assert (status, out) == (
        0,
        "calendar: 0 events created, 0 updated, 0 removed, 2 already current\n",
    )


def test_on_a_terminal_sync_calendar_shows_progress_and_still_prints_the_summary(
    google: FakeGoogle,
    runs: RunFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_runs(runs.many(2))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)

    status, out, _ = run_cli(capsys, "sync", "calendar")

    assert status == 0
    assert "calendar: 2 events created" in out


def test_failed_runs_are_listed_and_the_exit_status_is_1(
    google: FakeGoogle, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs.make()
    import_runs([run])
    google.calendar.fail_next(400, json={"error": {"code": 400, "errors": [{"reason": "invalid"}]}})

    status, out, _ = run_cli(capsys, "sync", "calendar")

    assert status == 1
    assert "1 run failed (the next sync retries them):" in out
    assert f"  run {run.id}: Google Calendar answered HTTP 400 (invalid) to events.insert" in out
    assert google.tokens.current_access_token not in out


def test_a_rate_limit_says_when_to_run_again(
    google: FakeGoogle, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import_runs(runs.many(2))
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    google.calendar.fail_next(429, headers={"Retry-After": format_datetime(when, usegmt=True)})

    status, out, _ = run_cli(capsys, "sync", "calendar")

    assert status == 0
    assert (
        "stopped early by Google's rate limit with 2 runs to go; "
        f"run it again after {when.isoformat()}." in out
    )


def test_sync_calendar_without_google_configured_is_one_line_and_exit_1(
    google: FakeGoogle,
    runs: RunFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_runs([runs.make()])
    monkeypatch.delenv("GOOGLE_REFRESH_TOKEN")
    reset_settings()

    status, _, err = run_cli(capsys, "sync", "calendar")

    assert status == 1
    assert "GOOGLE_REFRESH_TOKEN" in err and len(err.strip().splitlines()) == 1
