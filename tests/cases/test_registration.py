from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import AuditEntry, Case, CaseAccess, Child, ChildIdentifier, Event
from tests.cases.conftest import Headers, case_body, child_body, register
from tests.conftest import AuthHeaders


def count(db: Session, table: type) -> int:
    return db.exec(select(func.count()).select_from(table)).one()


def test_a_consulate_registers_a_case_that_it_leads(
    api: TestClient, consulate: Headers
) -> None:
    response = api.post("/v1/cases", json=case_body(), headers=consulate)

    assert response.status_code == 201
    case = response.json()
    assert response.headers["location"] == f"/v1/cases/{case['id']}"
    assert response.headers["etag"] == '"1"'
    assert case["status"] == "open"
    assert case["lead_institution"] == "consulado-tapachula"
    assert case["registered_by"] == "consulado-tapachula"
    assert case["vulnerabilities"] == ["unaccompanied"]
    assert case["location"]["subdivision"] == "MX-CHP"
    assert case["child_match"] == {"linked": False, "matched_on": None}


def test_the_registered_case_reads_back_with_its_version_as_etag(
    api: TestClient, consulate: Headers
) -> None:
    registered = register(api, consulate)

    response = api.get(f"/v1/cases/{registered['id']}", headers=consulate)

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json()["child"] == registered["child"]


def test_registering_for_another_lead_lets_both_see_the_case(
    api: TestClient, consulate: Headers, conapina: Headers
) -> None:
    case = register(api, consulate, case_body(lead_institution="conapina"))

    assert case["lead_institution"] == "conapina"
    for caller in (consulate, conapina):
        assert api.get(f"/v1/cases/{case['id']}", headers=caller).status_code == 200


