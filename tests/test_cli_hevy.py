"""`fitness sync hevy` and `fitness lifts ...`, run as a user runs them, against a fake Hevy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.api_keys import get_api_key
from fitness.db.lifts import list_lifts
from tests.fakes.hevy import FakeHevy, running_fake_hevy
from tests.fakes.http import Reply


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def hevy(db: str) -> Iterator[FakeHevy]:
    with running_fake_hevy() as fake:
        yield fake


def test_sync_hevy_stores_lifts_and_prints_a_summary(
    hevy: FakeHevy, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "sync", "hevy")
    assert status == 0, err
    assert "fetched 3 workouts and deletions: 3 new lifts, 0 updated, 0 deleted" in out
    assert "synced up to 2025-01-09T12:20:05+00:00" in out
    assert len(list_lifts().lifts) == 3
    status, out, _ = run_cli(capsys, "sync", "hevy", "--full")
    assert status == 0 and "3 left as they are" in out


def test_a_rejected_key_is_one_line_saying_what_to_do(
    hevy: FakeHevy, capsys: pytest.CaptureFixture[str]
) -> None:
    hevy.api.api_key = "another"
    status, out, err = run_cli(capsys, "sync", "hevy")
    assert status != 0
    assert "HEVY_API_KEY" in err and "Traceback" not in err
    assert hevy.api.api_key not in err


def test_a_rate_limit_says_when_to_run_it_again(
    hevy: FakeHevy, capsys: pytest.CaptureFixture[str]
) -> None:
    hevy.api.answer_next(Reply(429, text="Too Many Requests", headers={"Retry-After": "60"}))
    status, out, err = run_cli(capsys, "sync", "hevy")
    assert status == 0, err
    assert "stopped early by Hevy's rate limit; what was fetched is stored" in out
    assert "Run it again after 20" in out and "Traceback" not in err


def test_connections_and_disconnect_show_and_forget_the_key_without_printing_it(
    hevy: FakeHevy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(capsys, "sync", "hevy")
    status, out, _ = run_cli(capsys, "connections")
    assert status == 0
    hevy_lines = out.splitlines()[-3:]
    assert hevy_lines == [
        "hevy    API key stored (encrypted)",
        "        HEVY_API_KEY is the stored key",
        "        synced up to 2025-01-09 12:20 UTC",
    ]

    status, out, _ = run_cli(capsys, "disconnect", "hevy")
    assert status == 0
    assert "Hevy's stored API key is forgotten" in out
    assert "HEVY_API_KEY is still set" in out
    assert get_api_key("hevy") is None
    assert run_cli(capsys, "connections")[1].splitlines()[-3:-1] == [
        "hevy    no key stored",
        "        HEVY_API_KEY is set: the next sync tries it, and stores it if Hevy accepts it",
    ]

    # Without the variable, the sync has no key left: it says how to give one.
    monkeypatch.delenv("HEVY_API_KEY")
    reset_settings()
    status, _, err = run_cli(capsys, "sync", "hevy")
    assert status != 0 and "HEVY_API_KEY" in err
    assert run_cli(capsys, "disconnect", "hevy")[1].startswith("No Hevy API key was stored")
    assert hevy.api.api_key not in out + err


def test_lift_answers_print_tables(hevy: FakeHevy, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "sync", "hevy")
    status, out, _ = run_cli(capsys, "lifts", "volume", "--tz", "UTC")
    assert status == 0 and "2025-01-06" in out and "2,765.0" in out
    status, out, _ = run_cli(capsys, "lifts", "muscle-groups", "--tz", "UTC")
    assert status == 0 and "quadriceps" in out
    status, out, _ = run_cli(capsys, "lifts", "one-rep-max")
    assert status == 0 and "101.3" in out and "80 kg × 8" in out
    status, out, _ = run_cli(capsys, "lifts", "list")
    assert status == 0 and "Push Day" in out
