"""Referrals: sending one, working it through its statuses, and the listings.

The rules themselves (the state machine, consent) live in `referral_rules`; routing in
`routing`. This module applies them to the database: it adds and flushes, and the
caller commits once, so a referral, its timeline entry and its event land together.
The reads answered to a caller (`read_referral`, the listings) record themselves in
the read audit (`app.services.audit`) in the same way.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, update
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
from app.services.audit import ReadAction
from app.services.institutions import get_institution
from app.services.pagination import bad_cursor, decode_cursor, encode_cursor
from app.services.referral_rules import (
    ENDS_ACCESS,
    FINAL,
    Party,
    check_consent,
    check_transition,
)

# NOTE: El Salvador keeps UTC-6 all year (no daylight saving since 1988). Due dates are
# Salvadoran institutional deadlines, so "today" is the date in San Salvador, not the
# server's, and a fixed offset needs no tz database in the container.
SALVADOR_TIME = timezone(timedelta(hours=-6), "CST")
OVERDUE_EVENT = "referral.overdue"


class Actor(Protocol):
    """Who is acting: `app.deps.Principal` fits, so can a worker's identity."""

    @property
    def client_id(self) -> str: ...

    @property
    def institution_id(self) -> str: ...

    @property
    def role(self) -> Role: ...


class Box(StrEnum):
    INBOX = "inbox"
    OUTBOX = "outbox"


@dataclass(frozen=True)
class Filters:
    status: ReferralStatus | None = None
    service: Service | None = None
    case_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PageOf:
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

    recipient = get_institution(db, body.to_institution, pointer="/to_institution")
    if recipient.id == sender_id:
        raise _bad_recipient("an institution cannot refer a case to itself")
    # The regional conference receives aggregate statistics only, never a child's case.
    if recipient.role == Role.REGIONAL:
        raise _bad_recipient("this institution receives aggregate statistics only")
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

    _apply(referral, change)
    db.add(referral)
    db.flush()

    action = _event_type(change.status)
    note = change.reason or change.outcome
    _record(db, referral, actor=actor, action=action, note=note, previous=current)
    # After the event, so the recipient is still in its audience and hears of it.
    if change.status in ENDS_ACCESS:
        _end_recipient_access(db, referral)
    return referral


def _locked(db: Session, referral_id: uuid.UUID, *, institution_id: str) -> Referral:
    """The referral, row-locked until commit so two transitions cannot interleave."""
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


def _apply(referral: Referral, change: ReferralTransition) -> None:
    # The status reason explains the current status, so it is replaced (or cleared)
    # on every move; business status and outcome persist until someone sets them.
    referral.status = change.status.value
    referral.status_reason = change.reason
    if change.business_status is not None:
        referral.business_status = change.business_status
    if change.outcome is not None:
        referral.outcome = change.outcome
    referral.version += 1
    referral.updated_at = datetime.now(UTC)


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
    if cursor is not None:
        query = query.where(_after_created(cursor))

    query = query.order_by(col(Referral.created_at).desc(), col(Referral.id).desc())
    items = list(db.exec(query.limit(limit + 1)))
    page = _page(items, limit, lambda r: r.created_at.isoformat())

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
    if cursor is not None:
        query = query.where(_after_due(cursor))

    query = query.order_by(col(Referral.due_date), col(Referral.id))
    items = list(db.exec(query.limit(limit + 1)))
    page = _page(items, limit, lambda r: str(r.due_date))

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


def _after_created(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor in (created_at, id) descending order."""
    raw_at, raw_id = decode_cursor(cursor, parts=2)
    try:
        at, last_id = datetime.fromisoformat(raw_at), uuid.UUID(raw_id)
    except ValueError:
        raise bad_cursor() from None
    return or_(
        col(Referral.created_at) < at,
        and_(col(Referral.created_at) == at, col(Referral.id) < last_id),
    )


def _after_due(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor in (due_date, id) ascending order."""
    raw_due, raw_id = decode_cursor(cursor, parts=2)
    try:
        due, last_id = date.fromisoformat(raw_due), uuid.UUID(raw_id)
    except ValueError:
        raise bad_cursor() from None
    return or_(
        col(Referral.due_date) > due,
        and_(col(Referral.due_date) == due, col(Referral.id) > last_id),
    )


def _page(
    items: list[Referral], limit: int, sort_key: Callable[[Referral], str]
) -> PageOf:
    """One page, and a cursor when there is another (one row past `limit` was read)."""
    if len(items) <= limit:
        return PageOf(items, None)
    last = items[limit - 1]
    return PageOf(items[:limit], encode_cursor(sort_key(last), str(last.id)))


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
