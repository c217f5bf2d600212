"""What the Strava, Google and OAuth routes take."""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, ValidationInfo, field_validator

from fitness.rules import Day
from fitness.shapes import Query


class StravaSyncQuery(Query):
    full_sync: bool = False
    """Ignore the last sync and fetch every activity."""
    since: Day | None = None
    """Fetch every activity started on or after this UTC day (YYYY-MM-DD), up to today: for
    runs uploaded later than the week's overlap; not with full_sync."""

    @field_validator("since")
    @classmethod
    def _not_with_full_sync(cls, since: date | None, info: ValidationInfo) -> date | None:
        if since is not None and info.data.get("full_sync"):
            raise ValueError("cannot be combined with full_sync=true")
        return since


class HevySyncQuery(Query):
    full_sync: bool = False
    """List every workout again (and read the deletions since the last sync) instead of
    only the changes since the last sync."""


class CallbackQuery(Query):
    """What the provider appends to the redirect. Providers add parameters of their own
    (Google: `authuser`, `prompt`, `hd`), so others are ignored here, unlike elsewhere."""

    model_config = ConfigDict(extra="ignore")

    state: str | None = None
    """The state authorize put in the consent URL (single-use)."""
    code: str | None = None
    """The authorisation code to exchange for tokens."""
    error: str | None = None
    """Set instead of `code` when the user declined."""
    scope: str | None = None
    """The scopes granted (Strava sends them on the redirect)."""
