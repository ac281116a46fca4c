import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Case, Event
from app.services import cases as case_service
from tests.cases.conftest import READ_WRITE, Headers, case_body, child_body, register
from tests.conftest import AuthHeaders
from tests.referrals.conftest import full_consent


def patch(
    api: TestClient,
    headers: Headers,
    case: dict[str, Any],
    body: dict[str, Any],
    if_match: str | None = '"1"',
) -> Any:
    sent = headers | ({"If-Match": if_match} if if_match is not None else {})
    return api.patch(f"/v1/cases/{case['id']}", json=body, headers=sent)


def test_a_patch_changes_only_the_fields_present_and_bumps_the_version(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"risk_level": "high"})

    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    updated = response.json()
    assert updated["risk_level"] == "high"
    assert updated["version"] == 2
    assert updated["location"] == case["location"]
    assert updated["updated_at"] > case["updated_at"]


def test_a_stale_patch_gets_412_naming_the_current_version(
    api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="dgme"))
    patch(api, dgme, case, {"risk_level": "high"})

    response = patch(api, consulate, case, {"risk_level": "low"})

    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert api.get(f"/v1/cases/{case['id']}", headers=dgme).json()["risk_level"] == (
        "high"
    )


def test_a_patch_without_if_match_gets_428(api: TestClient, consulate: Headers) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"risk_level": "high"}, if_match=None)

    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


def test_if_match_star_does_not_skip_the_version_check(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"risk_level": "high"}, if_match="*")

    assert response.status_code == 412


def test_a_patch_of_an_unknown_field_is_refused_with_its_pointer(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"lead_institution_id": "dgme"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/lead_institution_id"


def test_a_case_is_closed_and_reopened_through_its_status(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    closed = patch(api, consulate, case, {"status": "closed"}).json()
    reopened = patch(api, consulate, case, {"status": "open"}, if_match='"2"').json()

    assert (closed["status"], reopened["status"]) == ("closed", "open")
    assert reopened["version"] == 3


def test_a_case_cannot_be_set_to_merged_by_a_patch(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"status": "merged"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/status"


def test_a_patch_that_changes_nothing_keeps_the_version(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, consulate, case, {"vulnerabilities": ["unaccompanied"]})

    assert response.json()["version"] == 1


def test_new_identifiers_of_the_child_are_added_and_old_ones_kept(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)
    passport = {"type": "passport", "value": "A1234567", "issuer": "SV"}
    child = child_body(identifiers=[passport], interpreter_needed=True)

    updated = patch(api, consulate, case, {"child": child}).json()

    assert {i["type"] for i in updated["child"]["identifiers"]} == {"nui", "passport"}
    assert updated["child"]["interpreter_needed"] is True


def test_another_institution_patching_gets_404(
    api: TestClient, consulate: Headers, minsal: Headers
) -> None:
    case = register(api, consulate)

    response = patch(api, minsal, case, {"risk_level": "high"})

    assert response.status_code == 404


def test_the_lead_hands_the_case_to_the_child_protection_authority(
    api: TestClient, consulate: Headers, conapina: Headers
) -> None:
    case = register(api, consulate)

    response = api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "conapina", "note": "Recibido en el aeropuerto"},
        headers=consulate,
    )

    assert response.status_code == 200
    assert response.json()["lead_institution"] == "conapina"
    assert response.headers["etag"] == '"2"'
    assert api.get(f"/v1/cases/{case['id']}", headers=conapina).status_code == 200


def test_a_lead_transfer_by_an_institution_that_is_not_the_lead_gets_403(
    api: TestClient, consulate: Headers, conapina: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="conapina"))

    response = api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "dgme"},
        headers=consulate,
    )

    assert response.status_code == 403
    lead = api.get(f"/v1/cases/{case['id']}", headers=conapina).json()
    assert lead["lead_institution"] == "conapina"


