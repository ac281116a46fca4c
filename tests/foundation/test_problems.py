"""Every error is RFC 9457 problem+json, naming what went wrong."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.conftest import MakeClient

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


def _is_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    content_type = response.headers["content-type"]  # type: ignore[attr-defined]
    assert content_type == "application/problem+json"
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert PROBLEM_MEMBERS <= body.keys()
    assert body["status"] == status
    return body


def test_an_unknown_path_is_a_404_problem(api: TestClient) -> None:
    body = _is_problem(api.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"


def test_a_wrong_method_is_a_405_problem(api: TestClient) -> None:
    response = api.delete("/livez")
    _is_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_a_missing_scope_is_a_403_problem(
    api: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("dgme", "cases:read")
    body = _is_problem(api.get("/v1/admin/clients", headers=headers), 403)
    assert "admin" in str(body["detail"])


def test_invalid_fields_are_named_with_json_pointers(
    api: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("rree", "admin")
    response = api.post(
        "/v1/admin/clients",
        json={"institution": "dgme", "name": "", "scopes": [], "owner": "me"},
        headers=headers,
    )
    body = _is_problem(response, 422)
    pointers = {e["pointer"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert pointers == {"/name", "/scopes", "/owner"}


def test_a_body_that_is_not_json_is_a_415_problem(
    api: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("rree", "admin") | {"Content-Type": "text/plain"}
    response = api.post("/v1/admin/clients", content=b"name=x", headers=headers)
    _is_problem(response, 415)


def test_malformed_json_is_a_422_problem(
    api: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("rree", "admin") | {"Content-Type": "application/json"}
    response = api.post("/v1/admin/clients", content=b'{"name": ', headers=headers)
    _is_problem(response, 422)


def test_a_body_over_the_limit_is_refused_with_413_before_parsing(
    api: TestClient, settings: Settings
) -> None:
    oversized = b"x" * (settings.max_body_bytes + 1)
    response = api.post(
        "/v1/admin/clients",
        content=oversized,
        headers={"Content-Type": "application/json"},
    )
    body = _is_problem(response, 413)
    assert body["max_bytes"] == settings.max_body_bytes


def test_a_streamed_body_over_the_limit_is_refused_with_413(
    api: TestClient, settings: Settings
) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024

    response = api.post(
        "/oauth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _is_problem(response, 413)


def test_too_many_requests_is_a_429_problem_with_retry_after(
    app: FastAPI, api: TestClient, make_client: MakeClient
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"token_rate_limit": "2/minute"}
    )
    creds = make_client("dgme", "cases:read")
    form = {"grant_type": "client_credentials"}
    for _ in range(2):
        api.post("/oauth/token", data=form, auth=(creds.client_id, creds.secret))

    response = api.post("/oauth/token", data=form, auth=(creds.client_id, creds.secret))

    _is_problem(response, 429)
    assert int(response.headers["retry-after"]) >= 1


def test_an_unexpected_failure_is_a_500_problem_without_internals(
    app: FastAPI, api: TestClient
) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    body = _is_problem(api.get("/boom"), 500)
    assert "secret internals" not in str(body)


@pytest.mark.parametrize("path", ["/livez", "/v1/nothing"])
def test_every_response_carries_a_request_id(api: TestClient, path: str) -> None:
    assert api.get(path).headers["x-request-id"]


def test_a_write_that_loses_a_race_on_a_unique_constraint_is_a_409(
    app: FastAPI, api: TestClient
) -> None:
    from sqlalchemy.exc import IntegrityError

    @app.post("/race")
    def race() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    response = api.post("/race")
    body = _is_problem(response, 409)
    assert response.headers["retry-after"] == "1"
    assert "duplicate key" not in str(body)


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_transaction_that_lost_a_deadlock_is_a_409_to_retry(
    app: FastAPI, api: TestClient
) -> None:
    from sqlalchemy.exc import OperationalError

    @app.post("/deadlock")
    def deadlock() -> None:
        raise OperationalError("UPDATE ...", {}, _Deadlock("deadlock detected"))

    response = api.post("/deadlock")
    _is_problem(response, 409)
    assert response.headers["retry-after"] == "1"


def test_another_database_failure_stays_a_500(app: FastAPI, api: TestClient) -> None:
    from sqlalchemy.exc import OperationalError

    @app.post("/down")
    def down() -> None:
        raise OperationalError(
            "SELECT 1", {}, Exception("server closed the connection")
        )

    _is_problem(api.post("/down"), 500)
