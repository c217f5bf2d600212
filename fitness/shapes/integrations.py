"""What the Strava, Google and OAuth routes take."""

from __future__ import annotations

from pydantic import ConfigDict

from fitness.shapes import Query


class StravaSyncQuery(Query):
    full_sync: bool = False
    """Ignore the last sync and fetch every activity."""


class CallbackQuery(Query):
    """What the provider appends to the redirect. Providers add parameters of their own
    (Google: `authuser`, `prompt`, `hd`), so others are ignored here, unlike elsewhere."""

    model_config = ConfigDict(extra="ignore")

    state: str | None = None
    """The state authorize put in the consent URL."""
    code: str | None = None
    """The authorisation code to exchange for tokens."""
    error: str | None = None
    """Set instead of `code` when the user declined."""
    scope: str | None = None
    """The scopes granted (Strava)."""
