"""The pull feed: the events an institution may see, in position order, without gaps.

Why a naive feed has gaps: positions come from a sequence at insert, but transactions
commit in any order. On PostgreSQL writer A draws position 7, writer B draws 8 and
commits first; a reader that serves 8 and moves its cursor past it never sees 7 once
A commits.

The choice: serve only positions below every writer still in flight. Each transaction
that records an event holds a shared advisory lock (`hold_writer_lock`) from before
it draws its position until it ends, so writers never wait for one another. A reader
tries to take the same lock exclusively; it gets it only at a moment when no writer
is in flight, reads the highest position then (the horizon) and lets go at once.
Every position up to the horizon is committed or rolled back for good, and every
later writer draws a higher one, so serving up to the horizon never skips an event.
The reader uses a try-lock in a short loop rather than a blocking lock: a queued
exclusive request would make new writers wait behind it.

Rejected: an exclusive lock in every writer. Simplest, but it serialises every
transaction that records an event until it commits, and deadlocks against the case
row lock when two transactions reach the same case in the other order.

Cost: a reader that finds no quiet moment within `HORIZON_PATIENCE` serves nothing
new this time and keeps the caller's cursor; under constant overlapping writes the
feed lags, it never skips. SQLite lets one writer in at a time, so its positions
already follow commit order and the horizon is simply the highest position.

Visibility is the case-reading rule (`access.visible_case_ids`) at read time, minus
events narrowed to other institutions (`EventRestriction`). A case that becomes
visible later shows its history through the case API, not by rewinding the feed.
"""

import time
from dataclasses import dataclass

from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import InvalidInput
from app.models import Event, EventRestriction
from app.services.access import visible_case_ids

# Any constant shared by writers and readers: "puente" in ASCII.
FEED_LOCK_KEY = 0x7075656E7465
HORIZON_PATIENCE = 1.0
_RETRY_EVERY = 0.01


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[Event]
    cursor: str


def hold_writer_lock(db: Session) -> None:
    """Mark this transaction as an event writer until it ends (PostgreSQL only)."""
    if _is_postgres(db):
        db.execute(select(func.pg_advisory_xact_lock_shared(FEED_LOCK_KEY)))


def read_page(
    db: Session, *, institution_id: str, after: str | None, limit: int
) -> FeedPage:
    """Up to `limit` events after the cursor `after`, and the cursor to resume from."""
    start = parse_cursor(after)
    horizon = _horizon(db)
    if horizon is None or horizon <= start:
        return FeedPage([], str(start))

    events = list(db.exec(_visible_after(institution_id, start, horizon).limit(limit)))
    if len(events) == limit:
        assert events[-1].position is not None
        return FeedPage(events, str(events[-1].position))
    # Nothing visible is left up to the horizon: resume from there, not from the
    # last item, so the next read does not scan the same invisible events again.
    return FeedPage(events, str(horizon))


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        detail = "The cursor is not one this feed returned"
        raise InvalidInput(
            detail, errors=[{"parameter": "query:after", "detail": detail}]
        )
    return int(cursor)


def _visible_after(
    institution_id: str, start: int, horizon: int
) -> SelectOfScalar[Event]:
    restricted = exists().where(
        col(EventRestriction.event_position) == col(Event.position)
    )
    restricted_to_me = restricted.where(
        col(EventRestriction.institution_id) == institution_id
    )
    return (
        select(Event)
        .where(col(Event.position) > start, col(Event.position) <= horizon)
        .where(col(Event.case_id).in_(visible_case_ids(institution_id)))
        .where(or_(~restricted, restricted_to_me))
        .order_by(col(Event.position))
    )


def _horizon(db: Session) -> int | None:
    """The highest position below every writer in flight; None if none was quiet."""
    if not _is_postgres(db):
        return _max_position(db)

    deadline = time.monotonic() + HORIZON_PATIENCE
    while True:
        if db.execute(select(func.pg_try_advisory_lock(FEED_LOCK_KEY))).scalar_one():
            try:
                return _max_position(db)
            finally:
                db.execute(select(func.pg_advisory_unlock(FEED_LOCK_KEY)))
        if time.monotonic() >= deadline:
            return None
        time.sleep(_RETRY_EVERY)


def _max_position(db: Session) -> int:
    return int(
        db.execute(select(func.coalesce(func.max(Event.position), 0))).scalar_one()
    )


def _is_postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"
