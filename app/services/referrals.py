"""Referrals: sending one, working it through its statuses, and the listings.

The rules themselves (the state machine, consent) live in `referral_rules`; routing in
`routing`. This module applies them to the database: it adds and flushes, and the
caller commits once, so a referral, its timeline entry and its event land together.
The reads answered to a caller (`read_referral`, the listings) record themselves in
the read audit (`app.services.audit`) in the same way.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.codes import CaseStatus, Priority, ReferralStatus, Role, Service
from app.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from app.models import Case, Institution, Referral
from app.models.types import utcnow
from app.schemas.cases import Consent
from app.schemas.referrals import (
    ConsentOverride,
    ReferralCreate,
    ReferralPublic,
    ReferralTransition,
)
from app.services import access, audit, events, routing, timeline
from app.services.actors import Actor
from app.services.audit import ReadAction
from app.services.institutions import case_party, get_institution
from app.services.pagination import beyond, decode_date_key, decode_time_key, page_of
from app.services.referral_rules import (
    ENDS_ACCESS,
    FINAL,
    Party,
    check_consent,
    check_transition,
    next_statuses,
)

# NOTE: El Salvador keeps UTC-6 all year (no daylight saving since 1988). Due dates are
# Salvadoran institutional deadlines, so "today" is the date in San Salvador, not the
# server's, and a fixed offset needs no tz database in the container.
SALVADOR_TIME = timezone(timedelta(hours=-6), "CST")
OVERDUE_EVENT = "referral.overdue"


class Box(StrEnum):
    """Which side of its referrals an institution lists: received or sent."""

    INBOX = "inbox"
    OUTBOX = "outbox"


@dataclass(frozen=True)
class Filters:
    """What a listing keeps; each filter left as None keeps everything."""

    status: ReferralStatus | None = None
    service: Service | None = None
    case_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PageOf:
    """One page of referrals, and the cursor of the next one if there is one."""

    items: list[Referral]
    next_cursor: str | None


def today(now: datetime | None = None) -> date:
    """The date in El Salvador, now or at `now`: due dates are judged by it."""
    return (now or datetime.now(UTC)).astimezone(SALVADOR_TIME).date()


def create_referral(db: Session, body: ReferralCreate, *, actor: Actor) -> Referral:
    """Send a referral after every check passes; nothing is written before that."""
    case = access.visible_case(
        db, case_id=body.case_id, institution_id=actor.institution_id
    )
    _check_case_open(case)
    _check_due_date(body.due_date)
    recipient = _recipient(db, body, case=case, sender_id=actor.institution_id)

    consent = Consent.model_validate(case.consent) if case.consent else None
    check_consent(
        consent,
        service=body.service,
        recipient_role=Role(recipient.role),
        override=body.consent_override,
        sender_role=Role(actor.role),
    )

    referral = _new_referral(body, actor=actor, recipient_id=recipient.id)
    db.add(referral)
    db.flush()

    access.grant(
        db, case_id=case.id, institution_id=recipient.id, reason=access.REFERRAL
    )
    note = f"{referral.service} to {recipient.id}"
    _record(db, referral, actor=actor, action="referral.requested", note=note)
    return referral


def _check_case_open(case: Case) -> None:
    if case.status != CaseStatus.OPEN:
        raise Conflict(
            f"The case is {case.status}; only an open case takes new referrals",
            case_status=case.status,
        )


def _check_due_date(due_date: date | None) -> None:
    if due_date is not None and due_date < today():
        raise InvalidInput(
            f"The due date {due_date} is in the past",
            errors=[{"pointer": "/due_date", "detail": "must be today or later"}],
        )


def _recipient(
    db: Session, body: ReferralCreate, *, case: Case, sender_id: str
) -> Institution:
    """The named institution, or the one the routing rules choose."""
    if body.to_institution is None:
        routed = routing.route(db, case=case, service=body.service, sender_id=sender_id)
        return get_institution(db, routed, pointer="/to_institution")

    recipient = case_party(db, body.to_institution, pointer="/to_institution")
    if recipient.id == sender_id:
        raise _bad_recipient("an institution cannot refer a case to itself")
    return recipient


def _bad_recipient(detail: str) -> InvalidInput:
    return InvalidInput(
        f"The referral cannot go there: {detail}",
        errors=[{"pointer": "/to_institution", "detail": detail}],
    )


def _new_referral(body: ReferralCreate, *, actor: Actor, recipient_id: str) -> Referral:
    override = body.consent_override
    return Referral(
        case_id=body.case_id,
        from_institution_id=actor.institution_id,
        to_institution_id=recipient_id,
        service=body.service.value,
        priority=body.priority.value,
        reason=body.reason,
        due_date=body.due_date,
        status=ReferralStatus.REQUESTED.value,
        consent_override=override.model_dump() if override else None,
        created_by_client_id=actor.client_id,
    )


def get_referral(
    db: Session, referral_id: uuid.UUID, *, institution_id: str
) -> Referral:
    """The referral, if this institution sent or received it; 404 otherwise, as for a
    missing one, so its existence does not leak."""
    referral = db.get(Referral, referral_id)
    if referral is None or _party(referral, institution_id) is None:
        raise NotFound(f"There is no referral {referral_id}")
    return referral


def read_referral(db: Session, referral_id: uuid.UUID, *, actor: Actor) -> Referral:
    """The referral shown to the actor, recorded in the read audit."""
    referral = get_referral(db, referral_id, institution_id=actor.institution_id)
    _record_read(db, actor, ReadAction.REFERRAL_READ, [referral])
    return referral


def _record_read(
    db: Session, actor: Actor, action: ReadAction, shown: list[Referral]
) -> None:
    audit.record_read(
        db,
        actor=actor,
        action=action,
        resource_type="referral",
        resource_ids=[referral.id for referral in shown],
    )


def _party(referral: Referral, institution_id: str) -> Party | None:
    if institution_id == referral.from_institution_id:
        return Party.SENDER
    if institution_id == referral.to_institution_id:
        return Party.RECEIVER
    return None


def transition(
    db: Session,
    referral_id: uuid.UUID,
    change: ReferralTransition,
    *,
    actor: Actor,
    if_match: list[int] | None = None,
) -> Referral:
    """Move the referral to `change.status`, if the state machine and party allow."""
    referral = _locked(db, referral_id, institution_id=actor.institution_id)
    if if_match is not None and referral.version not in if_match:
        raise PreconditionFailed(
            f"The referral changed since you read it (now version {referral.version}); "
            "read it again",
            current_version=referral.version,
        )

    party = _party(referral, actor.institution_id)
    assert party is not None  # _locked answered 404 for anyone else
    current = ReferralStatus(referral.status)
    check_transition(current, change.status, party=party, reason=change.reason)
    _write(db, referral, change)

    action = _event_type(change.status)
    note = change.reason or change.outcome
    _record(db, referral, actor=actor, action=action, note=note, previous=current)
    # After the event, so the recipient is still in its audience and hears of it.
    if change.status in ENDS_ACCESS:
        _end_recipient_access(db, referral)
    return referral


def _locked(db: Session, referral_id: uuid.UUID, *, institution_id: str) -> Referral:
    """The referral, row-locked until commit where the database can (PostgreSQL), so
    a second mover waits and is judged against the status the first one left."""
    query = select(Referral).where(Referral.id == referral_id).with_for_update()
    referral = db.exec(query).first()
    if referral is None or _party(referral, institution_id) is None:
        raise NotFound(f"There is no referral {referral_id}")
    return referral


def _end_recipient_access(db: Session, referral: Referral) -> None:
    """Withdraw the recipient's access unless another live referral still grants it."""
    others = select(Referral.id).where(
        Referral.case_id == referral.case_id,
        Referral.to_institution_id == referral.to_institution_id,
        Referral.id != referral.id,
        col(Referral.status).not_in([status.value for status in ENDS_ACCESS]),
    )
    if db.exec(others.limit(1)).first() is None:
        access.withdraw(
            db,
            case_id=referral.case_id,
            institution_id=referral.to_institution_id,
            reason=access.REFERRAL,
        )


