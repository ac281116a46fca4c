from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.routers.events import MAX_WAIT_SECONDS, PollClock, get_poll_clock
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


class CountingClock(PollClock):
    """A long poll's clock that only moves when the poll sleeps, and can run
    something (another system writing) during a given sleep."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []
        self.during_sleep: dict[int, Callable[[], object]] = {}

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds
        self.sleeps.append(seconds)
        if action := self.during_sleep.get(len(self.sleeps)):
            action()


@pytest.fixture
def poll_clock(app: FastAPI) -> CountingClock:
    clock = CountingClock()
    app.dependency_overrides[get_poll_clock] = lambda: clock
    return clock


def test_a_long_poll_answers_with_an_event_committed_while_it_waits(
    api: TestClient,
    db: Session,
    auth: AuthHeaders,
    engine: Engine,
    poll_clock: CountingClock,
) -> None:
    headers = auth("dgme", "events:read")
    case_id = new_case(db, "dgme")
    _, cursor = read(api, headers)
    arrived_ids: list[str] = []

    def another_system_writes() -> None:
        with Session(engine, expire_on_commit=False) as other:
            arrived_ids.append(str(record(other, case_id).id))

    poll_clock.during_sleep[3] = another_system_writes
    arrived, _ = read(api, headers, after=cursor, wait=10)

    assert arrived == arrived_ids
    # Three empty reads, then the fourth found it: no waiting out the rest.
    assert poll_clock.sleeps == [0.5, 0.5, 0.5]


def test_a_long_poll_with_nothing_new_returns_empty_once_the_wait_is_over(
    api: TestClient, auth: AuthHeaders, poll_clock: CountingClock
) -> None:
    arrived, cursor = read(api, auth("dgme", "events:read"), wait=1.2)

    assert (arrived, cursor) == ([], "0")
    assert poll_clock.sleeps == pytest.approx([0.5, 0.5, 0.2])


def test_a_long_poll_may_not_wait_longer_than_the_limit(
    api: TestClient, auth: AuthHeaders, poll_clock: CountingClock
) -> None:
    response = api.get(
        "/v1/events",
        headers=auth("dgme", "events:read"),
        params={"wait": MAX_WAIT_SECONDS + 1},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "query:wait"
    assert poll_clock.sleeps == []


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
