"""Admins create, list, rotate and revoke client credentials."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Client

AuthHeaders = Callable[..., dict[str, str]]
NEW_CLIENT = {"institution": "dgme", "name": "DGME SII", "scopes": ["cases:write"]}


@pytest.fixture
def admin(auth: AuthHeaders) -> dict[str, str]:
    return auth("rree", "admin")


def _token(api: TestClient, client_id: str, secret: str) -> int:
    response = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    return response.status_code


def test_a_created_client_can_get_a_token_with_the_secret_shown_once(
    api: TestClient, admin: dict[str, str]
) -> None:
    created = api.post("/v1/admin/clients", json=NEW_CLIENT, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert body["institution"] == "dgme"
    assert _token(api, body["id"], body["client_secret"]) == 200

    listed = api.get("/v1/admin/clients", headers=admin).json()
    assert body["id"] in {c["id"] for c in listed}
    assert all("client_secret" not in c for c in listed)


def test_the_secret_is_stored_only_as_a_slow_salted_hash(
    api: TestClient, admin: dict[str, str], db: Session
) -> None:
    body = api.post("/v1/admin/clients", json=NEW_CLIENT, headers=admin).json()
    stored = db.get(Client, body["id"])
    assert stored is not None
    assert body["client_secret"] not in stored.secret_hash
    assert stored.secret_hash.startswith("$argon2id$")


def test_rotation_replaces_the_secret_and_ends_old_tokens(
    api: TestClient, admin: dict[str, str]
) -> None:
    body = api.post("/v1/admin/clients", json=NEW_CLIENT, headers=admin).json()
    old_token = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(body["id"], body["client_secret"]),
    ).json()["access_token"]

    rotated = api.post(f"/v1/admin/clients/{body['id']}/rotate", headers=admin).json()

    assert _token(api, body["id"], body["client_secret"]) == 401
    assert _token(api, body["id"], rotated["client_secret"]) == 200
    old = {"Authorization": f"Bearer {old_token}"}
    assert api.get("/v1/institutions", headers=old).status_code == 401


def test_an_unknown_institution_is_refused_naming_the_field(
    api: TestClient, admin: dict[str, str]
) -> None:
    response = api.post(
        "/v1/admin/clients", json=NEW_CLIENT | {"institution": "isna"}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/institution"


def test_an_unknown_scope_is_refused(api: TestClient, admin: dict[str, str]) -> None:
    response = api.post(
        "/v1/admin/clients", json=NEW_CLIENT | {"scopes": ["everything"]}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/scopes"


def test_an_unknown_client_is_a_404(api: TestClient, admin: dict[str, str]) -> None:
    response = api.post("/v1/admin/clients/nobody/rotate", headers=admin)
    assert response.status_code == 404


def test_clients_can_be_listed_by_institution(
    api: TestClient, admin: dict[str, str]
) -> None:
    api.post("/v1/admin/clients", json=NEW_CLIENT, headers=admin)
    listed = api.get("/v1/admin/clients?institution=dgme", headers=admin).json()
    assert [c["institution"] for c in listed] == ["dgme"]
