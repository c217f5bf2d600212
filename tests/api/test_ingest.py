"""`POST /ingest/hae` (fitness/api/ingest.py) and the ingest tokens that open it
(fitness/server/auth.py): a phone's push in, and an ingest token good for nothing else."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fitness.api import ingest
from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.runs import get_all_runs
from fitness.services.ingest_tokens import mint_ingest_token, revoke_ingest_token
from tests.importers.test_hae import V2, payload, workout

PHONE = ("192.168.1.23", 50123)


@pytest.fixture
def ingest_token(db: str) -> str:
    return mint_ingest_token("iphone").secret


def phone_headers(token: str) -> dict[str, str]:
    # What the app sends: its own headers, and the one the user configured.
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "automation-name": "fitness",
        "automation-id": "2F1B0A7C",
        "session-id": "7E3D9C1A",
    }


def test_a_push_with_an_ingest_token_stores_the_runs(
    anonymous: TestClient, ingest_token: str
) -> None:
    response = anonymous.post(
        "/ingest/hae", content=V2.read_bytes(), headers=phone_headers(ingest_token)
    )
    again = anonymous.post(
        "/ingest/hae", content=V2.read_bytes(), headers=phone_headers(ingest_token)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "inserted": 3,
        "skipped_existing": 0,
        "skipped_other": 2,
        "rides_inserted": 1,
        "rides_skipped_existing": 0,
    }
    assert again.json() == {
        "inserted": 0,
        "skipped_existing": 3,
        "skipped_other": 2,
        "rides_inserted": 0,
        "rides_skipped_existing": 1,
    }
    assert len(get_all_runs()) == 3


def test_an_api_token_opens_the_ingest_route_too(client: TestClient) -> None:
    response = client.post("/ingest/hae", content=V2.read_bytes())
    assert response.status_code == 200
    assert response.json()["inserted"] == 3


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/runs"), ("GET", "/openapi.json"), ("DELETE", "/runs/hae_1")]
)
def test_an_ingest_token_opens_nothing_else(
    anonymous: TestClient, ingest_token: str, method: str, path: str
) -> None:
    response = anonymous.request(method, path, headers={"Authorization": f"Bearer {ingest_token}"})

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert response.json()["type"] == "/problems/ingest-token-scope"


def test_a_revoked_or_unknown_ingest_token_is_a_401(
    anonymous: TestClient, ingest_token: str
) -> None:
    revoke_ingest_token("iphone")
    for token in (ingest_token, "fit_ingest_never-minted"):
        response = anonymous.post(
            "/ingest/hae", content=V2.read_bytes(), headers=phone_headers(token)
        )
        assert response.status_code == 401
        assert "fitness tokens mint" in response.json()["detail"]
    assert get_all_runs() == []


@pytest.fixture
def open_app(settings: Settings) -> Iterator[Starlette]:
    """The API without FITNESS_API_TOKENS (this machine only), started."""
    app = create_app(dataclasses.replace(settings, api_tokens=()))
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 1)):
        yield app


def test_without_api_tokens_a_phone_on_the_lan_may_push_with_an_ingest_token(
    open_app: Starlette, ingest_token: str
) -> None:
    phone = TestClient(open_app, base_url="http://laptop.local:8000", client=PHONE)

    pushed = phone.post("/ingest/hae", content=V2.read_bytes(), headers=phone_headers(ingest_token))
    no_token = phone.post("/ingest/hae", content=V2.read_bytes())
    browsing = phone.get("/runs", headers={"Authorization": f"Bearer {ingest_token}"})
    reading = phone.get("/runs")

    assert pushed.status_code == 200 and pushed.json()["inserted"] == 3
    assert no_token.status_code == 403  # unauthenticated: this machine only
    assert browsing.status_code == 403 and reading.status_code == 403


def test_a_malformed_push_is_a_400_and_a_bad_workout_a_422_naming_it(
    anonymous: TestClient, ingest_token: str
) -> None:
    headers = phone_headers(ingest_token)
    not_json = anonymous.post("/ingest/hae", content=b'{"data": ', headers=headers)
    metrics_only = anonymous.post("/ingest/hae", json={"data": {"metrics": []}}, headers=headers)
    empty = anonymous.post("/ingest/hae", content=b"", headers=headers)
    bad = anonymous.post(
        "/ingest/hae",
        content=json.dumps(payload(workout(), workout(distance={"qty": -1, "units": "km"}))),
        headers=headers,
    )

    assert not_json.status_code == 400 and not_json.json()["type"] == "/problems/malformed-payload"
    assert metrics_only.status_code == 400 and "data.workouts" in metrics_only.json()["detail"]
    assert empty.status_code == 400
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "data.workouts[1].distance.qty", "message": "must be a number of at least 0"}
    ]
    assert get_all_runs() == []


def test_a_push_over_the_limit_is_a_413_and_stores_nothing(
    anonymous: TestClient, ingest_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_HAE_BYTES", 4096)
    body = V2.read_bytes()

    declared = anonymous.post("/ingest/hae", content=body, headers=phone_headers(ingest_token))
    streamed = anonymous.post(
        "/ingest/hae", content=iter([body[:3000], body[3000:]]), headers=phone_headers(ingest_token)
    )

    assert declared.status_code == 413 and streamed.status_code == 413
    assert "larger than" in streamed.json()["detail"]
    assert get_all_runs() == []


def test_the_document_lists_the_ingest_route_with_both_schemes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/ingest/hae"]["post"]

    assert operation["security"] == [{"bearerAuth": []}, {"ingestToken": []}]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HaePayload"
    }
    assert {"200", "400", "401", "403", "413", "422"} <= set(operation["responses"])