def test_dgme_registering_the_same_nui_links_to_the_same_child(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    first = register(api, consulate)
    again = case_body(child=child_body(given_names="Jose", family_names="Hernandez"))

    second = register(api, dgme, again)

    assert second["id"] != first["id"]
    assert second["child"]["id"] == first["child"]["id"]
    assert second["child_match"] == {"linked": True, "matched_on": "identifier"}
    assert count(db, Child) == 1


def test_same_names_with_other_accents_and_case_and_birth_date_link_the_child(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    first = register(api, consulate)
    dgme_record = {"type": "dgme_sii", "value": "SII-2026-0042"}
    typed_at_the_border = child_body(
        identifiers=[dgme_record],
        given_names="JOSE  manuel",
        family_names="hernandez LÓPEZ",
    )

    second = register(api, dgme, case_body(child=typed_at_the_border))

    assert second["child"]["id"] == first["child"]["id"]
    assert second["child_match"] == {
        "linked": True,
        "matched_on": "names_and_birth_date",
    }
    identifiers = {i["type"] for i in second["child"]["identifiers"]}
    assert identifiers == {"nui", "dgme_sii"}
    assert count(db, Child) == 1


def test_same_names_but_another_nui_is_another_child(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    register(api, consulate)
    namesake = child_body(identifiers=[{"type": "nui", "value": "09999999-1"}])

    second = register(api, dgme, case_body(child=namesake))

    assert second["child_match"]["linked"] is False
    assert count(db, Child) == 2


def test_siblings_sharing_a_guardian_dui_stay_two_children(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    mother = {"type": "guardian_dui", "value": "01234567-8"}
    brother = child_body(identifiers=[mother])
    sister = child_body(identifiers=[mother], given_names="Ana María", sex=2)

    register(api, consulate, case_body(child=brother))
    second = register(api, consulate, case_body(child=sister))

    assert second["child_match"]["linked"] is False
    assert count(db, Child) == 2


def test_a_registration_writes_case_created_as_the_first_event(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    case = register(api, consulate)

    events = list(db.exec(select(Event).where(Event.type == "case.created")))

    assert [(str(e.case_id), e.case_seq) for e in events] == [(case["id"], 1)]
    assert events[0].payload == {
        "case_id": case["id"],
        "child_id": case["child"]["id"],
        "lead_institution": "consulado-tapachula",
        "status": "open",
    }


@pytest.mark.parametrize(
    ("pointer", "body"),
    [
        ("/status", case_body(status="closed")),
        ("/owner", case_body(owner="consulado-tapachula")),
        ("/child/birth_date", case_body(child=child_body(birth_date="2999-01-01"))),
        ("/vulnerabilities/0", case_body(vulnerabilities=["homesick"])),
        ("/child/nationality", case_body(child=child_body(nationality="XX"))),
        ("/child/mother_tongue", case_body(child=child_body(mother_tongue="zzz"))),
        (
            "/location/subdivision",
            case_body(location={"country": "MX", "subdivision": "MX-ZZZ"}),
        ),
        ("/origin/department", case_body(origin={"department": "GT-01"})),
        ("/lead_institution", case_body(lead_institution="nobody")),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    api: TestClient, consulate: Headers, db: Session, pointer: str, body: dict[str, Any]
) -> None:
    response = api.post("/v1/cases", json=body, headers=consulate)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]
    for table in (Case, Child, ChildIdentifier, CaseAccess, Event):
        assert count(db, table) == 0


def test_another_institution_gets_404_exactly_as_for_a_missing_case(
    api: TestClient, consulate: Headers, minsal: Headers
) -> None:
    case = register(api, consulate)
    missing = "6f1c2b8e-0000-4000-8000-000000000000"

    hidden = api.get(f"/v1/cases/{case['id']}", headers=minsal)
    absent = api.get(f"/v1/cases/{missing}", headers=minsal)

    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["title"] == absent.json()["title"]
    assert (
        hidden.json()["detail"].replace(case["id"], missing) == absent.json()["detail"]
    )


def test_a_client_without_cases_write_cannot_register(
    api: TestClient, auth: AuthHeaders, db: Session
) -> None:
    reader = auth("consulado-tapachula", "cases:read")

    response = api.post("/v1/cases", json=case_body(), headers=reader)

    assert response.status_code == 403
    assert count(db, Case) == 0


def test_a_client_without_cases_read_cannot_read(
    api: TestClient, auth: AuthHeaders, consulate: Headers
) -> None:
    case = register(api, consulate)
    writer = auth("consulado-tapachula", "cases:write")

    assert api.get(f"/v1/cases/{case['id']}", headers=writer).status_code == 403


def test_the_regional_body_cannot_be_named_to_lead_a_case(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    body = case_body(lead_institution="crm")

    response = api.post("/v1/cases", json=body, headers=consulate)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "pointer": "/lead_institution",
            "detail": "this institution receives aggregate statistics only",
        }
    ]
    assert count(db, Case) == 0


def test_linking_to_a_known_child_is_recorded_in_the_read_audit(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    first = register(api, consulate)

    second = register(api, dgme)

    rows = db.exec(select(AuditEntry).where(AuditEntry.action == "child.linked"))
    assert [
        (row.institution_id, row.resource_type, row.resource_ids, row.detail)
        for row in rows
    ] == [
        (
            "dgme",
            "child",
            [first["child"]["id"]],
            {"case_id": second["id"], "matched_on": "identifier"},
        )
    ]


def test_a_new_child_is_not_recorded_as_linked(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    register(api, consulate)

    linked = select(AuditEntry).where(AuditEntry.action == "child.linked")
    assert db.exec(linked).all() == []


def _registration_note(api: TestClient, headers: Headers, case_id: str) -> str:
    entries = api.get(f"/v1/cases/{case_id}/timeline", headers=headers).json()
    note: str = entries[0]["note"]
    return note


def test_a_linked_case_notes_which_sent_details_differ_but_not_their_values(
    api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    register(api, consulate)
    typed_otherwise = child_body(given_names="Jose", birth_date="2012-09-04")

    second = register(api, dgme, case_body(child=typed_otherwise))

    note = _registration_note(api, dgme, second["id"])
    assert note == (
        "Linked to a child already known (matched on identifier); the child's "
        "recorded given_names, birth_date differ from those sent and are kept"
    )
    assert second["child"]["given_names"] == "José Manuel"


def test_a_linked_case_sent_with_the_same_details_notes_only_the_link(
    api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    register(api, consulate)

    second = register(api, dgme)

    assert _registration_note(api, dgme, second["id"]) == (
        "Linked to a child already known (matched on identifier)"
    )
