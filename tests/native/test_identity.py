from collections.abc import Iterator

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tests.conftest import AuthHeaders
from tests.native.conftest import CARLOS_NUI, Headers, fixture

# The default RNPN base URL of the settings; `.invalid` never resolves.
RNPN = "https://rnpn.invalid/api/v1"
PERSON_URL = f"{RNPN}/personas/nui/{CARLOS_NUI}"
LOOKUP = f"/v1/identity/rnpn/nui/{CARLOS_NUI}"


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def consulate(auth: AuthHeaders) -> Headers:
    return auth("consulado-houston", "identity:read")


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_a_child_the_registry_knows_comes_back_without_the_parents(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    route = registry.get(PERSON_URL).respond(200, json=fixture("rnpn", "persona_nui"))

    response = api.get(LOOKUP, headers=consulate)

    assert response.status_code == 200
    child = response.json()
    assert (child["given_names"], child["birth_date"]) == (
        "Carlos Ernesto",
        "2010-03-14",
    )
    assert "del Cid Alvarado" not in response.text
    sent = route.calls.last.request
    assert sent.method == "GET"
    assert sent.url == PERSON_URL
    assert sent.extensions["timeout"]["read"] == 5.0
    assert "authorization" not in sent.headers


def test_a_birth_certificate_is_asked_for_as_a_partida(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    route = registry.get(f"{RNPN}/personas/partida/PN-0101-2010-0342").respond(404)

    response = api.get(
        "/v1/identity/rnpn/birth_certificate/PN-0101-2010-0342", headers=consulate
    )

    assert route.called
    assert_problem(response, 404)


def test_a_person_the_registry_does_not_know_is_404(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    registry.get(PERSON_URL).respond(404)

    assert_problem(api.get(LOOKUP, headers=consulate), 404)


def test_a_registry_that_times_out_is_504(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    route = registry.get(PERSON_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    assert_problem(api.get(LOOKUP, headers=consulate), 504)
    assert route.call_count == 1


def test_a_failing_registry_is_503_and_is_not_hammered(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    route = registry.get(PERSON_URL).respond(500)

    assert_problem(api.get(LOOKUP, headers=consulate), 503)
    assert route.call_count == 1


def test_a_malformed_answer_is_502(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    registry.get(PERSON_URL).respond(200, json={"nui": CARLOS_NUI, "sexo": "?"})

    assert_problem(api.get(LOOKUP, headers=consulate), 502)


def test_an_answer_that_is_not_json_is_502(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    registry.get(PERSON_URL).respond(200, text="<html>mantenimiento</html>")

    assert_problem(api.get(LOOKUP, headers=consulate), 502)


def test_an_identifier_the_registry_does_not_hold_is_422_without_asking(
    api: TestClient, consulate: Headers, registry: respx.MockRouter
) -> None:
    response = api.get("/v1/identity/rnpn/passport/B01234567", headers=consulate)

    assert_problem(response, 422)
    assert not registry.calls


def test_looking_up_needs_identity_read(
    api: TestClient, auth: AuthHeaders, registry: respx.MockRouter
) -> None:
    response = api.get(LOOKUP, headers=auth("consulado-houston", "cases:read"))

    assert_problem(response, 403)
    assert not registry.calls