def _write(db: Session, referral: Referral, change: ReferralTransition) -> None:
    """Write the move over the version that was judged, or 409 if it has moved on.

    The row lock alone does not order two movers: SQLite ignores it, so both may
    judge the same version. Comparing that version in the UPDATE does, on every
    database, and the loser records no event and no timeline entry.
    """
    judged = referral.version
    values = _changes(change) | {"version": judged + 1, "updated_at": utcnow()}
    written = db.execute(
        update(Referral)
        .where(col(Referral.id) == referral.id, col(Referral.version) == judged)
        .values(values)
    )
    db.refresh(referral)
    if written.rowcount != 1:  # type: ignore[attr-defined]
        raise _moved_on(referral)


def _changes(change: ReferralTransition) -> dict[str, object]:
    # The status reason explains the current status, so it is replaced (or cleared)
    # on every move; business status and outcome persist until someone sets them.
    values: dict[str, object] = {
        "status": change.status.value,
        "status_reason": change.reason,
    }
    if change.business_status is not None:
        values["business_status"] = change.business_status
    if change.outcome is not None:
        values["outcome"] = change.outcome
    return values


def _moved_on(referral: Referral) -> Conflict:
    current = ReferralStatus(referral.status)
    return Conflict(
        f"The referral is {current.value} now: another change was written while "
        "yours was being judged; read it again",
        current_status=current.value,
        allowed_statuses=[status.value for status in next_statuses(current)],
    )


def _event_type(status: ReferralStatus) -> str:
    # Event types are dotted identifiers; FHIR's hyphen becomes an underscore.
    return "referral." + status.value.replace("-", "_")


