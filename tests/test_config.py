"""Settings: precedence of env files and environment, and the prod safety rails."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.config import load_settings
from fitness.db.connection import database_url, masked_url
from fitness.errors import ConfigurationError


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_local_file_overrides_committed_file_and_environment_overrides_both(
    tmp_path: Path,
) -> None:
    write(tmp_path / ".env.dev", "MMF_TIMEZONE=Europe/Paris\nFITNESS_DB_POOL_MAX_SIZE=3\n")
    write(tmp_path / ".env.dev.local", "MMF_TIMEZONE=America/New_York\n")
    settings = load_settings({"FITNESS_DB_POOL_MAX_SIZE": "7"}, root=tmp_path)
    assert settings.mmf_timezone == "America/New_York"
    assert settings.pool_max_size == 7


def test_fitness_env_selects_the_prod_files(tmp_path: Path) -> None:
    write(tmp_path / ".env.dev", "MMF_TIMEZONE=Europe/Paris\n")
    write(tmp_path / ".env.prod", "MMF_TIMEZONE=Asia/Tokyo\n")
    settings = load_settings({"FITNESS_ENV": "prod"}, root=tmp_path)
    assert settings.is_prod
    assert settings.mmf_timezone == "Asia/Tokyo"


def test_an_unknown_environment_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FITNESS_ENV must be one of dev, prod"):
        load_settings({"FITNESS_ENV": "staging"}, root=tmp_path)


def test_a_malformed_number_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FITNESS_DB_POOL_MAX_SIZE"):
        load_settings({"FITNESS_DB_POOL_MAX_SIZE": "lots"}, root=tmp_path)


def test_prod_without_database_url_refuses_to_start_and_names_the_variable(
    tmp_path: Path,
) -> None:
    settings = load_settings({"FITNESS_ENV": "prod"}, root=tmp_path)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        database_url(settings)


def test_api_tokens_are_split_and_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "FITNESS_API_TOKENS": " alpha, beta ,,",
            "DATABASE_URL": "postgresql://u:hunter2@db.example/fitness",
            "STRAVA_CLIENT_SECRET": "s3cret-strava",
            "FITNESS_SECRET_KEY": "k3y",
            "FITNESS_NEW_SECRET_KEY": "n3w-k3y",
        },
        root=tmp_path,
    )
    assert settings.api_tokens == ("alpha", "beta")
    assert settings.new_secret_key == "n3w-k3y"
    text = repr(settings)
    for secret in ("alpha", "hunter2", "s3cret-strava", "k3y", "n3w-k3y"):
        assert secret not in text


def test_neon_pooled_urls_turn_prepared_statements_off(tmp_path: Path) -> None:
    pooled = load_settings(
        {"DATABASE_URL": "postgresql://u:p@ep-cool-1234-pooler.eu-central-1.aws.neon.tech/db"},
        root=tmp_path,
    )
    direct = load_settings(
        {"DATABASE_URL": "postgresql://u:p@ep-cool-1234.eu-central-1.aws.neon.tech/db"},
        root=tmp_path,
    )
    assert not pooled.prepared_statements
    assert direct.prepared_statements


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://alice:hunter2@db.example:5432/fitness?sslmode=require",
            "postgresql://alice:***@db.example:5432/fitness?sslmode=require",
        ),
        ("postgresql://alice@db.example/fitness", "postgresql://alice@db.example/fitness"),
        ("host=db.example user=alice password=hunter2 dbname=f", None),
    ],
)
def test_masked_urls_never_show_the_password(url: str, expected: str | None) -> None:
    masked = masked_url(url)
    assert "hunter2" not in masked
    if expected is not None:
        assert masked == expected


def test_statistics_settings_have_defaults_and_are_checked(tmp_path: Path) -> None:
    defaults = load_settings({}, root=tmp_path)
    assert (defaults.timezone, defaults.units, defaults.week_start) == ("UTC", "mi", "monday")
    assert (defaults.resting_hr, defaults.max_hr, defaults.trimp_sex) == (60.0, 190.0, "male")
    chosen = load_settings(
        {
            "FITNESS_TIMEZONE": "Europe/Berlin",
            "FITNESS_UNITS": "KM",
            "FITNESS_WEEK_START": "sunday",
            "FITNESS_RESTING_HR": "48",
            "FITNESS_MAX_HR": "182",
            "FITNESS_TRIMP_SEX": "female",
        },
        root=tmp_path,
    )
    assert (chosen.timezone, chosen.units, chosen.week_start) == ("Europe/Berlin", "km", "sunday")
    assert (chosen.resting_hr, chosen.max_hr, chosen.trimp_sex) == (48.0, 182.0, "female")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"FITNESS_TIMEZONE": "Mars/Olympus_Mons"}, "FITNESS_TIMEZONE"),
        ({"FITNESS_UNITS": "furlongs"}, "FITNESS_UNITS"),
        ({"FITNESS_WEEK_START": "friday"}, "FITNESS_WEEK_START"),
        ({"FITNESS_TRIMP_SEX": "x"}, "FITNESS_TRIMP_SEX"),
        ({"FITNESS_RESTING_HR": "200"}, "FITNESS_RESTING_HR"),
        ({"FITNESS_MAX_HR": "nan"}, "FITNESS_MAX_HR"),
        ({"FITNESS_MAX_HR": "fast"}, "FITNESS_MAX_HR"),
    ],
)
def test_bad_statistics_settings_name_the_variable(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_settings(environ, root=tmp_path)
