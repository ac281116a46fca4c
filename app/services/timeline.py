"""The case timeline: what each institution did, in one place."""

import uuid

from sqlmodel import Session, col, select

from app.models import TimelineEntry


def add(
    db: Session,
    *,
    case_id: uuid.UUID,
    institution_id: str,
    client_id: str | None,
    action: str,
    note: str | None = None,
    referral_id: uuid.UUID | None = None,
) -> TimelineEntry:
    """Add what an institution did on the case; the caller commits."""
    entry = TimelineEntry(
        case_id=case_id,
        institution_id=institution_id,
        client_id=client_id,
        action=action,
        note=note,
        referral_id=referral_id,
    )
    db.add(entry)
    db.flush()
    return entry


def entries(db: Session, case_id: uuid.UUID) -> list[TimelineEntry]:
    """The case's timeline, oldest first."""
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.case_id == case_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    return list(db.exec(query))
