import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Case, Child, Event, TimelineEntry
from tests.native.conftest import (
    CARLOS_NUI,
    Headers,
    dgme_record,
    fixture,
    rree_record_of_carlos,
)


def post_native(api: TestClient, adapter: str, record: Any, headers: Headers) -> Any:
    return api.post(f"/v1/native/{adapter}/cases", json=record, headers=headers)


def count(db: Session, table: type) -> int:
    return db.exec(select(func.count()).select_from(table)).one()


def test_a_dgme_record_creates_a_case_visible_through_the_common_api(
    api: TestClient, dgme: Headers
) -> None:
    response = post_native(api, "dgme", dgme_record(), dgme)

    assert response.status_code == 201, response.text
    registered = response.json()
    assert response.headers["location"] == f"/v1/cases/{registered['id']}"
    assert registered["child_match"] == {"linked": False, "matched_on": None}

    common = api.get(response.headers["location"], headers=dgme)
    assert common.status_code == 200
    case = common.json()
    assert (case["child"]["given_names"], case["child"]["birth_date"]) == (
        "Carlos Ernesto",
        "2010-03-14",
    )
    assert case["registered_by"] == "dgme"
    assert {"type": "nui", "value": CARLOS_NUI} in [
        {"type": i["type"], "value": i["value"]} for i in case["child"]["identifiers"]
    ]


def test_a_native_registration_writes_its_timeline_entry_and_event(
    api: TestClient, dgme: Headers, db: Session
) -> None:
    case_id = post_native(api, "dgme", dgme_record(), dgme).json()["id"]

    timeline = api.get(f"/v1/cases/{case_id}/timeline", headers=dgme).json()
    assert [entry["action"] for entry in timeline] == ["case.registered"]
    query = select(Event.type).where(Event.case_id == uuid.UUID(case_id))
    events = db.exec(query).all()
    assert list(events) == ["case.created"]


def test_the_same_child_from_dgme_then_the_consulate_links_to_one_child(
    api: TestClient, dgme: Headers, consulate: Headers, db: Session
) -> None:
    first = post_native(api, "dgme", dgme_record(), dgme).json()

    response = post_native(api, "rree", rree_record_of_carlos(), consulate)

    assert response.status_code == 201, response.text
    second = response.json()
    assert second["child_match"] == {"linked": True, "matched_on": "identifier"}
    assert second["child"]["id"] == first["child"]["id"]
    assert second["registered_by"] == "consulado-houston"
    assert count(db, Child) == 1
    assert count(db, Case) == 2


def test_a_record_that_does_not_map_names_the_native_fields_and_writes_nothing(
    api: TestClient, dgme: Headers, db: Session
) -> None:
    record = dgme_record(fecha_nacimiento="2010-03-14", sexo="X")

    response = post_native(api, "dgme", record, dgme)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"/fecha_nacimiento", "/sexo"}
    assert all(error["detail"] for error in problem["errors"])
    assert not any(p.startswith("/child") for p in pointers)
    assert (count(db, Case), count(db, Child), count(db, TimelineEntry)) == (0, 0, 0)


def test_each_case_adapter_refuses_in_its_own_field_names(
    api: TestClient, auth: Any
) -> None:
    headers = auth("conapina", "cases:write")
    primero = {**fixture("primero", "retornado_no_acompanado"), "sex": "x"}
    rree = {**rree_record_of_carlos(), "fecha_nacimiento": "14/03/2010"}

    for adapter, record, pointer in (
        ("primero", primero, "/sex"),
        ("rree", rree, "/fecha_nacimiento"),
    ):
        response = post_native(api, adapter, record, headers)
        assert response.status_code == 422, adapter
        assert [e["pointer"] for e in response.json()["errors"]] == [pointer]


def test_a_body_that_is_not_json_or_not_an_object_is_a_clear_422(
    api: TestClient, dgme: Headers
) -> None:
    broken = api.post(
        "/v1/native/dgme/cases",
        content=b'{"nui": ',
        headers={**dgme, "Content-Type": "application/json"},
    )
    listed = post_native(api, "dgme", [dgme_record()], dgme)

    assert broken.status_code == 422
    assert broken.json()["detail"] == "The body is not valid JSON"
    assert listed.status_code == 422
    assert listed.json()["errors"] == [
        {"pointer": "", "detail": "expected a JSON object"}
    ]


def test_an_unknown_adapter_is_404_listing_the_known_ones(
    api: TestClient, dgme: Headers
) -> None:
    response = post_native(api, "sii", dgme_record(), dgme)

    assert response.status_code == 404
    assert response.json()["known"] == ["dgme", "primero", "rree"]


def test_a_retry_with_the_same_idempotency_key_replays_the_registration(
    api: TestClient, dgme: Headers, db: Session
) -> None:
    headers = {**dgme, "Idempotency-Key": "sii-2024-004512"}

    first = post_native(api, "dgme", dgme_record(), headers)
    again = post_native(api, "dgme", dgme_record(), headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert count(db, Case) == 1


def test_a_caller_without_cases_write_is_refused(
    api: TestClient, auth: Any, db: Session
) -> None:
    reader = auth("dgme", "cases:read")

    response = post_native(api, "dgme", dgme_record(), reader)

    assert response.status_code == 403
    assert count(db, Case) == 0


def test_a_body_of_another_media_type_is_415(api: TestClient, dgme: Headers) -> None:
    response = api.post(
        "/v1/native/dgme/cases",
        content=b"numero_registro=SII-2024-004512",
        headers={**dgme, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
