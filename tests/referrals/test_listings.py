"""Inbox, outbox and overdue listings, their cursors, and the overdue announcement."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models import Event, Referral
from app.services.pagination import encode_cursor, encode_key
from app.services.referrals import mark_overdue, today
from app.settings import Settings
from app.worker import Worker
from tests.referrals.conftest import (
    CONSULATE,
    HEALTH,
    PROTECTION,
    Headers,
    MakeCase,
    SendReferral,
    SetStatus,
)


def _ids(
    api: TestClient, path: str, headers: dict[str, str], **params: Any
) -> list[str]:
    """Every id a listing gives, following its cursor page after page."""
    ids: list[str] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = api.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params.get("limit", 50)
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def _set_due(engine: Engine, referral_id: str, due: date) -> None:
    # The API refuses past due dates, so time passes by editing the row.
    with Session(engine) as db:
        referral = db.get(Referral, uuid.UUID(referral_id))
        assert referral is not None
        referral.due_date = due
        db.add(referral)
        db.commit()


def test_inbox_and_outbox_list_exactly_what_was_received_and_sent_newest_first(
    api: TestClient, headers: Headers, make_case: MakeCase, send_referral: SendReferral
) -> None:
    case_id = make_case(CONSULATE)
    to_protection = [send_referral(case_id)["id"] for _ in range(5)]
    to_health = send_referral(case_id, to=HEALTH, service="medical_care")["id"]

    inbox = _ids(api, "/v1/referrals/inbox", headers(PROTECTION), limit=2)
    outbox = _ids(api, "/v1/referrals/outbox", headers(CONSULATE), limit=2)

    assert inbox == to_protection[::-1]
    assert outbox == [to_health, *to_protection[::-1]]
    assert _ids(api, "/v1/referrals/outbox", headers(PROTECTION)) == []
    assert _ids(api, "/v1/referrals/inbox", headers(HEALTH)) == [to_health]


def test_listings_filter_by_status_service_and_case(
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
) -> None:
    first, second = make_case(CONSULATE), make_case(CONSULATE)
    tracing = send_referral(first)["id"]
    shelter = send_referral(first, service="shelter")["id"]
    other_case = send_referral(second)["id"]
    set_status(shelter, "accepted")
    inbox, protection = "/v1/referrals/inbox", headers(PROTECTION)

    assert _ids(api, inbox, protection, status="accepted") == [shelter]
    assert _ids(api, inbox, protection, service="family_tracing") == [
        other_case,
        tracing,
    ]
    assert _ids(api, inbox, protection, case_id=str(second)) == [other_case]
    assert _ids(api, inbox, protection, case_id=str(first), status="requested") == [
        tracing
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ4Il0"},
        {"limit": 0},
        {"limit": 101},
        {"status": "done"},
        {"service": "haircut"},
        {"case_id": "42"},
    ],
)
def test_bad_listing_parameters_are_422_naming_the_parameter(
    params: dict[str, Any], api: TestClient, headers: Headers
) -> None:
    response = api.get("/v1/referrals/inbox", params=params, headers=headers(HEALTH))

    assert response.status_code == 422, response.text
    [name] = params
    assert response.json()["errors"][0]["parameter"] == f"query:{name}"


LAST_ID = uuid.UUID("0b6f3c1e-5d2a-4c8e-9f1a-2b3c4d5e6f70")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        # A timestamp without its offset names no instant to compare with.
        ("/v1/referrals/inbox", encode_key(NOON.replace(tzinfo=None), LAST_ID)),
        ("/v1/referrals/outbox", encode_key(date(2026, 12, 1), LAST_ID)),
        ("/v1/referrals/outbox", encode_cursor(NOON.isoformat(), "42")),
        ("/v1/referrals/overdue", encode_key(NOON, LAST_ID)),
        ("/v1/referrals/overdue", "not-a-cursor"),
    ],
    ids=["naive time", "date for time", "bad id", "time for date", "garbage"],
)
def test_a_cursor_this_listing_did_not_issue_is_422_naming_the_cursor(
    path: str, cursor: str, api: TestClient, headers: Headers
) -> None:
    response = api.get(path, params={"cursor": cursor}, headers=headers(HEALTH))

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["parameter"] == "query:cursor"


def test_overdue_lists_past_due_referrals_that_are_not_final_for_sender_and_receiver(
    api: TestClient,
    engine: Engine,
    headers: Headers,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
) -> None:
    case_id = make_case(CONSULATE)
    yesterday, last_week = today() - timedelta(days=1), today() - timedelta(days=7)
    late = send_referral(case_id)["id"]
    later = send_referral(case_id, to=HEALTH, service="medical_care")["id"]
    done = send_referral(case_id)["id"]
    due_today = send_referral(case_id, due_date=str(today()))["id"]
    send_referral(case_id)  # no due date: never overdue
    _set_due(engine, late, yesterday)
    _set_due(engine, later, last_week)
    _set_due(engine, done, last_week)
    set_status(done, "completed")

    overdue = "/v1/referrals/overdue"
    assert _ids(api, overdue, headers(CONSULATE), limit=1) == [later, late]
    assert _ids(api, overdue, headers(PROTECTION)) == [late]
    assert _ids(api, overdue, headers(HEALTH)) == [later]
    assert due_today not in _ids(api, overdue, headers(CONSULATE))


def test_overdue_referrals_are_announced_once(
    engine: Engine,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
    db: Session,
) -> None:
    case_id = make_case(CONSULATE)
    late, cancelled = send_referral(case_id)["id"], send_referral(case_id)["id"]
    for referral_id in (late, cancelled):
        _set_due(engine, referral_id, today() - timedelta(days=2))
    set_status(cancelled, "cancelled")

    first_run = mark_overdue(db, today())
    db.commit()
    second_run = mark_overdue(db, today())
    db.commit()

    assert (first_run, second_run) == (1, 0)
    query = select(Event.payload).where(Event.type == "referral.overdue")
    [payload] = db.exec(query.order_by(col(Event.position)))
    assert payload["referral_id"] == late
    assert payload["due_date"] == str(today() - timedelta(days=2))


def test_the_worker_announces_a_referral_once_its_due_date_has_passed_in_el_salvador(
    engine: Engine,
    settings: Settings,
    make_case: MakeCase,
    send_referral: SendReferral,
) -> None:
    referral_id = send_referral(make_case(CONSULATE))["id"]
    _set_due(engine, referral_id, date(2026, 12, 3))
    worker = Worker(engine, settings, httpx.AsyncClient())

    # 03:00 UTC on the 4th is still the evening of the 3rd in San Salvador (UTC-6).
    still_due = worker.announce_overdue(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
    overdue = worker.announce_overdue(datetime(2026, 12, 4, 7, 0, tzinfo=UTC))
    again = worker.announce_overdue(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))

    assert (still_due, overdue, again) == (0, 1, 0)
