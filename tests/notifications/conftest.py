import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session

from app.models import Case, CaseAccess, Child, Event
from app.models.types import utcnow
from app.notifications import urlpolicy
from app.notifications.sender import make_client
from app.services import events, subscriptions
from app.services.subscriptions import IssuedSubscription
from app.settings import Settings
from app.worker import Worker

T = TypeVar("T")

HOOK = "https://hooks.example.org/puente"
OTHER_HOOK = "https://other.example.org/puente"
PUBLIC_ADDRESS = "93.184.215.14"
# What the stand-in DNS answers: every name is public unless listed here.
PRIVATE_HOSTS = {
    "intranet.example.org": "10.0.0.7",
    "meta.example.org": "169.254.169.254",
}


@pytest.fixture(autouse=True)
def stand_in_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No real DNS in tests: names resolve to a public address unless listed."""
    answers = dict(PRIVATE_HOSTS)

    def resolve(host: str, _port: int) -> list[str]:
        return [answers.get(host, PUBLIC_ADDRESS)]

    monkeypatch.setattr(urlpolicy, "resolve_host", resolve)
    return answers


@pytest.fixture
def receiver() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def hook_route(receiver: respx.MockRouter, url: str = HOOK) -> respx.Route:
    """Where the worker's POST to `url` arrives: the address the policy judged, with
    the URL's host name in the Host header."""
    parsed = httpx.URL(url)
    pinned = parsed.copy_with(host=PUBLIC_ADDRESS)
    return receiver.post(str(pinned), headers={"host": parsed.netloc.decode()})


def run(coroutine: Awaitable[T]) -> T:
    # A safety net, not an assertion: a hang fails the test instead of the run.
    return asyncio.run(asyncio.wait_for(_wrap(coroutine), timeout=30))


async def _wrap(coroutine: Awaitable[T]) -> T:
    return await coroutine


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock() -> Clock:
    # Ahead of the events the test records, so that they are due, with room for a
    # slow test body: events stamped at the real commit time stay behind the clock.
    return Clock(utcnow() + timedelta(minutes=1))


@pytest.fixture
def make_worker(
    engine: Engine, settings: Settings, clock: Clock
) -> Callable[..., Worker]:
    """A worker with the test clock and a seeded random source, sharing one client
    per call to `drive`."""

    def make(name: str = "worker-a", **kwargs: Any) -> Worker:
        return Worker(
            engine,
            settings,
            make_client(timeout=settings.webhook_timeout_seconds),
            name=name,
            clock=clock,
            rng=random.Random(7),
            **kwargs,
        )

    return make


def new_case(db: Session, *institutions: str) -> uuid.UUID:
    """A case visible to `institutions` (the first registered it), without the API."""
    child = Child(
        given_names="Test",
        family_names="Child",
        match_key=f"test child {uuid.uuid4().hex}",
        sex=1,
        birth_date=date(2012, 5, 1),
        nationality="SV",
        mother_tongue="spa",
    )
    db.add(child)
    db.flush()
    case = Case(
        child_id=child.id,
        lead_institution_id=institutions[0],
        registered_by_id=institutions[0],
    )
    db.add(case)
    db.flush()
    for institution_id in institutions:
        db.add(
            CaseAccess(case_id=case.id, institution_id=institution_id, reason="lead")
        )
    db.commit()
    return case.id


def record(
    db: Session, case_id: uuid.UUID, type: str = "case.updated", **payload: Any
) -> Event:
    event = events.record(db, type=type, case_id=case_id, payload=payload)
    db.commit()
    return event


def subscribe(
    db: Session,
    settings: Settings,
    institution_id: str,
    url: str = HOOK,
    event_types: list[str] | None = None,
) -> IssuedSubscription:
    issued = subscriptions.create(
        db,
        institution_id=institution_id,
        url=url,
        event_types=event_types or [],
        format="common",
        settings=settings,
    )
    db.commit()
    return issued
