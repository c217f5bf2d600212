"""Without tokens the API is for this machine only: loopback clients, loopback `Host` names,
and no requests a browser marks as cross-site; the app enforces this however it is served."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.runs import get_run_by_id
from fitness.models import Run

LOOPBACK_CLIENT = ("127.0.0.1", 50000)
REBINDING_HOST = "rebind.attacker.example:8000"


@pytest.fixture
def open_app(settings: Settings) -> Starlette:
    return create_app(dataclasses.replace(settings, api_tokens=()))


@pytest.fixture
def open_client(open_app: Starlette) -> Iterator[TestClient]:
    with TestClient(open_app, base_url="http://127.0.0.1:8000", client=LOOPBACK_CLIENT) as client:
        yield client


def test_a_cross_site_form_post_cannot_restore_or_delete_a_run(
    open_client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    [run] = add_runs(1)
    forged = open_client.post(
        f"/runs/{run.id}/restore/1",
        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        content='{"changed_by": "attacker"}',
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    assert "FITNESS_API_TOKENS" in forged.json()["detail"]
    fetched = open_client.delete(f"/runs/{run.id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    stored: Run | None = get_run_by_id(run.id)
    assert stored is not None and stored.version == 1


def test_same_origin_and_non_browser_clients_are_served(open_client: TestClient, add_runs) -> None:
    [run] = add_runs(1)
    assert open_client.get(f"/runs/{run.id}").status_code == 200
    same_origin = open_client.patch(
        f"/runs/{run.id}",
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
        json={"distance": 4.2},
    )
    assert same_origin.status_code == 200
    assert same_origin.json()["version"] == 2


def test_health_stays_reachable_from_anywhere(open_app: Starlette, open_client: TestClient) -> None:
    response = open_client.get("/health", headers={"Origin": "https://status.example"})
    assert response.status_code == 200
    remote = TestClient(open_app, base_url=f"http://{REBINDING_HOST}", client=("203.0.113.9", 1))
    assert remote.get("/health").status_code == 200


# --- DNS rebinding: a web page whose own name now resolves to 127.0.0.1 -------------------


def test_a_rebound_page_cannot_read_the_runs(
    open_client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    [run] = add_runs(1)
    response = open_client.get(
        "/runs", headers={"Host": REBINDING_HOST, "Sec-Fetch-Site": "same-origin"}
    )

    assert response.status_code == 421
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Misdirected Request"
    assert "rebind.attacker.example" in response.json()["detail"]
    assert run.id not in response.text


def test_a_rebound_page_cannot_write_a_version_with_a_text_plain_patch(
    open_client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    [run] = add_runs(1)
    response = open_client.patch(
        f"/runs/{run.id}",
        headers={
            "Host": REBINDING_HOST,
            "Origin": f"http://{REBINDING_HOST}",
            "Sec-Fetch-Site": "same-origin",
            "Content-Type": "text/plain",
        },
        content='{"distance": 0.1, "change_reason": "rebound"}',
    )

    assert response.status_code == 421
    stored = get_run_by_id(run.id)
    assert stored is not None and stored.version == 1 and stored.distance == run.distance


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8000",
        "LocalHost:8000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "127.1.2.3:80",
        "[::1]",
        "[::1]:8000",
    ],
)
def test_every_loopback_host_form_is_served(open_client: TestClient, host: str) -> None:
    response = open_client.get("/runs", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "host",
    [
        "rebind.attacker.example",
        "localhost.attacker.example",
        "localhost.",
        "127.0.0.1.nip.io:8000",
        "10.0.0.1:8000",
        "[::2]:8000",
        "::1",
        "localhost:8000:8000",
        "localhost:http",
        "",
    ],
)
def test_any_other_host_is_misdirected(open_client: TestClient, host: str) -> None:
    response = open_client.get("/runs", headers={"Host": host})
    assert response.status_code == 421, response.text


@pytest.mark.parametrize("client", [("192.0.2.7", 40000), ("2001:db8::1", 40000), None])
def test_a_client_that_is_not_loopback_is_refused(
    open_app: Starlette,
    open_client: TestClient,
    client: tuple[str, int] | None,
    add_runs: Callable[..., list[Run]],
) -> None:
    [run] = add_runs(1)
    if client is None:  # a server that gives no client address (a Unix socket, say)
        remote = TestClient(_without_client(open_app), base_url="http://127.0.0.1:8000")
    else:
        remote = TestClient(open_app, base_url="http://127.0.0.1:8000", client=client)

    read = remote.get("/runs")
    write = remote.patch(f"/runs/{run.id}", json={"distance": 0.1})

    for response in (read, write):
        assert response.status_code == 403
        assert "loopback" in response.json()["detail"]
    stored = get_run_by_id(run.id)
    assert stored is not None and stored.version == 1


def test_ipv6_and_ipv4_mapped_loopback_clients_are_served(open_app: Starlette, db: str) -> None:
    for client in (("::1", 1), ("::ffff:127.0.0.1", 1), ("127.8.9.10", 1)):
        with TestClient(open_app, base_url="http://localhost:8000", client=client) as local:
            assert local.get("/runs").status_code == 200, client


def _without_client(app: Starlette) -> ASGIApp:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": None}, receive, send)

    return asgi
