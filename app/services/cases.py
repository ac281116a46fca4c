"""The case registry: register, read, list, update and hand over the shared case.

Every write here adds and flushes, then records its timeline entry and its event in
the same transaction; the caller commits once. Every read answered to a caller
(`read_case`, `list_cases`, `case_timeline`) records itself in the read audit
(`app.services.audit`) the same way. Visibility is `app.services.access`: a case the
actor may not see is reported exactly like one that does not exist.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.codes import CaseStatus, VulnerabilityCategory
from app.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from app.models import Case, CaseVulnerability, TimelineEntry
from app.models.types import utcnow
from app.schemas import cases as wire
from app.services import access, audit, children, events, timeline
from app.services.audit import ReadAction
from app.services.institutions import get_institution
from app.services.pagination import bad_cursor, decode_cursor, encode_cursor

# Wire fields kept in columns of the case itself; `origin` spans two columns.
CASE_FIELDS = frozenset(
    {
        "protection_status",
        "risk_level",
        "location",
        "origin",
        "family_contacts",
        "consent",
    }
)
# Fields that a merge patch may not remove by sending null.
NOT_NULLABLE = ("child", "status")


class Actor(Protocol):
    """Who acts: `app.deps.Principal` fits, and so can a worker's identity."""

    @property
    def institution_id(self) -> str: ...

    @property
    def client_id(self) -> str: ...


@dataclass(frozen=True)
class Registration:
    case: Case
    linked: bool
    matched_on: str | None


@dataclass(frozen=True)
class Filters:
    status: CaseStatus | None = None
    vulnerability: VulnerabilityCategory | None = None
    lead_institution: str | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class CasePage:
    items: list[Case]
    next_cursor: str | None


def register(db: Session, data: wire.CaseCreate, *, actor: Actor) -> Registration:
    """Open a case, on a child the hub already knows when it recognises one."""
    lead = data.lead_institution or actor.institution_id
    get_institution(db, lead, pointer="/lead_institution")

    child, matched_on = children.recognise(db, data.child)
    if child is None:
        child = children.create(db, data.child)
    children.attach(db, child.id, children.identifier_keys(data.child))

    now = utcnow()
    case = Case(
        child_id=child.id,
        created_at=now,
        updated_at=now,
        lead_institution_id=lead,
        registered_by_id=actor.institution_id,
        **_case_columns(data.model_dump(mode="json", include=set(CASE_FIELDS))),
    )
    db.add(case)
    db.flush()
    _set_vulnerabilities(db, case.id, data.vulnerabilities)

    _grant_first_access(db, case, actor=actor)
    _log(db, case, actor, "case.registered", _registration_note(matched_on))
    events.record(
        db,
        type="case.created",
        case_id=case.id,
        payload={
            "child_id": str(child.id),
            "lead_institution": lead,
            "status": case.status,
        },
    )
    return Registration(case, linked=matched_on is not None, matched_on=matched_on)


def get_case(db: Session, case_id: uuid.UUID, *, actor: Actor) -> Case:
    """The case, if the actor may see it; not audited, for use by other services."""
    return access.visible_case(db, case_id=case_id, institution_id=actor.institution_id)


def read_case(
    db: Session,
    case_id: uuid.UUID,
    *,
    actor: Actor,
    action: ReadAction = ReadAction.CASE_READ,
    rendered_as: str | None = None,
) -> Case:
    """The case shown to the actor, recorded in the read audit (`rendered_as`: the
    adapter of a native read)."""
    case = get_case(db, case_id, actor=actor)
    audit.record_read(
        db,
        actor=actor,
        action=action,
        resource_type="case",
        resource_ids=[case.id],
        detail={"format": rendered_as} if rendered_as else None,
    )
    return case


def list_cases(
    db: Session, filters: Filters, *, actor: Actor, cursor: str | None, limit: int
) -> CasePage:
    """The cases the actor may see, oldest change first, one page at a time; the
    ids on the page are recorded in the read audit.

    NOTE: ascending by (updated_at, id) on purpose: a case updated while a client pages
    through moves to the end, where it is seen again, rather than to pages already
    read, where it would be missed.
    """
    query = _filtered(filters).where(
        col(Case.id).in_(access.visible_case_ids(actor.institution_id))
    )
    if cursor is not None:
        query = query.where(_after(cursor))

    ordered = query.order_by(col(Case.updated_at), col(Case.id)).limit(limit + 1)
    page = _case_page(list(db.exec(ordered)), limit)

    audit.record_read(
        db,
        actor=actor,
        action=ReadAction.CASE_LIST,
        resource_type="case",
        resource_ids=[case.id for case in page.items],
    )
    return page


def _case_page(rows: list[Case], limit: int) -> CasePage:
    """One page, and a cursor when there is another (one row past `limit` was read)."""
    if len(rows) <= limit:
        return CasePage(rows, None)
    last = rows[limit - 1]
    return CasePage(
        rows[:limit], encode_cursor(last.updated_at.isoformat(), str(last.id))
    )


