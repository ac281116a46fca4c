"""The client-credentials grant and its RFC 6749 errors."""

import pytest
from argon2 import extract_parameters
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Credentials, MakeClient

GRANT = {"grant_type": "client_credentials"}


def _error(response: object) -> str:
    content_type = response.headers["content-type"]  # type: ignore[attr-defined]
    assert content_type == "application/problem+json"
    return str(response.json()["error"])  # type: ignore[attr-defined]


def test_a_client_authenticates_with_http_basic(
    api: TestClient, make_client: MakeClient
) -> None:
    creds = make_client("minsal", "referrals:read", "referrals:write")
    response = api.post(
        "/oauth/token", data=GRANT, auth=(creds.client_id, creds.secret)
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "referrals:read referrals:write"


def test_a_client_may_ask_for_fewer_scopes_than_it_holds(
    api: TestClient, make_client: MakeClient
) -> None:
    creds = make_client("minsal", "referrals:read", "referrals:write")
    response = api.post(
        "/oauth/token",
        data=GRANT | {"scope": "referrals:read"},
        auth=(creds.client_id, creds.secret),
    )
    assert response.json()["scope"] == "referrals:read"


def test_a_scope_the_client_does_not_hold_is_invalid_scope(
    api: TestClient, make_client: MakeClient
) -> None:
    creds = make_client("minsal", "referrals:read")
    response = api.post(
        "/oauth/token",
        data=GRANT | {"scope": "admin"},
        auth=(creds.client_id, creds.secret),
    )
    assert response.status_code == 400
    assert _error(response) == "invalid_scope"


def test_a_wrong_secret_is_invalid_client_with_401(
    api: TestClient, make_client: MakeClient
) -> None:
    creds = make_client("dgme", "cases:read")
    response = api.post("/oauth/token", data=GRANT, auth=(creds.client_id, "wrong"))
    assert response.status_code == 401
    assert _error(response) == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_an_unknown_client_is_invalid_client(api: TestClient) -> None:
    response = api.post(
        "/oauth/token", data=GRANT | {"client_id": "nobody", "client_secret": "x"}
    )
    assert response.status_code == 401
    assert _error(response) == "invalid_client"


def test_another_grant_type_is_unsupported(
    api: TestClient, make_client: MakeClient
) -> None:
    creds = make_client("dgme", "cases:read")
    response = api.post(
        "/oauth/token",
        data={"grant_type": "password"},
        auth=(creds.client_id, creds.secret),
    )
    assert response.status_code == 400
    assert _error(response) == "unsupported_grant_type"


def test_a_missing_grant_type_is_invalid_request(api: TestClient) -> None:
    response = api.post("/oauth/token", data={})
    assert response.status_code == 400
    assert _error(response) == "invalid_request"


def test_two_authentication_methods_at_once_are_invalid_request(
    api: TestClient, make_client: MakeClient
) -> None:
    creds: Credentials = make_client("dgme", "cases:read")
    response = api.post(
        "/oauth/token",
        data=GRANT | {"client_id": creds.client_id, "client_secret": creds.secret},
        auth=(creds.client_id, creds.secret),
    )
    assert _error(response) == "invalid_request"


def test_a_revoked_client_cannot_get_a_token(
    api: TestClient, make_client: MakeClient
) -> None:
    admin = make_client("rree", "admin")
    creds = make_client("dgme", "cases:read")
    admin_token = api.post(
        "/oauth/token", data=GRANT, auth=(admin.client_id, admin.secret)
    ).json()["access_token"]
    api.post(
        f"/v1/admin/clients/{creds.client_id}/revoke",
        headers={"Authorization": f"Bearer {admin_token}"},
    )

    response = api.post(
        "/oauth/token", data=GRANT, auth=(creds.client_id, creds.secret)
    )

    assert response.status_code == 401


def test_an_unknown_client_id_is_checked_against_a_hash_at_the_configured_cost(
    app: FastAPI, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"password_hash_time_cost": 2}
    )
    checked: list[str] = []

    def recording(secret_hash: str, _secret: str) -> bool:
        checked.append(secret_hash)
        return False

    monkeypatch.setattr("app.services.clients.verify_secret", recording)
    response = api.post(
        "/oauth/token", data=GRANT | {"client_id": "nobody", "client_secret": "x"}
    )

    assert response.status_code == 401
    # Timing would tell a real id from an unknown one if the costs differed.
    assert [extract_parameters(h).time_cost for h in checked] == [2]


def test_failures_from_one_address_do_not_lock_the_client_out_elsewhere(
    app: FastAPI, make_client: MakeClient
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"token_rate_limit": "3/minute"}
    )
    creds = make_client("dgme", "cases:read")
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    owner = TestClient(app, client=("198.51.100.7", 5000))

    refused = [
        attacker.post("/oauth/token", data=GRANT, auth=(creds.client_id, "guess"))
        for _ in range(5)
    ]
    response = owner.post(
        "/oauth/token", data=GRANT, auth=(creds.client_id, creds.secret)
    )

    assert [r.status_code for r in refused] == [401, 401, 401, 429, 429]
    assert response.status_code == 200


def test_after_its_failures_an_address_is_refused_even_with_the_right_secret(
    app: FastAPI, make_client: MakeClient
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"token_rate_limit": "2/minute"}
    )
    creds = make_client("dgme", "cases:read")
    guesser = TestClient(app, client=("203.0.113.9", 4000))
    for _ in range(2):
        guesser.post("/oauth/token", data=GRANT, auth=(creds.client_id, "guess"))

    response = guesser.post(
        "/oauth/token", data=GRANT, auth=(creds.client_id, creds.secret)
    )

    assert response.status_code == 429
