import copy
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.adapters.minsal import CASE_SYSTEM, REFERRAL_SYSTEM, MinsalAdapter
from app.models import Event, Referral, TimelineEntry
from tests.conftest import AuthHeaders
from tests.native.conftest import CARLOS_NUI, Headers, fixture
from tests.referrals.conftest import full_consent

FHIR = {"Content-Type": "application/fhir+json"}
SCOPES = ("cases:read", "cases:write", "referrals:read", "referrals:write")


@pytest.fixture
def minsal(auth: AuthHeaders) -> Headers:
    return auth("minsal", *SCOPES)


@pytest.fixture
def case_id(api: TestClient, minsal: Headers) -> str:
    """Carlos's case, registered by MINSAL with consent to every referral."""
    body = {
        "child": {
            "identifiers": [{"type": "nui", "value": CARLOS_NUI}],
            "given_names": "Carlos Ernesto",
            "family_names": "del Cid Peña",
            "sex": 1,
            "birth_date": "2010-03-14",
        },
        "vulnerabilities": ["unaccompanied"],
        "consent": full_consent(),
    }
    response = api.post("/v1/cases", json=body, headers=minsal)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bundle_for(case_id: str | None) -> dict[str, Any]:
    bundle = copy.deepcopy(fixture("minsal", "referencia_psicosocial_nueva"))
    due = (date.today() + timedelta(days=14)).isoformat()
    bundle["entry"][2]["resource"]["restriction"] = {"period": {"end": due}}
    if case_id is not None:
        request = bundle["entry"][1]["resource"]
        request["requisition"] = {"system": CASE_SYSTEM, "value": case_id}
    return bundle


def send(api: TestClient, bundle: dict[str, Any], headers: Headers) -> Any:
    return api.post(
        "/v1/native/minsal/referrals", json=bundle, headers={**headers, **FHIR}
    )


def count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(Referral)).one()


def test_a_bundle_sends_a_referral_on_the_case_it_names(
    api: TestClient, minsal: Headers, case_id: str
) -> None:
    response = send(api, bundle_for(case_id), minsal)

    assert response.status_code == 201, response.text
    referral = response.json()
    assert response.headers["location"] == f"/v1/referrals/{referral['id']}"
    assert referral["case_id"] == case_id
    assert (referral["service"], referral["priority"]) == (
        "psychosocial_care",
        "urgent",
    )
    assert (referral["from_institution"], referral["to_institution"]) == (
        "minsal",
        "conapina",
    )
    assert referral["status"] == "requested"


def test_the_referral_reads_back_as_a_fhir_bundle(
    api: TestClient, minsal: Headers, case_id: str
) -> None:
    referral_id = send(api, bundle_for(case_id), minsal).json()["id"]

    response = api.get(f"/v1/native/minsal/referrals/{referral_id}", headers=minsal)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = response.json()
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["Patient", "ServiceRequest", "Task"]
    patient, request, task = (entry["resource"] for entry in bundle["entry"])
    assert patient["birthDate"] == "2010-03-14"
    assert request["requisition"] == {"system": CASE_SYSTEM, "value": case_id}
    assert request["identifier"][0]["value"] == referral_id
    assert task["status"] == "requested"


def test_a_stored_referral_renders_the_elements_of_the_bundle_it_came_from(
    api: TestClient, minsal: Headers, case_id: str
) -> None:
    sent = bundle_for(case_id)
    referral_id = send(api, sent, minsal).json()["id"]

    response = api.get(f"/v1/native/minsal/referrals/{referral_id}", headers=minsal)

    assert response.status_code == 200
    assert _mapped_elements(response.json()) == _mapped_elements(sent)


