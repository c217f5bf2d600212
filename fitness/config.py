"""Settings for every part of fitness, read from the environment and the .env files.

Precedence: real environment variables > `.env.<FITNESS_ENV>.local` > `.env.<FITNESS_ENV>`.
Secrets only ever come from the environment or the git-ignored `.local` file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dotenv import dotenv_values

from fitness.errors import ConfigurationError
from fitness.rules import is_zone_name

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "prod")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, already parsed; secrets are excluded from `repr`."""

    env: str = "dev"
    database_url: str | None = field(default=None, repr=False)
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_timeout: float = 10.0
    connect_timeout: int = 5
    statement_timeout_ms: int = 30_000
    prepared_statements: bool = True
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    secret_key: str | None = field(default=None, repr=False)
    new_secret_key: str | None = field(default=None, repr=False)
    mmf_timezone: str = "UTC"
    strava_client_id: str | None = None
    strava_client_secret: str | None = field(default=None, repr=False)
    strava_refresh_token: str | None = field(default=None, repr=False)
    strava_api_base_url: str = "https://www.strava.com/api/v3"
    strava_token_url: str = "https://www.strava.com/oauth/token"
    strava_auth_url: str = "https://www.strava.com/oauth/authorize"
    # Strava replaces oauth/deauthorize with oauth/revoke by 2027-06-01: one setting.
    strava_revoke_url: str = "https://www.strava.com/oauth/deauthorize"
    hevy_api_key: str | None = field(default=None, repr=False)
    hevy_api_base_url: str = "https://api.hevyapp.com"
    google_client_id: str | None = None
    google_client_secret: str | None = field(default=None, repr=False)
    google_refresh_token: str | None = field(default=None, repr=False)
    google_calendar_id: str = "primary"
    google_api_base_url: str = "https://www.googleapis.com/calendar/v3"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "UTC"
    units: str = "mi"
    week_start: str = "monday"
    resting_hr: float = 60.0
    max_hr: float = 190.0
    trimp_sex: str = "male"

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url


def default_data_dir() -> Path:
    """The platform's per-user data directory, where the embedded database lives."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "fitness"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "fitness"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "fitness"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; `reset_settings()` forgets them."""
    return load_settings(os.environ)


def reset_settings() -> None:
    """Forget cached settings so the next `get_settings()` reads the environment again."""
    get_settings.cache_clear()


def load_settings(
    environ: dict[str, str] | os._Environ[str], root: Path = PROJECT_ROOT
) -> Settings:
    """Merge the .env files of the chosen environment with `environ` and parse the result."""
    env = environ.get("FITNESS_ENV", "dev").strip() or "dev"
    if env not in ENVIRONMENTS:
        raise ConfigurationError(
            f"FITNESS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}"
        )
    values: dict[str, str] = {}
    for path in (root / f".env.{env}", root / f".env.{env}.local"):
        if path.is_file():
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(environ)
    return _parse(env, values)


