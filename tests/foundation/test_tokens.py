"""Access tokens: what the hub accepts and every forgery it must refuse."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from app.auth.devkey import DEVELOPMENT_SIGNING_KEY
from app.auth.tokens import TokenService
from tests.conftest import Credentials, MakeClient

ENDPOINT = "/v1/institutions"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def creds(make_client: MakeClient) -> Credentials:
    return make_client("dgme", "cases:read")


@pytest.fixture
def claims(creds: Credentials) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://puente.local",
        "aud": "puente-api",
        "sub": creds.client_id,
        "institution": "dgme",
        "scope": "cases:read",
        "iat": now,
        "exp": now + 300,
        "jti": "a1b2c3",
        "gen": 1,
    }


@pytest.fixture
def sign(app: FastAPI) -> Callable[..., str]:
    """Sign claims with the hub's own key, so only the claim under test is wrong."""
    tokens: TokenService = app.state.tokens

    def make(claims: dict[str, Any], **headers: Any) -> str:
        header = {"kid": tokens.current.kid, "typ": "at+jwt", **headers}
        return jwt.encode(claims, DEVELOPMENT_SIGNING_KEY, "ES256", headers=header)

    return make


def _call(api: TestClient, token: str) -> Any:
    return api.get(ENDPOINT, headers={"Authorization": f"Bearer {token}"})


def _assert_refused(api: TestClient, token: str) -> None:
    """401 as a problem, with the challenge a client library reacts to."""
    response = _call(api, token)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_from_the_token_endpoint_is_accepted(
    api: TestClient, creds: Credentials
) -> None:
    token = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.secret),
    ).json()["access_token"]
    assert _call(api, token).status_code == 200


def test_the_token_carries_the_rfc_9068_claims_and_header(
    api: TestClient, creds: Credentials
) -> None:
    body = api.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.secret,
        },
    ).json()
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.get_unverified_claims(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] in {
        k["kid"] for k in api.get("/.well-known/jwks.json").json()["keys"]
    }
    assert {"iss", "aud", "sub", "exp", "iat", "jti", "scope"} <= claims.keys()
    assert claims["institution"] == "dgme"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == claims["exp"] - claims["iat"]


def test_the_jwks_verifies_a_token_outside_the_hub(
    api: TestClient, creds: Credentials
) -> None:
    token = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.secret),
    ).json()["access_token"]
    jwks = api.get("/.well-known/jwks.json").json()
    claims = jwt.decode(token, jwks, algorithms=["ES256"], audience="puente-api")
    assert claims["sub"] == creds.client_id


def _drop(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


FORGERIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "expired": lambda c: c | {"exp": int(time.time()) - 10},
    "without exp": lambda c: _drop(c, "exp"),
    "without iss": lambda c: _drop(c, "iss"),
    "without sub": lambda c: _drop(c, "sub"),
    "without aud": lambda c: _drop(c, "aud"),
    "without iat": lambda c: _drop(c, "iat"),
    "without jti": lambda c: _drop(c, "jti"),
    "without scope": lambda c: _drop(c, "scope"),
    "without institution": lambda c: _drop(c, "institution"),
    "with a wrong audience": lambda c: c | {"aud": "another-api"},
    "with a wrong issuer": lambda c: c | {"iss": "https://evil.example"},
    "for another institution": lambda c: c | {"institution": "conapina"},
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_token_with_bad_claims_is_refused(
    api: TestClient,
    claims: dict[str, Any],
    sign: Callable[..., str],
    forgery: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    _assert_refused(api, sign(forgery(claims)))


def test_a_correctly_signed_token_is_accepted(
    api: TestClient, claims: dict[str, Any], sign: Callable[..., str]
) -> None:
    """The forgeries above fail for their flaw alone, not for how they were made."""
    assert _call(api, sign(claims)).status_code == 200


def test_a_token_with_the_wrong_typ_is_refused(
    api: TestClient, claims: dict[str, Any], sign: Callable[..., str]
) -> None:
    _assert_refused(api, sign(claims, typ="JWT"))


def test_a_tampered_token_is_refused(
    api: TestClient, claims: dict[str, Any], sign: Callable[..., str]
) -> None:
    header, _payload, signature = sign(claims).split(".")
    forged = _b64(json.dumps(claims | {"scope": "admin"}).encode())
    _assert_refused(api, f"{header}.{forged}.{signature}")


def test_an_unsigned_alg_none_token_is_refused(
    api: TestClient, app: FastAPI, claims: dict[str, Any]
) -> None:
    kid = app.state.tokens.current.kid
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    _assert_refused(api, f"{header}.{payload}.")


def test_a_token_signed_with_hmac_over_the_public_key_is_refused(
    api: TestClient, app: FastAPI, claims: dict[str, Any]
) -> None:
    """The classic key-confusion attack: the public key used as an HMAC secret."""
    current = app.state.tokens.current
    header = {"alg": "HS256", "typ": "at+jwt", "kid": current.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    )
    mac = hmac.new(current.public_pem.encode(), signing_input.encode(), hashlib.sha256)
    _assert_refused(api, f"{signing_input}.{_b64(mac.digest())}")


def test_a_token_signed_by_another_key_is_refused(
    api: TestClient, app: FastAPI, claims: dict[str, Any]
) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    header = {"typ": "at+jwt", "kid": app.state.tokens.current.kid}
    token = jwt.encode(claims, other.decode(), "ES256", headers=header)
    _assert_refused(api, token)


def test_a_revoked_clients_token_stops_working(
    api: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    admin = auth("rree", "admin")
    headers = auth("dgme", "cases:read")
    client_id = jwt.get_unverified_claims(headers["Authorization"][7:])["sub"]
    assert api.get(ENDPOINT, headers=headers).status_code == 200

    api.post(f"/v1/admin/clients/{client_id}/revoke", headers=admin)

    response = api.get(ENDPOINT, headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_request_without_a_token_gets_401_problem(api: TestClient) -> None:
    response = api.get(ENDPOINT)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthorized")