def _mapped_elements(bundle: dict[str, Any]) -> dict[str, Any]:
    """What the MINSAL adapter maps both ways, read from a Bundle."""
    resources = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    patient, request = resources["Patient"], resources["ServiceRequest"]
    task = resources["Task"]
    return {
        "status": task["status"],
        "service": request["code"]["coding"],
        "priority": request["priority"],
        "reason": request["reasonCode"],
        "due": task["restriction"]["period"]["end"],
        "owner": task["owner"]["identifier"],
        "identifiers": [(i["system"], i["value"]) for i in patient["identifier"]],
        "birth_date": patient["birthDate"],
        "gender": patient["gender"],
    }


@pytest.mark.usefixtures("case_id")
def test_a_bundle_without_its_case_is_422_at_the_requisition(
    api: TestClient, minsal: Headers, db: Session
) -> None:
    response = send(api, bundle_for(None), minsal)

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == [
        "/entry/1/resource/requisition"
    ]
    assert count(db) == 0


def test_a_bundle_naming_a_case_the_sender_cannot_see_is_422(
    api: TestClient, auth: AuthHeaders, case_id: str, db: Session
) -> None:
    stranger = auth("pgr", *SCOPES)

    response = send(api, bundle_for(case_id), stranger)

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == [
        "/entry/1/resource/requisition/value"
    ]
    assert count(db) == 0


def test_a_bundle_whose_patient_is_another_child_is_refused(
    api: TestClient, minsal: Headers, case_id: str, db: Session
) -> None:
    bundle = bundle_for(case_id)
    patient = bundle["entry"][0]["resource"]
    patient["identifier"][0]["value"] = "069999999"
    patient["birthDate"] = "2011-01-01"

    response = send(api, bundle, minsal)

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/entry/0/resource"]
    assert count(db) == 0


def test_a_bundle_that_is_not_fhir_points_at_the_bundle_path(
    api: TestClient, minsal: Headers, case_id: str
) -> None:
    bundle = bundle_for(case_id)
    bundle["entry"][2]["resource"]["status"] = "finished"

    response = send(api, bundle, minsal)

    assert response.status_code == 422
    pointers = [e["pointer"] for e in response.json()["errors"]]
    assert pointers == ["/entry/2/resource/status"]


def test_a_due_date_in_the_past_points_at_the_task(
    api: TestClient, minsal: Headers, case_id: str
) -> None:
    bundle = bundle_for(case_id)
    bundle["entry"][2]["resource"]["restriction"] = {"period": {"end": "2024-11-16"}}

    response = send(api, bundle, minsal)

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == [
        "/entry/2/resource/restriction/period/end"
    ]


# MINSAL moving a referral it received, with FHIR Tasks


@pytest.fixture
def protection(auth: AuthHeaders) -> Headers:
    return auth("conapina", *SCOPES)


@pytest.fixture
def referral_id(
    api: TestClient, protection: Headers, minsal: Headers, case_id: str
) -> str:
    """A medical referral the child-protection authority sent MINSAL on Carlos."""
    body = {
        "case_id": case_id,
        "to_institution": "minsal",
        "service": "medical_care",
        "reason": "Control de salud tras el retorno",
    }
    # MINSAL registered the case; CONAPINA is let in by a referral MINSAL sends it.
    assert send(api, bundle_for(case_id), minsal).status_code == 201
    response = api.post("/v1/referrals", json=body, headers=protection)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def task(status: str, **elements: Any) -> dict[str, Any]:
    return {"resourceType": "Task", "status": status, "intent": "order", **elements}


