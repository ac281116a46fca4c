from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from app.main import create_app
from app.models import Case, Child
from app.settings import Settings
from tests.native.conftest import Headers, dgme_record, ndjson

NDJSON = {"Content-Type": "application/x-ndjson"}


def post_batch(
    api: TestClient, body: bytes, headers: Headers, adapter: str = "dgme"
) -> Any:
    return api.post(
        f"/v1/native/{adapter}/cases:batch",
        content=body,
        headers={**headers, **NDJSON},
    )


def count(db: Session, table: type) -> int:
    return db.exec(select(func.count()).select_from(table)).one()


def other_child(**changes: Any) -> dict[str, Any]:
    fields = {
        "numero_registro": "SII-2024-004600",
        "nombre_completo": "María José Ramírez Flores",
        "sexo": "F",
        "fecha_nacimiento": "01/06/2012",
        "nui": "062345671",
    }
    return dgme_record(**{**fields, **changes})


def test_good_lines_are_registered_and_bad_ones_answered_line_by_line(
    api: TestClient, dgme: Headers, db: Session
) -> None:
    body = ndjson(
        dgme_record(),
        '{"numero_registro": "SII-2024-004601", ',
        other_child(fecha_nacimiento="2012-06-01"),
        "",
        other_child(),
        dgme_record(numero_registro="SII-2024-004513"),
    )

    response = post_batch(api, body, dgme)

    assert response.status_code == 200, response.text
    result = response.json()
    lines = {line["line"]: line for line in result["lines"]}
    assert {n: line["status"] for n, line in lines.items()} == {
        1: "created",
        2: "error",
        3: "error",
        5: "created",
        6: "linked",
    }
    assert (result["created"], result["linked"], result["errors"]) == (2, 1, 2)
    assert lines[2]["problem"]["detail"] == "Line 2 is not valid JSON"
    assert [e["pointer"] for e in lines[3]["problem"]["errors"]] == [
        "/fecha_nacimiento"
    ]
    assert lines[6]["child_match"] == {"linked": True, "matched_on": "identifier"}
    assert (count(db, Case), count(db, Child)) == (3, 2)


def test_each_registered_line_reads_back_through_the_common_api(
    api: TestClient, dgme: Headers
) -> None:
    result = post_batch(api, ndjson(dgme_record(), other_child()), dgme).json()

    for line in result["lines"]:
        case = api.get(f"/v1/cases/{line['case_id']}", headers=dgme)
        assert case.status_code == 200


def test_a_batch_retried_with_its_key_replays_the_good_lines_and_retries_the_bad(
    api: TestClient, dgme: Headers, db: Session
) -> None:
    headers = {**dgme, "Idempotency-Key": "import-2024-11-02"}
    first = post_batch(api, ndjson(dgme_record(), "not json"), headers).json()

    again = post_batch(api, ndjson(dgme_record(), other_child()), headers).json()

    assert [line["status"] for line in again["lines"]] == ["created", "created"]
    assert again["lines"][0]["replayed"] is True
    assert again["lines"][0]["case_id"] == first["lines"][0]["case_id"]
    assert again["lines"][1]["replayed"] is False
    assert count(db, Case) == 2


def test_a_batch_needs_ndjson(api: TestClient, dgme: Headers) -> None:
    response = api.post(
        "/v1/native/dgme/cases:batch", json=[dgme_record()], headers=dgme
    )

    assert response.status_code == 415
    assert "application/x-ndjson" in response.json()["detail"]


@pytest.fixture
def small_batches(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    limited = settings.model_copy(
        update={"batch_max_lines": 2, "batch_max_bytes": 2048}
    )
    app: FastAPI = create_app(limited)
    app.state.engine = engine
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_batch_over_the_line_limit_is_413_and_registers_nothing(
    small_batches: TestClient, dgme: Headers, db: Session
) -> None:
    body = ndjson(dgme_record(), other_child(), dgme_record())

    response = post_batch(small_batches, body, dgme)

    assert response.status_code == 413
    assert response.json()["max_lines"] == 2
    assert count(db, Case) == 0


def test_a_batch_over_the_byte_limit_is_413(
    small_batches: TestClient, dgme: Headers
) -> None:
    padded = dgme_record(nombre_contacto="x" * 3000)

    response = post_batch(small_batches, ndjson(padded), dgme)

    assert response.status_code == 413
    assert response.json()["max_bytes"] == 2048
