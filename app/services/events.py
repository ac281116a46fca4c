"""Recording events in the transactional outbox.

`record` adds the event to the caller's transaction: the change and its event commit
together or not at all. Delivery (webhooks, the feed) reads the outbox afterwards.

In the same transaction `record` fans the event out into one pending webhook delivery
per matching subscription (`subscriptions.fan_out`), so a change without its
deliveries cannot commit either. On PostgreSQL it first takes the feed's shared
writer lock (`feed.hold_writer_lock`): see `app.services.feed` for why.
"""

import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from app.models import Case, Event, EventRestriction
from app.services import feed, subscriptions


def _next_case_seq(db: Session, case_id: uuid.UUID) -> int:
    """Bump the case's event counter; the row lock orders concurrent writers."""
    statement = (
        update(Case)
        .where(col(Case.id) == case_id)
        .values(event_seq=col(Case.event_seq) + 1)
        .returning(col(Case.event_seq))
    )
    return int(db.execute(statement).scalar_one())


def record(
    db: Session,
    *,
    type: str,
    case_id: uuid.UUID,
    payload: dict[str, Any],
    only_for: frozenset[str] | None = None,
) -> Event:
    """Add an event of `type` on a case, numbered in the case's sequence.

    Keep `payload` thin (ids, types, statuses): receivers fetch details with their own
    authorization, so no names or dates of birth travel in events. `only_for` narrows
    the event to those institutions (among those who may see the case).
    """
    if only_for is not None and not only_for:
        # No restriction rows would mean "everyone": refuse rather than widen it.
        raise ValueError("only_for must name at least one institution")

    feed.hold_writer_lock(db)
    event = Event(
        type=type,
        case_id=case_id,
        case_seq=_next_case_seq(db, case_id),
        payload={"case_id": str(case_id), **payload},
    )
    db.add(event)
    db.flush()

    _restrict(db, event, only_for)
    subscriptions.fan_out(db, event, only_for=only_for)
    db.flush()
    return event


def _restrict(db: Session, event: Event, only_for: frozenset[str] | None) -> None:
    assert event.position is not None
    for institution_id in sorted(only_for or ()):
        db.add(
            EventRestriction(
                event_position=event.position, institution_id=institution_id
            )
        )