def put_task(
    api: TestClient, referral_id: str, body: dict[str, Any], headers: Headers
) -> Any:
    path = f"/v1/native/minsal/referrals/{referral_id}/task"
    return api.put(path, json=body, headers={**headers, **FHIR})


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_minsal_works_a_referral_to_completion_with_fhir_tasks(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    for status in ("received", "accepted", "in-progress"):
        moved = put_task(api, referral_id, task(status), minsal)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status

    done = task(
        "completed",
        businessStatus={"text": "Alta de consulta"},
        output=[{"type": {"text": "outcome"}, "valueString": "Evaluado, sano"}],
    )
    response = put_task(api, referral_id, done, minsal)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.headers["etag"] == '"5"'
    rendered = response.json()
    assert rendered["resourceType"] == "Task"
    assert rendered["focus"]["identifier"] == {
        "system": REFERRAL_SYSTEM,
        "value": referral_id,
    }
    assert rendered["businessStatus"] == {"text": "Alta de consulta"}
    assert rendered["output"][0]["valueString"] == "Evaluado, sano"
    common = api.get(f"/v1/referrals/{referral_id}", headers=minsal).json()
    assert (common["status"], common["outcome"]) == ("completed", "Evaluado, sano")


def test_each_task_writes_the_timeline_and_an_event(
    api: TestClient, minsal: Headers, referral_id: str, db: Session
) -> None:
    for status in ("received", "accepted"):
        assert put_task(api, referral_id, task(status), minsal).status_code == 200

    entries = db.exec(
        select(TimelineEntry.action, TimelineEntry.institution_id)
        .where(TimelineEntry.referral_id == uuid.UUID(referral_id))
        .order_by(col(TimelineEntry.at))
    ).all()
    assert [tuple(entry) for entry in entries] == [
        ("referral.requested", "conapina"),
        ("referral.received", "minsal"),
        ("referral.accepted", "minsal"),
    ]
    events = db.exec(
        select(Event.type, Event.payload).order_by(col(Event.position))
    ).all()
    moves = [
        (kind, body) for kind, body in events if body.get("referral_id") == referral_id
    ]
    assert [(kind, body.get("previous_status")) for kind, body in moves] == [
        ("referral.requested", None),
        ("referral.received", "requested"),
        ("referral.accepted", "received"),
    ]


def test_a_task_with_a_status_the_referral_does_not_allow_is_409(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    response = put_task(api, referral_id, task("completed"), minsal)

    body = problem(response, 409)
    assert body["current_status"] == "requested"
    assert body["allowed_statuses"] == ["received", "rejected", "cancelled"]


def test_rejecting_without_a_status_reason_is_422_at_the_task_element(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    response = put_task(api, referral_id, task("rejected"), minsal)

    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/statusReason"]
    rejected = task("rejected", statusReason={"text": "Sin cupo en la UCSF"})
    assert put_task(api, referral_id, rejected, minsal).status_code == 200


def test_a_task_status_outside_the_referral_codes_is_422_at_status(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    response = put_task(api, referral_id, task("draft"), minsal)

    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/status"]


def test_the_sender_cannot_move_the_referral_forward(
    api: TestClient, protection: Headers, referral_id: str
) -> None:
    response = put_task(api, referral_id, task("received"), protection)

    problem(response, 403)


def test_a_stale_if_match_is_412(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    stale = {**minsal, "If-Match": '"7"'}

    response = put_task(api, referral_id, task("received"), stale)

    problem(response, 412)
    current = {**minsal, "If-Match": '"1"'}
    assert put_task(api, referral_id, task("received"), current).status_code == 200


def test_a_task_whose_answer_cannot_be_rendered_does_not_move_the_referral(
    api: TestClient,
    minsal: Headers,
    referral_id: str,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(MinsalAdapter, "update_from_common", broken)

    response = put_task(api, referral_id, task("received"), minsal)

    assert response.status_code == 500
    kept = db.get_one(Referral, uuid.UUID(referral_id))
    assert (kept.status, kept.version) == ("requested", 1)


def test_a_bundle_about_an_existing_referral_points_at_the_task_endpoint(
    api: TestClient, minsal: Headers, referral_id: str
) -> None:
    bundle = api.get(f"/v1/native/minsal/referrals/{referral_id}", headers=minsal)

    response = send(api, bundle.json(), minsal)

    error = problem(response, 422)["errors"][0]
    assert error["pointer"] == "/entry/1/resource/identifier"
    assert f"/v1/native/minsal/referrals/{referral_id}/task" in error["detail"]