def test_a_former_lead_that_did_not_register_the_case_no_longer_sees_it(
    api: TestClient, consulate: Headers, conapina: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="conapina"))

    api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "minsal"},
        headers=conapina,
    )

    assert api.get(f"/v1/cases/{case['id']}", headers=conapina).status_code == 404
    assert api.get(f"/v1/cases/{case['id']}", headers=consulate).status_code == 200


def test_the_timeline_lists_what_each_institution_did(
    api: TestClient, consulate: Headers, conapina: Headers
) -> None:
    case = register(api, consulate)
    patch(api, consulate, case, {"risk_level": "high", "status": "closed"})
    api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "conapina"},
        headers=consulate,
    )
    patch(api, conapina, case, {"status": "open"}, if_match='"3"')

    response = api.get(f"/v1/cases/{case['id']}/timeline", headers=conapina)

    assert response.status_code == 200
    assert [(e["institution"], e["action"], e["note"]) for e in response.json()] == [
        ("consulado-tapachula", "case.registered", None),
        ("consulado-tapachula", "case.updated", "Changed: risk_level, status"),
        (
            "consulado-tapachula",
            "case.lead_transferred",
            "Lead handed from consulado-tapachula to conapina",
        ),
        ("conapina", "case.updated", "Changed: status"),
    ]


def test_the_timeline_of_a_case_you_cannot_see_is_404(
    api: TestClient, consulate: Headers, minsal: Headers
) -> None:
    case = register(api, consulate)

    response = api.get(f"/v1/cases/{case['id']}/timeline", headers=minsal)

    assert response.status_code == 404


def test_every_change_writes_its_event_in_the_case_sequence(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    case = register(api, consulate)
    patch(api, consulate, case, {"risk_level": "high"})
    api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "conapina"},
        headers=consulate,
    )
    patch(api, consulate, case, {"risk_level": "low"}, if_match='"2"')  # refused

    query = select(Event).order_by(col(Event.case_seq))
    events = [(e.case_seq, e.type, e.payload) for e in db.exec(query)]

    assert [(seq, type_) for seq, type_, _ in events] == [
        (1, "case.created"),
        (2, "case.updated"),
        (3, "case.lead_transferred"),
    ]
    assert events[1][2]["changed"] == ["risk_level"]
    assert events[2][2] | {"case_id": None} == {
        "case_id": None,
        "from": "consulado-tapachula",
        "to": "conapina",
    }


def test_the_lead_cannot_hand_the_case_to_the_regional_body(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate)

    response = api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "crm"},
        headers=consulate,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/to_institution"
    lead = api.get(f"/v1/cases/{case['id']}", headers=consulate).json()
    assert (lead["lead_institution"], lead["version"]) == ("consulado-tapachula", 1)


