"""The read audit: every answer that shows a child's records says who was shown what.

Writes already leave their trace (the timeline, the events); this module records the
reads, so the hub can tell an institution, or an oversight body, who saw a child's
case and when.

Which reads are recorded:

    case.read           GET /v1/cases/{id}
    case.list           GET /v1/cases
    case.timeline       GET /v1/cases/{id}/timeline
    case.native_read    GET /v1/native/{adapter}/cases/{id}
    referral.read       GET /v1/referrals/{id}
    referral.list       GET /v1/referrals/inbox, /outbox, /overdue
    referral.native_read  GET /v1/native/minsal/referrals/{id}
    identity.lookup     GET /v1/identity/rnpn/{type}/{value}

The rule: a read is recorded where the service answers it (`read_case`, `list_cases`,
`read_referral`, …), in the same transaction, and the endpoint commits before it
answers, so a read that cannot be recorded fails instead of answering. What shows no
child's data is not recorded: the thin event feed, the regional report's suppressed
counts, admin views of deliveries and of this audit.

A listing records the ids it returned, not its filters: filters can carry what the
caller searched for, and the question the audit answers is "who was shown this
case", which only the returned ids can answer.

A refused read (404 for a case the caller may not see, as for a missing one) records
nothing: it showed nothing, and its transaction is rolled back. The request log keeps
the attempt (request id, route, status). The identity lookup is the exception in
one way: the hub did ask the registry for the caller, so a lookup that found nobody
is recorded too, with `found: false`, and one the registry failed to answer (the
caller got a 502, 503 or 504) with `found: null`.

Nothing personal goes into a row: ids, codes and flags only. An identity lookup keeps
the identifier's type, never its value.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy import ColumnElement, String, cast
from sqlmodel import Session, col, select

from app.codes import IdentifierType
from app.models import AuditEntry
from app.services.actors import Actor
from app.services.pagination import beyond, decode_time_key, page_of


class ReadAction(StrEnum):
    CASE_READ = "case.read"
    CASE_LIST = "case.list"
    CASE_TIMELINE = "case.timeline"
    CASE_NATIVE_READ = "case.native_read"
    REFERRAL_READ = "referral.read"
    REFERRAL_LIST = "referral.list"
    REFERRAL_NATIVE_READ = "referral.native_read"
    IDENTITY_LOOKUP = "identity.lookup"
    # A registration linked to a child already known: it shows another's record.
    CHILD_LINKED = "child.linked"


# Only codes and flags: a value that could name a child has no place in `detail`.
Detail = dict[str, str | bool | None]


@dataclass(frozen=True)
class AuditFilters:
    """What the admin listing keeps; each filter left as None keeps everything."""

    institution_id: str | None = None
    resource_id: uuid.UUID | None = None
    action: ReadAction | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, and the cursor of the next one if there is one."""

    items: list[AuditEntry]
    next_cursor: str | None


def record_read(
    db: Session,
    *,
    actor: Actor,
    action: ReadAction,
    resource_type: str,
    resource_ids: Iterable[uuid.UUID],
    detail: Detail | None = None,
) -> AuditEntry:
    """Add the row saying `actor` was shown these resources; the caller commits."""
    entry = AuditEntry(
        request_id=_request_id(),
        client_id=actor.client_id,
        institution_id=actor.institution_id,
        action=action.value,
        resource_type=resource_type,
        resource_ids=[str(resource_id) for resource_id in resource_ids],
        detail=detail or {},
    )
    db.add(entry)
    db.flush()
    return entry


def record_identity_lookup(
    db: Session, *, actor: Actor, identifier_type: IdentifierType, found: bool | None
) -> AuditEntry:
    """Record a registry lookup by the identifier's type (never its value); `found`
    is None when the registry failed to answer."""
    return record_read(
        db,
        actor=actor,
        action=ReadAction.IDENTITY_LOOKUP,
        resource_type="rnpn_person",
        resource_ids=[],
        detail={"identifier_type": identifier_type.value, "found": found},
    )


def _request_id() -> str | None:
    # Bound by the request middleware; a job or the command line has none.
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return str(request_id) if request_id is not None else None


def list_entries(
    db: Session, filters: AuditFilters, *, cursor: str | None, limit: int
) -> AuditPage:
    """The entries matching `filters`, newest first, one page at a time."""
    query = select(AuditEntry).where(*_conditions(filters))
    at, entry_id = col(AuditEntry.at), col(AuditEntry.id)
    if cursor is not None:
        key = decode_time_key(cursor)
        query = query.where(beyond(at, entry_id, key, descending=True))

    ordered = query.order_by(at.desc(), entry_id.desc())
    rows = list(db.exec(ordered.limit(limit + 1)))
    return AuditPage(*page_of(rows, limit, key=lambda entry: (entry.at, entry.id)))


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.institution_id is not None:
        conditions.append(col(AuditEntry.institution_id) == filters.institution_id)
    if filters.action is not None:
        conditions.append(col(AuditEntry.action) == filters.action.value)
    if filters.since is not None:
        conditions.append(col(AuditEntry.at) >= filters.since)
    if filters.resource_id is not None:
        conditions.append(_names(filters.resource_id))
    return conditions


def _names(resource_id: uuid.UUID) -> ColumnElement[bool]:
    """Entries whose `resource_ids` hold this id.

    NOTE: the JSON list is matched as text (a quoted UUID, which no other id can
    contain), the same on SQLite and PostgreSQL; it scans the rows the other filters
    leave. TODO(audit): an (entry, resource id) index table once the audit grows
    large enough for admins to feel the scan.
    """
    return cast(col(AuditEntry.resource_ids), String).like(f'%"{resource_id}"%')
