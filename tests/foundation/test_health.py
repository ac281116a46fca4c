from fastapi.testclient import TestClient
from structlog.testing import capture_logs


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
