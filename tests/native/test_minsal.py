import copy
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.adapters.minsal import CASE_SYSTEM
from app.models import Referral
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
