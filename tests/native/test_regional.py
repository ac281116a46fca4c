from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import AuthHeaders
from tests.native.conftest import Headers, dgme_record, ndjson

TABLES = ("by_vulnerability", "by_age_band", "by_sex", "by_department", "by_month")


def child(number: int, **changes: Any) -> dict[str, Any]:
    return dgme_record(
        numero_registro=f"SII-2024-0050{number:02d}",
        nombre_completo=f"Niño Número{number} Prueba Regional",
        nui=f"0700000{number:02d}",
        **changes,
    )


@pytest.fixture
def registered(api: TestClient, dgme: Headers) -> list[dict[str, Any]]:
    """Six boys from Ahuachapán and one girl from San Miguel."""
    records = [child(n) for n in range(6)]
    records.append(child(6, sexo="F", departamento_origen="San Miguel"))
    response = api.post(
        "/v1/native/dgme/cases:batch",
        content=ndjson(*records),
        headers={**dgme, "Content-Type": "application/x-ndjson"},
    )
    assert response.json()["created"] == 7, response.text
    return records


@pytest.mark.usefixtures("registered")
def test_the_regional_conference_reads_counts_with_small_cells_suppressed(
    api: TestClient, auth: AuthHeaders
) -> None:
    response = api.get("/v1/regional/report", headers=auth("crm"))

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["threshold"] == 5
    assert report["total"] == {"key": "total", "count": 7, "suppressed": False}
    sexes = {cell["key"]: cell for cell in report["by_sex"]}
    assert sexes["female"] == {"key": "female", "count": None, "suppressed": True}
    for table in TABLES:
        shown = [cell["count"] for cell in report[table] if cell["count"]]
        assert all(count >= 5 for count in shown), table


def test_the_regional_report_holds_no_identifier(
    api: TestClient,
    auth: AuthHeaders,
    dgme: Headers,
    registered: list[dict[str, Any]],
) -> None:
    cases = api.get("/v1/cases", headers=dgme).json()["items"]

    text = api.get("/v1/regional/report", headers=auth("crm")).text

    for record in registered:
        for field in ("numero_registro", "nombre_completo", "nui"):
            assert record[field] not in text
    for case in cases:
        assert case["id"] not in text
        assert case["child"]["id"] not in text


@pytest.mark.usefixtures("registered")
def test_a_report_as_of_a_date_before_any_case_counts_nothing(
    api: TestClient, auth: AuthHeaders
) -> None:
    response = api.get(
        "/v1/regional/report", params={"as_of": "2020-01-01"}, headers=auth("crm")
    )

    assert response.json()["total"]["count"] == 0


def test_an_administrator_may_read_the_report(
    api: TestClient, auth: AuthHeaders
) -> None:
    assert (
        api.get("/v1/regional/report", headers=auth("rree", "admin")).status_code == 200
    )


def test_an_institution_that_is_not_regional_may_not(
    api: TestClient, auth: AuthHeaders
) -> None:
    headers = auth("dgme", "cases:read", "cases:write")

    response = api.get("/v1/regional/report", headers=headers)

    assert response.status_code == 403


def test_a_higher_threshold_suppresses_a_cell_the_default_would_show(
    api: TestClient, app: FastAPI, auth: AuthHeaders, dgme: Headers
) -> None:
    records = [child(n) for n in range(6)]
    records += [child(n, sexo="F") for n in range(6, 12)]
    response = api.post(
        "/v1/native/dgme/cases:batch",
        content=ndjson(*records),
        headers={**dgme, "Content-Type": "application/x-ndjson"},
    )
    assert response.json()["created"] == 12, response.text
    crm = auth("crm")

    default = api.get("/v1/regional/report", headers=crm).json()
    app.state.settings = app.state.settings.model_copy(update={"regional_threshold": 8})
    stricter = api.get("/v1/regional/report", headers=crm).json()

    assert (default["threshold"], stricter["threshold"]) == (5, 8)
    assert {"key": "male", "count": 6, "suppressed": False} in default["by_sex"]
    assert {"key": "male", "count": None, "suppressed": True} in stricter["by_sex"]
    assert stricter["total"]["count"] == 12
