"""Sending and working referrals through HTTP, with tokens of several institutions."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.codes import ReferralStatus
from app.models import CaseAccess, Event, Referral, TimelineEntry
from app.services.referral_rules import FINAL, next_statuses, who_moves_to
from app.services.referrals import today
from tests.referrals.conftest import (
    CONSULATE,
    HEALTH,
    PROTECTION,
    Headers,
    MakeCase,
    SendReferral,
    SetStatus,
)

S = ReferralStatus


def _problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _move(
    api: TestClient,
    referral_id: str,
    headers: dict[str, str],
    status: str,
    **fields: Any,
) -> Response:
    body = {"status": status, **fields}
    path = f"/v1/referrals/{referral_id}/transitions"
    response: Response = api.post(path, json=body, headers=headers)
    return response


def _event_types(db: Session, case_id: uuid.UUID) -> list[str]:
    query = (
        select(Event.type).where(Event.case_id == case_id).order_by(col(Event.case_seq))
    )
    return list(db.exec(query))


def _timeline(db: Session, referral_id: str) -> list[tuple[str, str]]:
    query = (
        select(TimelineEntry.action, TimelineEntry.institution_id)
        .where(TimelineEntry.referral_id == uuid.UUID(referral_id))
        .order_by(col(TimelineEntry.at))
    )
    return [(action, institution) for action, institution in db.exec(query)]


def _count(
    db: Session, model: type[Referral] | type[Event] | type[TimelineEntry]
) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def _register_case(api: TestClient, headers: dict[str, str]) -> uuid.UUID:
    body = {
        "child": {
            "identifiers": [{"type": "nui", "value": "05123456-7"}],
            "given_names": "José Manuel",
            "family_names": "Hernández López",
            "sex": 1,
            "birth_date": "2012-04-09",
        },
        "vulnerabilities": ["unaccompanied"],
        "location": {"country": "MX", "subdivision": "MX-CHP", "place": "Tapachula"},
        "consent": {
            "given_by": "child",
            "given_at": "2026-11-30T16:00:00Z",
            "services": ["family_tracing"],
            "family_tracing": True,
            "share_with_roles": ["child_protection"],
        },
    }
    response = api.post("/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def test_a_consulate_refers_a_case_and_child_protection_works_it_to_completion(
    api: TestClient, headers: Headers, db: Session
) -> None:
    case_id = _register_case(api, headers(CONSULATE))
    protection = headers(PROTECTION)
    assert api.get(f"/v1/cases/{case_id}", headers=protection).status_code == 404

    sent = api.post(
        "/v1/referrals",
        json={
            "case_id": str(case_id),
            "to_institution": PROTECTION,
            "service": "family_tracing",
            "priority": "urgent",
            "reason": "Unaccompanied; the mother is believed to live in Usulután",
            "due_date": str(today() + timedelta(days=7)),
        },
        headers=headers(CONSULATE),
    )
    assert sent.status_code == 201, sent.text
    referral = sent.json()
    assert referral["status"] == "requested"
    assert referral["from_institution"] == CONSULATE
    assert referral["to_institution"] == PROTECTION
    assert sent.headers["location"] == f"/v1/referrals/{referral['id']}"
    assert sent.headers["etag"] == '"1"'

    inbox = api.get("/v1/referrals/inbox", headers=protection).json()
    assert [item["id"] for item in inbox["items"]] == [referral["id"]]
    assert api.get(f"/v1/cases/{case_id}", headers=protection).status_code == 200

    steps = [
        ("received", {}),
        ("accepted", {}),
        ("in-progress", {"business_status": "tracing started"}),
        ("on-hold", {"reason": "Waiting for the family's address"}),
        ("in-progress", {}),
        ("completed", {"outcome": "Mother located; family assessment scheduled"}),
    ]
    for version, (status, fields) in enumerate(steps, start=2):
        moved = _move(api, referral["id"], protection, status, **fields)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
        assert moved.headers["etag"] == f'"{version}"'

    seen = api.get(f"/v1/referrals/{referral['id']}", headers=headers(CONSULATE)).json()
    assert seen["status"] == "completed"
    assert seen["outcome"] == "Mother located; family assessment scheduled"
    assert seen["business_status"] == "tracing started"
    assert seen["status_reason"] is None

    assert _event_types(db, case_id)[-7:] == [
        "referral.requested",
        "referral.received",
        "referral.accepted",
        "referral.in_progress",
        "referral.on_hold",
        "referral.in_progress",
        "referral.completed",
    ]
    assert _timeline(db, referral["id"]) == [
        ("referral.requested", CONSULATE),
        ("referral.received", PROTECTION),
        ("referral.accepted", PROTECTION),
        ("referral.in_progress", PROTECTION),
        ("referral.on_hold", PROTECTION),
        ("referral.in_progress", PROTECTION),
        ("referral.completed", PROTECTION),
    ]


def test_the_recipient_may_see_the_case_once_referred(
    make_case: MakeCase, send_referral: SendReferral, db: Session
) -> None:
    case_id = make_case(CONSULATE)

    send_referral(case_id, to=HEALTH, service="medical_care")

    reasons = db.exec(
        select(CaseAccess.reason).where(
            CaseAccess.case_id == case_id, CaseAccess.institution_id == HEALTH
        )
    )
    assert list(reasons) == ["referral"]


def test_events_carry_ids_and_codes_but_no_reason_or_names(
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    db: Session,
) -> None:
    case_id = make_case(CONSULATE)
    referral = send_referral(case_id, reason="Ana Sofía cries at night")
    _move(api, referral["id"], headers(PROTECTION), "rejected", reason="Ana is fine")

    payloads = list(db.exec(select(Event.payload).order_by(col(Event.case_seq))))
    assert payloads[-1] == {
        "case_id": str(case_id),
        "referral_id": referral["id"],
        "status": "rejected",
        "previous_status": "requested",
        "service": "family_tracing",
        "from_institution": CONSULATE,
        "to_institution": PROTECTION,
    }
    assert "Ana" not in str(payloads)


@pytest.mark.parametrize("current", list(S))
def test_every_move_the_status_does_not_allow_is_409_naming_the_current_status(
    current: ReferralStatus,
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
) -> None:
    referral = send_referral(make_case())
    set_status(referral["id"], current.value)
    allowed = next_statuses(current)

    for target in (status for status in S if status not in allowed):
        party = CONSULATE if who_moves_to(target) == "sender" else PROTECTION
        response = _move(api, referral["id"], headers(party), target.value, reason="x")

        body = _problem(response, 409)
        assert f"The referral is {current.value}" in body["detail"]
        assert body["current_status"] == current.value
        assert body["allowed_statuses"] == [status.value for status in allowed]

    read = api.get(f"/v1/referrals/{referral['id']}", headers=headers(CONSULATE))
    assert (read.json()["status"], read.json()["version"]) == (current.value, 1)


def test_the_receiver_cannot_cancel(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    referral = send_referral(make_case())

    response = _move(api, referral["id"], headers(PROTECTION), "cancelled", reason="x")

    assert "sent the referral" in _problem(response, 403)["detail"]


def test_the_sender_cannot_accept(
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
) -> None:
    referral = send_referral(make_case())
    set_status(referral["id"], "received")

    response = _move(api, referral["id"], headers(CONSULATE), "accepted")

    assert "received the referral" in _problem(response, 403)["detail"]


def test_the_sender_cancels_with_a_reason(
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    db: Session,
) -> None:
    case_id = make_case()
    referral = send_referral(case_id)

    response = _move(
        api, referral["id"], headers(CONSULATE), "cancelled", reason="Child returned"
    )

    assert response.status_code == 200, response.text
    assert response.json()["status_reason"] == "Child returned"
    assert _event_types(db, case_id)[-1] == "referral.cancelled"


@pytest.mark.parametrize(
    ("start", "target", "party"),
    [
        ("requested", "rejected", PROTECTION),
        ("in-progress", "failed", PROTECTION),
        ("accepted", "cancelled", CONSULATE),
    ],
)
def test_rejecting_failing_or_cancelling_without_a_reason_is_422_and_changes_nothing(
    start: str,
    target: str,
    party: str,
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
    db: Session,
) -> None:
    referral = send_referral(make_case())
    set_status(referral["id"], start)
    events_before = _count(db, Event)

    response = _move(api, referral["id"], headers(party), target)

    assert _problem(response, 422)["errors"][0]["pointer"] == "/reason"
    read = api.get(f"/v1/referrals/{referral['id']}", headers=headers(party)).json()
    assert (read["status"], read["version"]) == (start, 1)
    assert _count(db, Event) == events_before


def test_a_stale_if_match_is_412_and_a_current_one_is_accepted(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    referral = send_referral(make_case())
    protection = headers(PROTECTION)
    path = f"/v1/referrals/{referral['id']}/transitions"
    api.post(path, json={"status": "received"}, headers=protection)

    stale = api.post(
        path, json={"status": "accepted"}, headers=protection | {"If-Match": '"1"'}
    )
    current = api.post(
        path, json={"status": "accepted"}, headers=protection | {"If-Match": '"2"'}
    )

    assert _problem(stale, 412)["current_version"] == 2
    assert current.status_code == 200, current.text


def test_another_institution_cannot_read_or_move_a_referral_it_is_not_party_to(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    referral = send_referral(make_case())
    outsider = headers(HEALTH)

    read = api.get(f"/v1/referrals/{referral['id']}", headers=outsider)
    moved = _move(api, referral["id"], outsider, "received")
    missing = api.get(f"/v1/referrals/{uuid.uuid4()}", headers=outsider)

    # The same answer as for an id that does not exist, so nothing leaks.
    for response in (read, moved, missing):
        assert _problem(response, 404)["detail"].startswith("There is no referral")


def test_a_case_the_sender_cannot_see_is_404(
    api: TestClient, headers: Headers, make_case: MakeCase, db: Session
) -> None:
    case_id = make_case(PROTECTION)
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}

    response = api.post("/v1/referrals", json=body, headers=headers(CONSULATE))

    _problem(response, 404)
    assert _count(db, Referral) == 0


def test_a_closed_case_takes_no_new_referrals(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(status="closed")
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}

    response = api.post("/v1/referrals", json=body, headers=headers(CONSULATE))

    assert "closed" in _problem(response, 409)["detail"]


def test_without_consent_for_the_recipient_the_referral_is_refused_with_409(
    api: TestClient, headers: Headers, make_case: MakeCase, db: Session
) -> None:
    consent = {
        "given_by": "child",
        "given_at": "2026-11-02T15:00:00Z",
        "services": ["medical_care"],
        "share_with_roles": ["health"],
    }
    case_id = make_case(consent=consent)
    body = {"case_id": str(case_id), "service": "legal_representation", "reason": "x"}

    response = api.post("/v1/referrals", json=body, headers=headers(CONSULATE))

    problem = _problem(response, 409)
    assert problem["missing_consent"] == [
        "service legal_representation is not consented",
        "sharing with role legal is not consented",
    ]
    assert _count(db, Referral) == _count(db, Event) == 0


def test_child_protection_may_refer_without_consent_giving_a_legal_basis(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(PROTECTION, consent={})
    override = {"legal_basis": "Ley Crecer Juntos, art. 1", "reason": "At risk"}
    body = {
        "case_id": str(case_id),
        "service": "legal_representation",
        "reason": "Needs a lawyer for the hearing",
        "consent_override": override,
    }

    response = api.post("/v1/referrals", json=body, headers=headers(PROTECTION))

    assert response.status_code == 201, response.text
    assert response.json()["to_institution"] == "pgr"
    assert response.json()["consent_override"] == override


def test_a_consulate_may_not_override_consent(
    api: TestClient, headers: Headers, make_case: MakeCase, db: Session
) -> None:
    case_id = make_case(CONSULATE, consent={})
    body = {
        "case_id": str(case_id),
        "service": "shelter",
        "reason": "No place to stay",
        "consent_override": {"legal_basis": "none", "reason": "urgent"},
    }

    response = api.post("/v1/referrals", json=body, headers=headers(CONSULATE))

    assert "child-protection authority" in _problem(response, 403)["detail"]
    assert _count(db, Referral) == 0


def test_an_override_without_a_reason_is_422(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(PROTECTION, consent={})
    body = {
        "case_id": str(case_id),
        "service": "shelter",
        "reason": "No place to stay",
        "consent_override": {"legal_basis": "Ley Crecer Juntos"},
    }

    response = api.post("/v1/referrals", json=body, headers=headers(PROTECTION))

    pointers = [e["pointer"] for e in _problem(response, 422)["errors"]]
    assert pointers == ["/consent_override/reason"]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"service": "haircut"}, "/service"),
        ({"priority": "whenever"}, "/priority"),
        ({"reason": ""}, "/reason"),
        ({"status": "completed"}, "/status"),
        ({"to_institution": "nobody"}, "/to_institution"),
        ({"to_institution": CONSULATE}, "/to_institution"),
        ({"to_institution": "crm"}, "/to_institution"),
        ({"due_date": "2020-01-01"}, "/due_date"),
        ({"due_date": "tomorrow"}, "/due_date"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    fields: dict[str, str],
    pointer: str,
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    db: Session,
) -> None:
    case_id = make_case(CONSULATE)
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}

    response = api.post("/v1/referrals", json=body | fields, headers=headers(CONSULATE))

    problem = _problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == [pointer]
    assert _count(db, Referral) == _count(db, Event) == _count(db, TimelineEntry) == 0


def test_a_transition_to_an_unknown_status_is_422(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    referral = send_referral(make_case())

    response = _move(api, referral["id"], headers(PROTECTION), "done")

    assert _problem(response, 422)["errors"][0]["pointer"] == "/status"


def test_writing_needs_the_write_scope(
    api: TestClient, auth: Any, make_case: MakeCase
) -> None:
    case_id = make_case(CONSULATE)
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}

    response = api.post(
        "/v1/referrals", json=body, headers=auth(CONSULATE, "referrals:read")
    )

    assert "referrals:write" in _problem(response, 403)["detail"]


def test_final_statuses_are_final_for_everyone(
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
) -> None:
    for status in FINAL:
        referral = send_referral(make_case())
        set_status(referral["id"], status.value)

        response = _move(
            api, referral["id"], headers(CONSULATE), "cancelled", reason="x"
        )

        assert "final status" in _problem(response, 409)["detail"]


def test_a_retry_with_the_same_idempotency_key_replays_the_first_referral(
    api: TestClient, headers: Headers, make_case: MakeCase, db: Session
) -> None:
    case_id = make_case(CONSULATE)
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}
    sender = headers(CONSULATE) | {"Idempotency-Key": "7f6c1d1e-ref-1"}

    first = api.post("/v1/referrals", json=body, headers=sender)
    retry = api.post("/v1/referrals", json=body, headers=sender)
    changed = api.post("/v1/referrals", json=body | {"reason": "Cough"}, headers=sender)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert _problem(changed, 422)["errors"][0]["parameter"] == "header:Idempotency-Key"
    assert _count(db, Referral) == 1
    assert _event_types(db, case_id) == ["referral.requested"]


def test_a_refused_referral_releases_its_idempotency_key(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(CONSULATE)
    body = {"case_id": str(case_id), "service": "medical_care", "reason": "Fever"}
    sender = headers(CONSULATE) | {"Idempotency-Key": "7f6c1d1e-ref-2"}

    refused = api.post(
        "/v1/referrals", json=body | {"to_institution": "crm"}, headers=sender
    )
    fixed = api.post("/v1/referrals", json=body, headers=sender)

    assert (refused.status_code, fixed.status_code) == (422, 201)


def _sees_case(api: TestClient, headers: dict[str, str], case_id: object) -> bool:
    status: int = api.get(f"/v1/cases/{case_id}", headers=headers).status_code
    assert status in (200, 404)
    return status == 200


def test_a_recipient_stops_seeing_the_case_when_its_only_referral_is_cancelled(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    case_id = make_case(CONSULATE)
    referral = send_referral(case_id)
    assert _sees_case(api, headers(PROTECTION), case_id)

    _move(api, referral["id"], headers(CONSULATE), "cancelled", reason="Returned")

    assert not _sees_case(api, headers(PROTECTION), case_id)
    read = api.get(f"/v1/referrals/{referral['id']}", headers=headers(PROTECTION))
    assert read.json()["status"] == "cancelled"


def test_a_recipient_with_another_live_referral_keeps_seeing_the_case(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    case_id = make_case(CONSULATE)
    tracing = send_referral(case_id)
    send_referral(case_id, service="shelter")

    _move(api, tracing["id"], headers(PROTECTION), "rejected", reason="Not needed")

    assert _sees_case(api, headers(PROTECTION), case_id)
