"""Bearer tokens: who gets in, what a refusal looks like, and when the app refuses to start."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.errors import ConfigurationError
from fitness.server.auth import PublicRoute, requires_loopback
from tests.api.conftest import TOKEN


@pytest.mark.parametrize("path", ["/runs", "/shoes", "/runs/strava_1/history", "/openapi.json"])
def test_routes_without_a_token_are_a_401_bearer_challenge(
    anonymous: TestClient, path: str
) -> None:
    response = anonymous.get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        "Bearer ",
        "Bearer t\u00f6k\u00e9n".encode(),
    ],
)
def test_a_wrong_token_is_a_401(anonymous: TestClient, authorization: str | bytes) -> None:
    response = anonymous.get("/runs", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


def test_any_configured_token_is_accepted(settings: Settings, db: str) -> None:
    app = create_app(dataclasses.replace(settings, api_tokens=("first", "second")))

    with TestClient(app) as client:
        for token in ("first", "second"):
            response = client.get("/runs", headers={"Authorization": f"bearer {token}"})
            assert response.status_code == 200


def test_unknown_paths_and_wrong_methods_need_a_token_too(anonymous: TestClient) -> None:
    assert anonymous.get("/no/such/route").status_code == 401
    assert anonymous.post("/health").status_code == 401


def test_health_needs_no_token(anonymous: TestClient) -> None:
    assert anonymous.get("/health").status_code == 200


def test_routes_can_mark_themselves_public(settings: Settings, db: str) -> None:
    app = create_app(settings)

    async def callback(request: object) -> object:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("welcome back")

    app.router.routes.append(PublicRoute("/welcome/{provider}/back", callback, methods=["GET"]))
    client = TestClient(app)

    assert client.get("/welcome/strava/back").status_code == 200
    assert client.post("/welcome/strava/back").status_code == 401
    assert client.get("/welcome/strava/back/extra").status_code == 401


def test_without_tokens_dev_serves_everyone_but_only_on_loopback(
    settings: Settings, db: str
) -> None:
    open_settings = dataclasses.replace(settings, api_tokens=())
    app: Starlette = create_app(open_settings)

    with TestClient(app, base_url="http://localhost:8000", client=("127.0.0.1", 50000)) as client:
        assert client.get("/runs").status_code == 200
    assert requires_loopback(open_settings)
    assert not requires_loopback(settings)


def test_prod_without_tokens_refuses_to_start(settings: Settings) -> None:
    prod = dataclasses.replace(settings, env="prod", api_tokens=())

    with pytest.raises(ConfigurationError, match="FITNESS_API_TOKENS"):
        create_app(prod)


def test_prod_without_a_secret_key_refuses_to_start(settings: Settings) -> None:
    prod = dataclasses.replace(settings, env="prod", secret_key=None)

    with pytest.raises(ConfigurationError, match="FITNESS_SECRET_KEY"):
        create_app(prod)


def test_prod_without_a_database_url_refuses_to_start(settings: Settings) -> None:
    prod = dataclasses.replace(
        settings, env="prod", database_url=None, api_tokens=(STRONG,), secret_key=STRONG_KEY
    )

    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app(prod)


STRONG = "Vq3k9XcN2b7LmT4sRz8YhW1pGd6FjK0a"
STRONG_KEY = "kP7wQ2nZ5xR9tB3vM8cL1sD6fH4gJ0yA"


@pytest.mark.parametrize(
    ("tokens", "key", "named"),
    [
        (("test-token-5f1d0c",), STRONG_KEY, "FITNESS_API_TOKENS: token 1 is 17 characters"),
        ((STRONG, "a" * 40), STRONG_KEY, "token 2 uses only 1 different characters"),
        ((STRONG,), "operator passphrase", "FITNESS_SECRET_KEY is 19 characters"),
    ],
)
def test_prod_refuses_weak_tokens_and_keys_without_repeating_them(
    settings: Settings, tokens: tuple[str, ...], key: str, named: str
) -> None:
    prod = dataclasses.replace(settings, env="prod", api_tokens=tokens, secret_key=key)

    with pytest.raises(ConfigurationError, match=named) as refused:
        create_app(prod)
    assert not any(secret in str(refused.value) for secret in (*tokens, key))


def test_prod_serves_with_strong_tokens_and_key(settings: Settings) -> None:
    prod = dataclasses.replace(settings, env="prod", api_tokens=(STRONG,), secret_key=STRONG_KEY)
    assert create_app(prod).state.settings.is_prod


def test_dev_accepts_short_tokens(settings: Settings) -> None:
    assert create_app(dataclasses.replace(settings, api_tokens=("dev",)))
