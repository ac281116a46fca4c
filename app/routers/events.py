"""The pull feed of events, for systems that cannot receive webhooks."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from app.auth.scopes import Scope
from app.deps import DbDep, Principal, require
from app.schemas.notifications import EventPublic, FeedPage
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import feed

router = APIRouter(prefix="/v1/events", tags=["events"])
ReaderDep = Annotated[Principal, require(Scope.EVENTS_READ)]
MAX_WAIT_SECONDS = 30


class PollClock:
    """How a long poll tells the time and waits between reads of the feed.

    A dependency, so that tests can count the reads without sleeping.
    """

    interval = 0.5

    def now(self) -> float:
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def get_poll_clock() -> PollClock:
    """The real clock; tests override this dependency."""
    return PollClock()


PollClockDep = Annotated[PollClock, Depends(get_poll_clock)]


@router.get(
    "",
    summary="Read the event feed",
    description="The events on the cases your institution may see, oldest first. "
    "Pass the returned `cursor` as `after` to continue: the feed never skips an "
    "event. With `wait`, an empty answer is held up to that many seconds until an "
    "event arrives.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
async def read_feed(
    db: DbDep,
    reader: ReaderDep,
    clock: PollClockDep,
    after: Annotated[str | None, Query(description="A `cursor` from this feed")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> FeedPage:
    deadline = clock.now() + wait
    while True:
        page = await anyio.to_thread.run_sync(
            _read, db, reader.institution_id, after, limit
        )
        remaining = deadline - clock.now()
        if page.events or remaining <= 0:
            return page
        after = page.cursor
        await clock.sleep(min(clock.interval, remaining))


def _read(db: Session, institution_id: str, after: str | None, limit: int) -> FeedPage:
    try:
        page = feed.read_page(
            db, institution_id=institution_id, after=after, limit=limit
        )
        events = [EventPublic.model_validate(event) for event in page.events]
        return FeedPage(events=events, cursor=page.cursor)
    finally:
        # End the transaction: the connection goes back to the pool while we wait.
        db.rollback()
