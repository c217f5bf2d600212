"""fitness.services.hevy_sync: first and incremental syncs through Hevy's events feed, Hevy's
changes as versions, the user's edits kept, deletions as versions, and Hevy's errors, against
a fake Hevy on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from fitness.config import reset_settings
from fitness.db.exercise_templates import get_exercise_templates
from fitness.db.lifts import get_lift_by_id, list_lifts
from fitness.db.lifts_history import get_lift_history, update_lift_with_history
from fitness.db.sync_metadata import get_last_synced_at
from fitness.errors import (
    CredentialsRejected,
    IntegrationError,
    IntegrationNotConfigured,
    IntegrationRefused,
)
from fitness.integrations.hevy import HevyClient
from fitness.services.hevy_sync import sync_hevy
from tests.fakes.hevy import API_KEY, FakeHevy, make_workouts, running_fake_hevy
from tests.fakes.http import Reply

PUSH = "b459cba5-cd6d-463c-abd6-54f8eafcadcb"
LEGS = "f1085cdb-32b2-4003-967d-53a3af8eaecb"
NEWEST_RECORDED = datetime(2025, 1, 9, 12, 20, 5, tzinfo=UTC)
LATER = datetime(2025, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def hevy(db: str) -> Iterator[FakeHevy]:
    with running_fake_hevy() as fake:
        yield fake


def quick_client() -> HevyClient:
    return HevyClient(backoff_seconds=0, timeout=2)


def answer(result: object) -> tuple[int, int, int, int, int]:
    return (
        result.fetched,  # type: ignore[attr-defined]
        result.inserted,  # type: ignore[attr-defined]
        result.updated,  # type: ignore[attr-defined]
        result.deleted,  # type: ignore[attr-defined]
        result.skipped_existing,  # type: ignore[attr-defined]
    )


def test_a_first_sync_stores_every_workout_as_a_lift(hevy: FakeHevy) -> None:
    result = sync_hevy(client=quick_client())
    assert answer(result) == (3, 3, 0, 0, 0)
    assert result.last_synced_at == NEWEST_RECORDED == get_last_synced_at("hevy")
    push = get_lift_by_id(f"hevy_{PUSH}")
    assert push is not None and push.title == "Push Day 💪"
    assert [e.primary_muscle_group for e in push.exercises] == ["chest", "triceps"]
    assert set(get_exercise_templates()) == {"79D0BB3A", "6575F52D", "D04AC939", "C2C6C3B9"}
    assert hevy.requests_to("/v1/workouts/events") == []
    (listing,) = hevy.requests_to("/v1/workouts")
    assert listing.headers["api-key"] == hevy.api.api_key
    assert listing.query == {"page": "1", "pageSize": "10"}


def test_every_page_is_fetched_and_templates_only_once(hevy: FakeHevy) -> None:
    hevy.api.workouts = make_workouts(23)
    result = sync_hevy(client=quick_client())
    assert (result.fetched, result.inserted) == (23, 23)
    assert [r.query["page"] for r in hevy.requests_to("/v1/workouts")] == ["1", "2", "3"]
    assert len(list_lifts(limit=50).lifts) == 23
    sync_hevy(full_sync=True, client=quick_client())
    assert len(hevy.requests_to("/v1/exercise_templates")) == 1


def test_a_sync_again_reads_only_events_and_changes_nothing(hevy: FakeHevy) -> None:
    sync_hevy(client=quick_client())
    again = sync_hevy(client=quick_client())
    assert answer(again) == (0, 0, 0, 0, 0)
    (events,) = hevy.requests_to("/v1/workouts/events")
    assert events.query["since"] == "2025-01-09T12:20:05Z"
    assert len(hevy.requests_to("/v1/workouts")) == 1


def test_a_workout_changed_in_hevy_becomes_a_new_version(hevy: FakeHevy) -> None:
    sync_hevy(client=quick_client())
    hevy.api.update(PUSH, LATER, title="Push A")
    result = sync_hevy(client=quick_client())
    assert answer(result) == (1, 0, 1, 0, 0)
    assert result.last_synced_at == LATER
    latest, original = get_lift_history(f"hevy_{PUSH}").versions
    assert (latest.change_type, latest.changed_by, latest.title) == ("edit", "hevy sync", "Push A")
    assert latest.changes["title"] == {"from": "Push Day 💪", "to": "Push A"}
    assert original.title == "Push Day 💪"


def test_a_workout_changed_in_hevy_never_overwrites_the_users_edit(hevy: FakeHevy) -> None:
    sync_hevy(client=quick_client())
    update_lift_with_history(f"hevy_{PUSH}", {"title": "Mine"}, "me")
    hevy.api.update(PUSH, LATER, title="Hevy's")
    result = sync_hevy(client=quick_client())
    assert answer(result) == (1, 0, 0, 0, 1)
    assert result.kept_edited == [f"hevy_{PUSH}"]
    lift = get_lift_by_id(f"hevy_{PUSH}")
    assert lift is not None and (lift.title, lift.version) == ("Mine", 2)
    assert get_last_synced_at("hevy") == LATER


def test_a_workout_deleted_in_hevy_becomes_a_deletion_version(hevy: FakeHevy) -> None:
    sync_hevy(client=quick_client())
    hevy.api.delete(LEGS, LATER)
    result = sync_hevy(client=quick_client())
    assert answer(result) == (1, 0, 0, 1, 0)
    assert get_lift_by_id(f"hevy_{LEGS}") is None
    kept = get_lift_by_id(f"hevy_{LEGS}", include_deleted=True)
    assert kept is not None and kept.exercises  # soft: the workout is still there
    assert [v.change_type for v in get_lift_history(f"hevy_{LEGS}").versions] == [
        "deletion",
        "original",
    ]


def test_a_full_sync_rereads_every_workout_and_the_deletions(hevy: FakeHevy) -> None:
    sync_hevy(client=quick_client())
    hevy.api.update(PUSH, LATER, title="Push A")
    hevy.api.delete(LEGS, LATER)
    result = sync_hevy(full_sync=True, client=quick_client())
    assert answer(result) == (3, 0, 1, 1, 1)


def test_an_unusable_workout_is_reported_and_the_others_stored(hevy: FakeHevy) -> None:
    hevy.api.workouts[0]["start_time"] = None
    hevy.api.workouts[1]["exercises"][0]["sets"][0]["reps"] = -3  # type: ignore[index]
    result = sync_hevy(client=quick_client())
    assert result.inserted == 1
    messages = sorted(error.message for error in result.errors)
    assert messages[0] == "workout has an unusable value at exercises.0.sets.0.reps: " + (
        "Input should be greater than or equal to 0"
    )
    assert messages[1] == "workout has no start_time"


def test_without_a_key_the_sync_says_how_to_set_one(db: str) -> None:
    with pytest.raises(IntegrationNotConfigured, match="HEVY_API_KEY"):
        sync_hevy()


def test_a_bad_key_is_refused_with_what_to_do_and_nothing_is_stored(hevy: FakeHevy) -> None:
    hevy.api.api_key = "another"
    with pytest.raises(CredentialsRejected, match=r"HEVY_API_KEY.*settings\?developer"):
        sync_hevy(client=quick_client())
    assert list_lifts().lifts == [] and get_last_synced_at("hevy") is None


def test_an_account_without_hevy_pro_is_refused(hevy: FakeHevy) -> None:
    hevy.api.is_pro = False
    with pytest.raises(IntegrationRefused, match="Hevy Pro"):
        sync_hevy(client=quick_client())


def test_hevy_down_is_retried_then_reported(hevy: FakeHevy) -> None:
    hevy.api.fail_next(500, times=2)
    assert sync_hevy(client=quick_client()).inserted == 3
    hevy.api.fail_next(503, times=3)
    with pytest.raises(IntegrationError, match=r"Hevy answered HTTP 503 .*\(3 tries\)"):
        sync_hevy(client=quick_client())


def test_a_rate_limit_keeps_what_was_fetched_and_the_marker(hevy: FakeHevy) -> None:
    hevy.api.workouts = make_workouts(15)
    sync_hevy(client=quick_client(), full_sync=True)
    marker = get_last_synced_at("hevy")
    hevy.api.answer_next(Reply(429, text="Too Many Requests", headers={"Retry-After": "30"}))
    before = datetime.now(UTC)
    result = sync_hevy(client=quick_client(), full_sync=True)
    assert result.rate_limited
    assert result.retry_after is not None
    assert (
        before + timedelta(seconds=29)
        <= result.retry_after
        <= datetime.now(UTC) + timedelta(seconds=31)
    )
    assert len(list_lifts(limit=50).lifts) == 15
    assert get_last_synced_at("hevy") == marker


def test_a_rate_limit_on_a_later_page_stores_the_first_and_keeps_no_marker(
    hevy: FakeHevy,
) -> None:
    hevy.api.workouts = make_workouts(15)
    original = hevy.api.__call__

    def second_page_limited(request):  # type: ignore[no-untyped-def]
        if request.query.get("page") == "2":
            return Reply(429, text="Too Many Requests")
        return original(request)

    hevy.server.route("GET", "/v1/workouts", second_page_limited)
    result = sync_hevy(client=quick_client())
    assert (result.rate_limited, result.retry_after, result.inserted) == (True, None, 10)
    assert len(list_lifts(limit=50).lifts) == 10
    assert get_last_synced_at("hevy") is None


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, text="<html>maintenance</html>"), "not JSON"),
        (Reply(200, {"page": 1, "page_count": 1, "workouts": "none"}), "unreadable page"),
        (Reply(200, {"page": 1, "workouts": []}), "without a page count"),
        (Reply(200, [1, 2]), "unreadable answer"),
    ],
)
def test_odd_answers_are_integration_errors_saying_so(
    hevy: FakeHevy, reply: Reply, message: str
) -> None:
    hevy.api.answer_next(reply)
    with pytest.raises(IntegrationError, match=message):
        sync_hevy(client=quick_client())


def test_a_listing_that_never_ends_is_stopped(hevy: FakeHevy) -> None:
    hevy.api.workouts = make_workouts(30)
    with pytest.raises(IntegrationError, match="more than 2 pages"):
        sync_hevy(client=HevyClient(backoff_seconds=0, timeout=2, max_pages=2))


def test_the_key_is_kept_encrypted_once_hevy_accepted_it(
    hevy: FakeHevy, raw_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_hevy(client=quick_client())
    (stored,) = raw_conn.execute("SELECT api_key FROM api_keys WHERE provider = 'hevy'").fetchone()
    assert stored.startswith("enc:v2:") and API_KEY not in stored
    monkeypatch.delenv("HEVY_API_KEY")
    reset_settings()
    hevy.api.update(PUSH, LATER, title="Push A")
    assert sync_hevy().updated == 1  # with the stored key
    assert hevy.requests_to("/v1/workouts/events")[-1].headers["api-key"] == API_KEY


def test_a_rejected_key_is_not_kept(hevy: FakeHevy, raw_conn: psycopg.Connection) -> None:
    hevy.api.api_key = "another"
    with pytest.raises(CredentialsRejected):
        sync_hevy(client=quick_client())
    assert raw_conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
