"""Recording events in the transactional outbox.

`record` adds the event to the caller's transaction: the change and its event commit
together or not at all. Delivery (webhooks, the feed) reads the outbox afterwards.
"""

import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from app.models import Case, Event


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
    db: Session, *, type: str, case_id: uuid.UUID, payload: dict[str, Any]
) -> Event:
    """Add an event of `type` on a case, numbered in the case's sequence.

    Keep `payload` thin (ids, types, statuses): receivers fetch details with their own
    authorization, so no names or dates of birth travel in events.
    """
    event = Event(
        type=type,
        case_id=case_id,
        case_seq=_next_case_seq(db, case_id),
        payload={"case_id": str(case_id), **payload},
    )
    db.add(event)
    db.flush()
    return event