def _parse(env: str, values: dict[str, str]) -> Settings:
    def text(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    def number(name: str, default: float, cast: type[int] | type[float]) -> int | float:
        raw = text(name)
        if raw is None:
            return default
        try:
            return cast(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None

    def flag(name: str, default: bool) -> bool:
        raw = text(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(f"{name} must be true or false, not {raw!r}")

    def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = (text(name) or default).lower()
        if raw not in allowed:
            raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
        return raw

    database_url = text("DATABASE_URL")
    defaults = Settings()
    resting_hr = float(number("FITNESS_RESTING_HR", defaults.resting_hr, float))
    max_hr = float(number("FITNESS_MAX_HR", defaults.max_hr, float))
    # The bounds of a heart rate a run may store (fitness.models), and a reserve to divide by.
    if not 20 <= resting_hr < max_hr <= 250:
        raise ConfigurationError(
            "FITNESS_RESTING_HR and FITNESS_MAX_HR must satisfy 20 <= resting < maximum <= 250 "
            f"(beats per minute), not {resting_hr:g} and {max_hr:g}"
        )
    # Neon's pooled endpoints run PgBouncer in transaction mode, where server-side prepared
    # statements cannot be relied on; default them off there.
    behind_pooler = bool(database_url and "-pooler." in database_url)
    tokens = tuple(t.strip() for t in (text("FITNESS_API_TOKENS") or "").split(",") if t.strip())
    return Settings(
        env=env,
        database_url=database_url,
        data_dir=Path(text("FITNESS_DATA_DIR") or defaults.data_dir).expanduser(),
        pool_min_size=int(number("FITNESS_DB_POOL_MIN_SIZE", defaults.pool_min_size, int)),
        pool_max_size=int(number("FITNESS_DB_POOL_MAX_SIZE", defaults.pool_max_size, int)),
        pool_timeout=float(number("FITNESS_DB_POOL_TIMEOUT", defaults.pool_timeout, float)),
        connect_timeout=int(number("FITNESS_DB_CONNECT_TIMEOUT", defaults.connect_timeout, int)),
        statement_timeout_ms=int(
            number("FITNESS_DB_STATEMENT_TIMEOUT_MS", defaults.statement_timeout_ms, int)
        ),
        prepared_statements=flag("FITNESS_DB_PREPARED_STATEMENTS", not behind_pooler),
        api_tokens=tokens,
        secret_key=text("FITNESS_SECRET_KEY"),
        new_secret_key=text("FITNESS_NEW_SECRET_KEY"),
        mmf_timezone=text("MMF_TIMEZONE") or defaults.mmf_timezone,
        strava_client_id=text("STRAVA_CLIENT_ID"),
        strava_client_secret=text("STRAVA_CLIENT_SECRET"),
        strava_refresh_token=text("STRAVA_REFRESH_TOKEN"),
        strava_api_base_url=text("STRAVA_API_BASE_URL") or defaults.strava_api_base_url,
        strava_token_url=text("STRAVA_TOKEN_URL") or defaults.strava_token_url,
        strava_auth_url=text("STRAVA_AUTH_URL") or defaults.strava_auth_url,
        strava_revoke_url=text("STRAVA_REVOKE_URL") or defaults.strava_revoke_url,
        hevy_api_key=text("HEVY_API_KEY"),
        hevy_api_base_url=text("HEVY_API_BASE_URL") or defaults.hevy_api_base_url,
        google_client_id=text("GOOGLE_CLIENT_ID"),
        google_client_secret=text("GOOGLE_CLIENT_SECRET"),
        google_refresh_token=text("GOOGLE_REFRESH_TOKEN"),
        google_calendar_id=text("GOOGLE_CALENDAR_ID") or defaults.google_calendar_id,
        google_api_base_url=text("GOOGLE_API_BASE_URL") or defaults.google_api_base_url,
        google_token_url=text("GOOGLE_TOKEN_URL") or defaults.google_token_url,
        google_auth_url=text("GOOGLE_AUTH_URL") or defaults.google_auth_url,
        google_revoke_url=text("GOOGLE_REVOKE_URL") or defaults.google_revoke_url,
        public_base_url=text("FITNESS_PUBLIC_BASE_URL") or defaults.public_base_url,
        timezone=_zone(text("FITNESS_TIMEZONE") or defaults.timezone),
        units=choice("FITNESS_UNITS", defaults.units, ("mi", "km")),
        week_start=choice("FITNESS_WEEK_START", defaults.week_start, ("monday", "sunday")),
        resting_hr=resting_hr,
        max_hr=max_hr,
        trimp_sex=choice("FITNESS_TRIMP_SEX", defaults.trimp_sex, ("male", "female")),
    )


def _zone(name: str) -> str:
    if not is_zone_name(name):
        raise ConfigurationError(
            f"FITNESS_TIMEZONE must be an IANA time zone such as Europe/Berlin, not {name!r}"
        )
    return name