def update_case(
    db: Session,
    case_id: uuid.UUID,
    patch: wire.CaseUpdate,
    *,
    actor: Actor,
    if_match: Sequence[int],
) -> Case:
    """Apply a merge patch to the version the actor read; 412 if it moved on."""
    case = get_case(db, case_id, actor=actor)
    _check_version(case, if_match)
    _refuse_merged(case)
    present = patch.model_fields_set
    _refuse_nulls(patch, present)

    changed = _apply(db, case, patch, present)
    if not changed:
        return case

    _bump_version(db, case)
    _log(db, case, actor, "case.updated", f"Changed: {', '.join(changed)}")
    events.record(
        db,
        type="case.updated",
        case_id=case.id,
        payload={"changed": changed, "status": case.status, "version": case.version},
    )
    return case


def transfer_lead(
    db: Session, case_id: uuid.UUID, transfer: wire.LeadTransfer, *, actor: Actor
) -> Case:
    """Hand the lead to another institution; only the current lead may."""
    case = get_case(db, case_id, actor=actor)
    _refuse_merged(case)
    old = case.lead_institution_id
    if old != actor.institution_id:
        raise Forbidden(
            f"Only the lead institution ({old}) may hand over the case",
            lead_institution=old,
        )
    new = _new_lead(db, case, transfer.to_institution)

    access.withdraw(db, case_id=case.id, institution_id=old, reason=access.LEAD)
    access.grant(db, case_id=case.id, institution_id=new, reason=access.LEAD)
    case.lead_institution_id = new
    db.add(case)
    _bump_version(db, case)

    note = f"Lead handed from {old} to {new}" + (
        f": {transfer.note}" if transfer.note else ""
    )
    _log(db, case, actor, "case.lead_transferred", note)
    events.record(
        db,
        type="case.lead_transferred",
        case_id=case.id,
        payload={"from": old, "to": new},
    )
    return case


def case_timeline(
    db: Session, case_id: uuid.UUID, *, actor: Actor
) -> list[TimelineEntry]:
    """The case's timeline shown to the actor, recorded in the read audit."""
    read_case(db, case_id, actor=actor, action=ReadAction.CASE_TIMELINE)
    return timeline.entries(db, case_id)


def public_cases(db: Session, cases: Sequence[Case]) -> list[wire.CasePublic]:
    """The cases as the wire shows them; related rows are read once for all."""
    kids = children.public_children(db, (case.child_id for case in cases))
    categories = _vulnerabilities_of(db, [case.id for case in cases])
    return [_public(case, kids[case.child_id], categories[case.id]) for case in cases]


def public_case(db: Session, case: Case) -> wire.CasePublic:
    return public_cases(db, [case])[0]


# Registration


def _grant_first_access(db: Session, case: Case, *, actor: Actor) -> None:
    for institution_id, reason in (
        (actor.institution_id, access.REGISTERED),
        (case.lead_institution_id, access.LEAD),
    ):
        access.grant(db, case_id=case.id, institution_id=institution_id, reason=reason)


def _registration_note(matched_on: str | None) -> str | None:
    if matched_on is None:
        return None
    return f"Linked to a child already known (matched on {matched_on})"


# Listing


def _filtered(filters: Filters) -> SelectOfScalar[Case]:
    query = select(Case)
    if filters.status is not None:
        query = query.where(Case.status == filters.status.value)
    if filters.lead_institution is not None:
        query = query.where(Case.lead_institution_id == filters.lead_institution)
    if filters.updated_since is not None:
        # Inclusive: a client that syncs from the last time it saw loses nothing.
        query = query.where(col(Case.updated_at) >= filters.updated_since)
    if filters.vulnerability is not None:
        flagged = select(CaseVulnerability.case_id).where(
            CaseVulnerability.category == filters.vulnerability.value
        )
        query = query.where(col(Case.id).in_(flagged))
    return query


def _after(cursor: str) -> ColumnElement[bool]:
    """Cases after the cursor in (updated_at, id) order, without row-value syntax."""
    raw_at, raw_id = decode_cursor(cursor, parts=2)
    try:
        at, id_ = datetime.fromisoformat(raw_at), uuid.UUID(raw_id)
    except ValueError:
        raise bad_cursor() from None
    if at.tzinfo is None:
        raise bad_cursor()

    return or_(
        col(Case.updated_at) > at,
        and_(col(Case.updated_at) == at, col(Case.id) > id_),
    )


# Updating


def _check_version(case: Case, if_match: Sequence[int]) -> None:
    if case.version not in if_match:
        raise PreconditionFailed(
            f"The case is at version {case.version}; read it again and reapply "
            "your change",
            current_version=case.version,
        )


def _refuse_merged(case: Case) -> None:
    if case.status == CaseStatus.MERGED:
        raise Conflict(
            f"The case was merged into {case.merged_into_id}; work on that one",
            merged_into=str(case.merged_into_id),
        )