def test_editing_the_child_through_one_case_moves_every_case_of_that_child(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    consulate_case = register(api, consulate)
    dgme_case = register(api, dgme, case_body(lead_institution="dgme"))
    corrected = child_body(given_names="José Manuel Antonio")

    patch(api, consulate, consulate_case, {"child": corrected})

    seen_by_dgme = api.get(f"/v1/cases/{dgme_case['id']}", headers=dgme)
    assert seen_by_dgme.headers["etag"] == '"2"'
    assert seen_by_dgme.json()["child"]["given_names"] == "José Manuel Antonio"
    assert seen_by_dgme.json()["updated_at"] > dgme_case["updated_at"]
    query = select(Event).where(Event.case_id == uuid.UUID(dgme_case["id"]))
    told = [(e.type, e.payload) for e in db.exec(query.order_by(col(Event.case_seq)))]
    assert told[-1] == (
        "case.updated",
        {
            "case_id": dgme_case["id"],
            "changed": ["child"],
            "status": "open",
            "version": 2,
        },
    )
    notes = api.get(f"/v1/cases/{dgme_case['id']}/timeline", headers=dgme).json()
    assert (notes[-1]["institution"], notes[-1]["note"]) == (
        "consulado-tapachula",
        "Changed: child (through another case of the same child)",
    )


def test_a_stale_etag_of_the_other_case_of_the_child_gets_412(
    api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    consulate_case = register(api, consulate)
    dgme_case = register(api, dgme, case_body(lead_institution="dgme"))
    patch(api, consulate, consulate_case, {"child": child_body(sex=2)})

    response = patch(api, dgme, dgme_case, {"risk_level": "high"})

    assert response.status_code == 412


@pytest.mark.parametrize(
    "change",
    [
        {"status": "closed"},
        {"consent": {"given_by": "child", "given_at": "2026-11-02T15:00:00Z"}},
    ],
)
def test_a_registrant_that_does_not_lead_cannot_change_consent_or_status(
    change: dict[str, Any], api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="dgme"))

    response = patch(api, consulate, case, change | {"risk_level": "high"})

    assert response.status_code == 403
    problem = response.json()
    assert [error["pointer"] for error in problem["errors"]] == [f"/{[*change][0]}"]
    assert problem["lead_institution"] == "dgme"
    unchanged = api.get(f"/v1/cases/{case['id']}", headers=dgme).json()
    assert (unchanged["version"], unchanged["risk_level"]) == (1, None)


def test_a_referral_recipient_cannot_widen_the_consent_it_was_referred_under(
    api: TestClient, auth: AuthHeaders
) -> None:
    scopes = (*READ_WRITE, "referrals:read", "referrals:write")
    consulate, minsal = auth("consulado-tapachula", *scopes), auth("minsal", *scopes)
    consent = full_consent() | {"services": ["medical_care"]}
    case = register(api, consulate, case_body(consent=consent))
    referral = {"case_id": case["id"], "service": "medical_care", "reason": "Fiebre"}
    sent = api.post(
        "/v1/referrals", json=referral | {"to_institution": "minsal"}, headers=consulate
    )
    assert sent.status_code == 201, sent.text

    wider = full_consent()
    response = patch(api, minsal, case, {"consent": wider})

    assert response.status_code == 403
    assert response.json()["errors"][0]["pointer"] == "/consent"
    kept = api.get(f"/v1/cases/{case['id']}", headers=consulate).json()
    assert kept["consent"]["services"] == ["medical_care"]


def test_the_child_protection_authority_may_close_a_case_it_does_not_lead(
    api: TestClient, conapina: Headers
) -> None:
    case = register(api, conapina, case_body(lead_institution="dgme"))

    response = patch(api, conapina, case, {"status": "closed"})

    assert response.status_code == 200
    assert response.json()["status"] == "closed"


def test_a_non_lead_may_repeat_the_status_while_changing_other_fields(
    api: TestClient, consulate: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="dgme"))

    response = patch(api, consulate, case, {"status": "open", "risk_level": "high"})

    assert response.status_code == 200
    assert response.json()["risk_level"] == "high"


def _fail_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(case_service, "public_case", broken)


def test_an_update_whose_answer_cannot_be_rendered_is_not_kept(
    api: TestClient, consulate: Headers, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = register(api, consulate)
    _fail_rendering(monkeypatch)

    response = patch(api, consulate, case, {"risk_level": "high"})

    assert response.status_code == 500
    kept = db.get_one(Case, uuid.UUID(case["id"]))
    assert (kept.version, kept.risk_level) == (1, None)


def test_a_lead_transfer_whose_answer_cannot_be_rendered_is_not_kept(
    api: TestClient, consulate: Headers, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = register(api, consulate)
    _fail_rendering(monkeypatch)

    response = api.post(
        f"/v1/cases/{case['id']}/lead-transfer",
        json={"to_institution": "conapina"},
        headers=consulate,
    )

    assert response.status_code == 500
    kept = db.get_one(Case, uuid.UUID(case["id"]))
    assert (kept.version, kept.lead_institution_id) == (1, "consulado-tapachula")
