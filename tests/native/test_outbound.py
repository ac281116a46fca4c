from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.adapters.dgme import DgmeAdapter
from tests.adapters.conftest import mapped_fields
from tests.native.conftest import CARLOS_NUI, Headers, dgme_record


@pytest.fixture
def case_id(api: TestClient, dgme: Headers) -> str:
    response = api.post("/v1/native/dgme/cases", json=dgme_record(), headers=dgme)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def read(api: TestClient, adapter: str, case_id: str, headers: Headers) -> Any:
    return api.get(f"/v1/native/{adapter}/cases/{case_id}", headers=headers)


def test_a_case_reads_back_as_the_dgme_record_it_came_from(
    api: TestClient, dgme: Headers, case_id: str
) -> None:
    response = read(api, "dgme", case_id, dgme)

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    rendered = response.json()
    for pointer in DgmeAdapter.not_carried:
        rendered.pop(pointer.strip("/"), None)
    expected = mapped_fields(DgmeAdapter(), dgme_record())
    # The hub keeps categories as a set; they come back in its order.
    for record in (rendered, expected):
        record["categorias_vulnerabilidad"].sort()
    assert rendered == expected


def test_a_case_renders_in_the_consular_format(
    api: TestClient, dgme: Headers, case_id: str
) -> None:
    rendered = read(api, "rree", case_id, dgme).json()

    assert (rendered["nombres"], rendered["apellidos"]) == (
        "Carlos Ernesto",
        "del Cid Peña",
    )
    assert rendered["fecha_nacimiento"] == "2010-03-14"
    assert {"tipo": "nui", "numero": CARLOS_NUI} in rendered["documentos_identidad"]


def test_a_case_renders_in_the_primero_format(
    api: TestClient, dgme: Headers, case_id: str
) -> None:
    rendered = read(api, "primero", case_id, dgme).json()

    assert (rendered["name_first"], rendered["name_last"]) == (
        "Carlos Ernesto",
        "del Cid Peña",
    )
    assert (rendered["sex"], rendered["date_of_birth"]) == ("male", "2010-03-14")
    assert rendered["national_id_no"] == CARLOS_NUI


def test_a_case_the_caller_cannot_see_is_404_in_every_format(
    api: TestClient, case_id: str, consulate: Headers
) -> None:
    for adapter in ("dgme", "rree", "primero"):
        assert read(api, adapter, case_id, consulate).status_code == 404


def test_reading_in_an_unknown_format_is_404_listing_the_formats(
    api: TestClient, dgme: Headers, case_id: str
) -> None:
    response = read(api, "minsal", case_id, dgme)

    assert response.status_code == 404
    assert "dgme, primero, rree" in response.json()["detail"]