def _record(
    db: Session,
    referral: Referral,
    *,
    actor: Actor,
    action: str,
    note: str | None,
    previous: ReferralStatus | None = None,
) -> None:
    """The timeline entry and the event of one change, in the caller's transaction."""
    timeline.add(
        db,
        case_id=referral.case_id,
        institution_id=actor.institution_id,
        client_id=actor.client_id,
        action=action,
        note=note[:1000] if note else None,
        referral_id=referral.id,
    )
    payload = _payload(referral)
    if previous is not None:
        payload["previous_status"] = previous.value
    events.record(db, type=action, case_id=referral.case_id, payload=payload)


def _payload(referral: Referral) -> dict[str, Any]:
    # Thin on purpose: ids and codes. Reasons are free text and may name the child.
    return {
        "referral_id": str(referral.id),
        "status": referral.status,
        "service": referral.service,
        "from_institution": referral.from_institution_id,
        "to_institution": referral.to_institution_id,
    }


def list_box(
    db: Session,
    *,
    box: Box,
    actor: Actor,
    filters: Filters,
    cursor: str | None,
    limit: int,
) -> PageOf:
    """The referrals an institution received (inbox) or sent (outbox), newest first;
    the ids on the page are recorded in the read audit."""
    side = (
        Referral.to_institution_id if box is Box.INBOX else Referral.from_institution_id
    )
    query = _filtered(select(Referral).where(side == actor.institution_id), filters)
    created_at, referral_id = col(Referral.created_at), col(Referral.id)
    if cursor is not None:
        key = decode_time_key(cursor)
        query = query.where(beyond(created_at, referral_id, key, descending=True))

    query = query.order_by(created_at.desc(), referral_id.desc())
    rows = list(db.exec(query.limit(limit + 1)))
    page = PageOf(*page_of(rows, limit, key=lambda r: (r.created_at, r.id)))

    _record_read(db, actor, ReadAction.REFERRAL_LIST, page.items)
    return page


def list_overdue(
    db: Session,
    *,
    actor: Actor,
    on: date,
    filters: Filters,
    cursor: str | None,
    limit: int,
) -> PageOf:
    """Referrals past due and not final, sent or received; the longest overdue first.
    The ids on the page are recorded in the read audit."""
    mine = or_(
        col(Referral.from_institution_id) == actor.institution_id,
        col(Referral.to_institution_id) == actor.institution_id,
    )
    query = _filtered(_overdue_query(on).where(mine), filters)
    due_date, referral_id = col(Referral.due_date), col(Referral.id)
    if cursor is not None:
        key = decode_date_key(cursor)
        query = query.where(beyond(due_date, referral_id, key, descending=False))

    query = query.order_by(due_date, referral_id)
    rows = list(db.exec(query.limit(limit + 1)))
    page = PageOf(*page_of(rows, limit, key=_due_key))

    _record_read(db, actor, ReadAction.REFERRAL_LIST, page.items)
    return page


def _overdue_query(on: date) -> SelectOfScalar[Referral]:
    return select(Referral).where(
        col(Referral.due_date) < on,
        col(Referral.status).not_in([status.value for status in FINAL]),
    )


def _filtered(
    query: SelectOfScalar[Referral], filters: Filters
) -> SelectOfScalar[Referral]:
    if filters.status is not None:
        query = query.where(Referral.status == filters.status.value)
    if filters.service is not None:
        query = query.where(Referral.service == filters.service.value)
    if filters.case_id is not None:
        query = query.where(Referral.case_id == filters.case_id)
    return query


def _due_key(referral: Referral) -> tuple[date, uuid.UUID]:
    assert referral.due_date is not None  # only referrals past due are listed
    return referral.due_date, referral.id


def mark_overdue(db: Session, on: date) -> int:
    """Emit `referral.overdue` once per referral past due on `on`; returns how many.

    Each referral is claimed by a conditional update of `overdue_notified_at`, so two
    workers running this at once never announce the same referral twice.
    """
    announced = 0
    not_announced = col(Referral.overdue_notified_at).is_(None)
    for referral in db.exec(_overdue_query(on).where(not_announced)).all():
        if not _claim_overdue_notice(db, referral.id):
            continue
        payload = {**_payload(referral), "due_date": str(referral.due_date)}
        events.record(db, type=OVERDUE_EVENT, case_id=referral.case_id, payload=payload)
        announced += 1
    return announced


def _claim_overdue_notice(db: Session, referral_id: uuid.UUID) -> bool:
    claimed = db.execute(
        update(Referral)
        .where(
            col(Referral.id) == referral_id,
            col(Referral.overdue_notified_at).is_(None),
        )
        .values(overdue_notified_at=utcnow())
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def public_view(referral: Referral) -> ReferralPublic:
    """The referral as the common schema v1 shows it."""
    override = referral.consent_override
    return ReferralPublic(
        id=referral.id,
        case_id=referral.case_id,
        from_institution=referral.from_institution_id,
        to_institution=referral.to_institution_id,
        service=Service(referral.service),
        priority=Priority(referral.priority),
        reason=referral.reason,
        due_date=referral.due_date,
        status=ReferralStatus(referral.status),
        status_reason=referral.status_reason,
        business_status=referral.business_status,
        outcome=referral.outcome,
        consent_override=ConsentOverride(**override) if override else None,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        version=referral.version,
    )
