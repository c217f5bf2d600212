"""fitness.db.sync_metadata: the incremental-sync marker per provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fitness.db.connection import transaction
from fitness.db.sync_metadata import get_last_synced_at, set_last_synced_at


def test_a_provider_never_synced_has_no_marker(db: str) -> None:
    assert get_last_synced_at("strava") is None


def test_the_marker_is_stored_per_provider_in_utc(db: str) -> None:
    eastern = timezone(timedelta(hours=-5))
    set_last_synced_at("strava", datetime(2025, 1, 1, 7, tzinfo=eastern))
    set_last_synced_at("hevy", datetime(2024, 1, 1, tzinfo=UTC))
    assert get_last_synced_at("strava") == datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert get_last_synced_at("strava").tzinfo == UTC  # type: ignore[union-attr]
    set_last_synced_at("strava", datetime(2025, 2, 1, tzinfo=UTC))
    assert get_last_synced_at("strava") == datetime(2025, 2, 1, tzinfo=UTC)
    assert get_last_synced_at("hevy") == datetime(2024, 1, 1, tzinfo=UTC)


def test_a_naive_timestamp_is_refused(db: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_last_synced_at("strava", datetime(2025, 1, 1))


def test_the_marker_rolls_back_with_the_callers_transaction(db: str) -> None:
    with pytest.raises(RuntimeError), transaction() as conn:
        set_last_synced_at("strava", datetime(2025, 1, 1, tzinfo=UTC), conn=conn)
        raise RuntimeError("the sync failed after this")
    assert get_last_synced_at("strava") is None
