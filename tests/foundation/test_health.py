import pytest
import structlog
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from app.services import institutions as institution_service
from tests.conftest import AuthHeaders


def test_livez_answers_ok(api: TestClient) -> None:
    response = api.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_ok_when_the_database_is_reachable(api: TestClient) -> None:
    assert api.get("/readyz").json() == {"status": "ok"}


def test_request_id_is_echoed_when_given(api: TestClient) -> None:
    response = api.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_request_id_is_made_when_missing(api: TestClient) -> None:
    first = api.get("/livez").headers["x-request-id"]
    second = api.get("/livez").headers["x-request-id"]
    assert len(first) == 32
    assert first != second


def test_a_request_id_with_unsafe_characters_is_replaced(api: TestClient) -> None:
    response = api.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"


def test_the_request_log_names_the_route_not_the_raw_path(api: TestClient) -> None:
    with capture_logs() as logs:
        api.get("/v1/identity/rnpn/nui/05123456-7")

    handled = [entry for entry in logs if entry["event"] == "request handled"]
    assert handled[0]["path"] == "/v1/identity/rnpn/{identifier_type}/{value}"
    assert "05123456-7" not in str(logs)


def test_every_log_line_of_a_failing_request_carries_its_request_id(
    api: TestClient, auth: AuthHeaders, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = auth("dgme") | {"X-Request-ID": "failing-1"}

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(institution_service, "list_institutions", broken)
    # The configured pipeline up to, not including, the renderer: the request id
    # reaches a line only through the configuration the app really uses.
    pipeline = structlog.get_config()["processors"][:-1]
    with capture_logs(processors=pipeline) as logs:
        response = api.get("/v1/institutions", headers=headers)

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "failing-1"
    assert {entry["event"] for entry in logs} >= {"unhandled error", "request handled"}
    assert [entry.get("request_id") for entry in logs] == ["failing-1"] * len(logs)


def test_the_request_log_names_fixed_paths_but_not_unknown_ones(
    api: TestClient,
) -> None:
    with capture_logs() as logs:
        api.get("/openapi.json")
        api.get("/v1/nothing/05123456-7")

    paths = [entry["path"] for entry in logs if entry["event"] == "request handled"]
    assert paths == ["/openapi.json", "(unmatched)"]
