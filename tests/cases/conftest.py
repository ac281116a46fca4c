"""Shared pieces of the case tests: request bodies, callers of several institutions."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AuthHeaders

READ_WRITE = ("cases:read", "cases:write")
Headers = dict[str, str]


def child_body(**changes: Any) -> dict[str, Any]:
    return {
        "identifiers": [{"type": "nui", "value": "05123456-7"}],
        "given_names": "José Manuel",
        "family_names": "Hernández López",
        "sex": 1,
        "birth_date": "2012-04-09",
        "nationality": "SV",
        "mother_tongue": "spa",
        **changes,
    }


def case_body(**changes: Any) -> dict[str, Any]:
    return {
        "child": child_body(),
        "vulnerabilities": ["unaccompanied"],
        "protection_status": "unaccompanied",
        "location": {"country": "MX", "subdivision": "MX-CHP", "place": "Tapachula"},
        "origin": {"department": "SV-SM", "municipality": "San Miguel"},
        **changes,
    }


def register(
    api: TestClient, headers: Headers, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = api.post("/v1/cases", json=body or case_body(), headers=headers)
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


@pytest.fixture
def consulate(auth: AuthHeaders) -> Headers:
    return auth("consulado-tapachula", *READ_WRITE)


@pytest.fixture
def dgme(auth: AuthHeaders) -> Headers:
    return auth("dgme", *READ_WRITE)


@pytest.fixture
def conapina(auth: AuthHeaders) -> Headers:
    return auth("conapina", *READ_WRITE)


@pytest.fixture
def minsal(auth: AuthHeaders) -> Headers:
    return auth("minsal", *READ_WRITE)
