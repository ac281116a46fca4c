import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.services import events, feed
from tests.conftest import AuthHeaders
from tests.notifications.conftest import new_case, record


def read(
    api: TestClient, headers: dict[str, str], **params: object
) -> tuple[list[str], str]:
    response = api.get("/v1/events", headers=headers, params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    return [event["id"] for event in page["events"]], page["cursor"]


def test_the_feed_holds_exactly_the_events_an_institution_may_see_in_order(
    api: TestClient, db: Session, auth: AuthHeaders
) -> None:
    shared, rree_only = new_case(db, "dgme", "rree"), new_case(db, "rree")
    first = record(db, shared, "case.created")
    hidden = record(db, rree_only, "case.created")
    second = record(db, shared, "referral.requested")
    narrowed = events.record(
        db,
        type="delivery.dead_lettered",
        case_id=shared,
        payload={},
        only_for=frozenset({"rree"}),
    )
    db.commit()

    dgme, _ = read(api, auth("dgme", "events:read"))
    rree, _ = read(api, auth("rree", "events:read"))

    assert dgme == [str(first.id), str(second.id)]
    assert rree == [str(e.id) for e in (first, hidden, second, narrowed)]


def test_the_feed_resumes_from_its_cursor_without_repeating_or_skipping(
    api: TestClient, db: Session, auth: AuthHeaders
) -> None:
    headers = auth("dgme", "events:read")
    case_id = new_case(db, "dgme")
    recorded = [str(record(db, case_id).id) for _ in range(5)]

    page_one, cursor = read(api, headers, limit=2)
    page_two, cursor = read(api, headers, limit=2, after=cursor)
    page_three, cursor = read(api, headers, limit=2, after=cursor)
    empty, same = read(api, headers, limit=2, after=cursor)
    later = str(record(db, case_id).id)
    page_four, _ = read(api, headers, after=same)

    assert page_one + page_two + page_three == recorded
    assert (empty, same) == ([], cursor)
    assert page_four == [later]


def test_a_cursor_the_feed_never_issued_is_refused(
    api: TestClient, auth: AuthHeaders
) -> None:
    response = api.get(
        "/v1/events", headers=auth("dgme", "events:read"), params={"after": "x1"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "query:after"


def test_the_feed_needs_the_events_read_scope(
    api: TestClient, auth: AuthHeaders
) -> None:
    response = api.get("/v1/events", headers=auth("dgme", "cases:read"))

    assert response.status_code == 403


def test_a_long_poll_answers_as_soon_as_an_event_arrives(
    api: TestClient, db: Session, auth: AuthHeaders, engine: Engine
) -> None:
    headers = auth("dgme", "events:read")
    case_id = new_case(db, "dgme")
    _, cursor = read(api, headers)

    def later() -> None:
        time.sleep(0.3)
        with Session(engine) as other:
            record(other, case_id)

    writer = threading.Thread(target=later)
    started = time.monotonic()
    writer.start()
    arrived, _ = read(api, headers, after=cursor, wait=10)
    writer.join()

    assert len(arrived) == 1
    assert time.monotonic() - started < 5


def test_a_long_poll_with_nothing_new_returns_empty_after_the_wait(
    api: TestClient, auth: AuthHeaders
) -> None:
    started = time.monotonic()
    arrived, cursor = read(api, auth("dgme", "events:read"), wait=0.6)

    assert (arrived, cursor) == ([], "0")
    assert 0.5 <= time.monotonic() - started < 5


def test_an_event_committed_late_with_a_lower_position_is_not_skipped(
    api: TestClient,
    db: Session,
    auth: AuthHeaders,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite admits one writer at a time: positions follow commits")
    monkeypatch.setattr(feed, "HORIZON_PATIENCE", 0.1)
    headers = auth("dgme", "events:read")
    slow_case, fast_case = new_case(db, "dgme"), new_case(db, "dgme")

    with Session(engine, expire_on_commit=False) as slow:
        early = events.record(slow, type="case.updated", case_id=slow_case, payload={})
        late = record(db, fast_case)
        assert (early.position or 0) < (late.position or 0)

        while_open, cursor = read(api, headers)
        slow.commit()
    after_commit, _ = read(api, headers, after=cursor)

    assert while_open == []
    assert after_commit == [str(early.id), str(late.id)]