def _refuse_nulls(patch: wire.CaseUpdate, present: set[str]) -> None:
    nulls = [
        name
        for name in NOT_NULLABLE
        if name in present and getattr(patch, name) is None
    ]
    if nulls:
        raise InvalidInput(
            f"These fields cannot be removed: {', '.join(nulls)}",
            errors=[
                {"pointer": f"/{name}", "detail": "may not be null"} for name in nulls
            ],
        )


def _apply(
    db: Session, case: Case, patch: wire.CaseUpdate, present: set[str]
) -> list[str]:
    """Apply the fields present; the names of those whose value really changed."""
    changed = _set_columns(case, patch, present)
    if "status" in present and _set_status(case, patch.status):
        changed.append("status")
    if "vulnerabilities" in present:
        wanted = patch.vulnerabilities or []
        if _set_vulnerabilities(db, case.id, wanted):
            changed.append("vulnerabilities")
    if "child" in present and patch.child is not None:
        if children.update(db, case.child_id, patch.child):
            changed.append("child")
    return sorted(changed)


def _set_columns(case: Case, patch: wire.CaseUpdate, present: set[str]) -> list[str]:
    values = patch.model_dump(mode="json", include=present & CASE_FIELDS)
    if "family_contacts" in values:
        values["family_contacts"] = values["family_contacts"] or []

    changed = []
    for name in sorted(values):
        columns = _case_columns({name: values[name]})
        if any(getattr(case, column) != value for column, value in columns.items()):
            case.sqlmodel_update(columns)
            changed.append(name)
    return changed


def _set_status(case: Case, status: CaseStatus | None) -> bool:
    """Close or reopen; merging has its own operation."""
    if status == CaseStatus.MERGED:
        raise InvalidInput(
            "A case becomes merged by merging it, not by setting its status",
            errors=[{"pointer": "/status", "detail": "only open or closed"}],
        )
    if status is None or case.status == status:
        return False
    case.status = status.value
    return True


def _bump_version(db: Session, case: Case) -> None:
    """Move the case to its next version, unless someone else got there first.

    The compare-and-set also locks the row, so concurrent writers of one case queue up
    and the later one gets 412 instead of silently overwriting.
    """
    read = case.version
    statement = (
        update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == read)
        .values(version=read + 1, updated_at=utcnow())
    )
    if db.exec(statement).rowcount != 1:
        raise PreconditionFailed(
            "The case changed while your change was being written; read it again",
            current_version=None,
        )
    db.refresh(case, ["version", "updated_at"])


def _new_lead(db: Session, case: Case, institution_id: str) -> str:
    target = get_institution(db, institution_id, pointer="/to_institution")
    if target.id == case.lead_institution_id:
        raise InvalidInput(
            f"{target.id} already leads this case",
            errors=[{"pointer": "/to_institution", "detail": "already the lead"}],
        )
    return target.id


# Shared steps


def _case_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Wire fields (as JSON) to the case's columns."""
    columns = {name: value for name, value in values.items() if name != "origin"}
    if "origin" in values:
        origin = values["origin"] or {}
        columns["origin_department"] = origin.get("department")
        columns["origin_municipality"] = origin.get("municipality")
    return columns


def _set_vulnerabilities(
    db: Session, case_id: uuid.UUID, categories: Sequence[VulnerabilityCategory]
) -> bool:
    """Make the case's categories exactly these; True if that changed anything."""
    current = _vulnerabilities_of(db, [case_id])[case_id]
    wanted = {category.value for category in categories}
    if wanted == set(current):
        return False

    db.exec(
        delete(CaseVulnerability).where(
            col(CaseVulnerability.case_id) == case_id,
            col(CaseVulnerability.category).not_in(wanted),
        )
    )
    for category in sorted(wanted - set(current)):
        db.add(CaseVulnerability(case_id=case_id, category=category))
    db.flush()
    return True


def _vulnerabilities_of(
    db: Session, case_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    grouped: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not case_ids:
        return grouped
    query = (
        select(CaseVulnerability)
        .where(col(CaseVulnerability.case_id).in_(case_ids))
        .order_by(col(CaseVulnerability.category))
    )
    for row in db.exec(query):
        grouped[row.case_id].append(row.category)
    return grouped


def _log(db: Session, case: Case, actor: Actor, action: str, note: str | None) -> None:
    timeline.add(
        db,
        case_id=case.id,
        institution_id=actor.institution_id,
        client_id=actor.client_id,
        action=action,
        note=note,
    )


def _public(
    case: Case, child: wire.ChildPublic, categories: list[str]
) -> wire.CasePublic:
    origin = None
    if case.origin_department is not None:
        origin = {
            "department": case.origin_department,
            "municipality": case.origin_municipality,
        }
    return wire.CasePublic.model_validate(
        {
            **case.model_dump(exclude={"child_id", "event_seq"}),
            "child": child,
            "lead_institution": case.lead_institution_id,
            "registered_by": case.registered_by_id,
            "vulnerabilities": categories,
            "origin": origin,
            "merged_into": case.merged_into_id,
        }
    )
