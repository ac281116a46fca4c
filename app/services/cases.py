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
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.codes import CaseStatus, Role, VulnerabilityCategory
from app.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from app.models import Case, CaseVulnerability, TimelineEntry
from app.models.types import utcnow
from app.schemas import cases as wire
from app.services import access, audit, children, events, timeline
from app.services.actors import Actor
from app.services.audit import ReadAction
from app.services.institutions import case_party
from app.services.pagination import beyond, decode_time_key, page_of

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
# Decisions about the case itself: what may be shared, and whether it is over. A
# recipient allowed to widen consent could authorise its own later referrals.
LEAD_ONLY = ("consent", "status")
# Besides the lead, the authority that protects children may make those decisions.
DECIDING_ROLES = frozenset({Role.CHILD_PROTECTION})
# The timeline note on a case whose child was edited through another case.
CHILD_CHANGED_ELSEWHERE = "Changed: child (through another case of the same child)"


@dataclass(frozen=True)
class Registration:
    """A new case, and whether it was linked to a child the hub already knew."""

    case: Case
    linked: bool
    matched_on: str | None


@dataclass(frozen=True)
class Filters:
    """What a listing keeps; each filter left as None keeps everything."""

    status: CaseStatus | None = None
    vulnerability: VulnerabilityCategory | None = None
    lead_institution: str | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class CasePage:
    """One page of cases, and the cursor of the next one if there is one."""

    items: list[Case]
    next_cursor: str | None


def register(db: Session, data: wire.CaseCreate, *, actor: Actor) -> Registration:
    """Open a case, on a child the hub already knows when it recognises one."""
    lead = data.lead_institution or actor.institution_id
    case_party(db, lead, pointer="/lead_institution")

    child, matched_on = children.recognise(db, data.child)
    if child is None:
        child = children.create(db, data.child)
    note = _registration_note(matched_on, children.differing(child, data.child))
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
    if matched_on is not None:
        _record_link(db, case, matched_on, actor=actor)
    _log(db, case, actor, "case.registered", note)
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
    updated_at, case_id = col(Case.updated_at), col(Case.id)
    if cursor is not None:
        key = decode_time_key(cursor)
        query = query.where(beyond(updated_at, case_id, key, descending=False))

    ordered = query.order_by(updated_at, case_id).limit(limit + 1)
    rows = list(db.exec(ordered))
    page = CasePage(*page_of(rows, limit, key=lambda case: (case.updated_at, case.id)))

    audit.record_read(
        db,
        actor=actor,
        action=ReadAction.CASE_LIST,
        resource_type="case",
        resource_ids=[case.id for case in page.items],
    )
    return page


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

    # Checked on what really changed, so a full patch repeating them is fine; the
    # edge rolls back what `_apply` wrote.
    _check_decider(case, changed, actor=actor)

    _bump_version(db, case)
    _log(db, case, actor, "case.updated", f"Changed: {', '.join(changed)}")
    events.record(
        db,
        type="case.updated",
        case_id=case.id,
        payload={"changed": changed, "status": case.status, "version": case.version},
    )
    if "child" in changed:
        _move_other_cases_of_child(db, case, actor=actor)
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
    """One case as the wire shows it."""
    return public_cases(db, [case])[0]


# Registration


def _grant_first_access(db: Session, case: Case, *, actor: Actor) -> None:
    for institution_id, reason in (
        (actor.institution_id, access.REGISTERED),
        (case.lead_institution_id, access.LEAD),
    ):
        access.grant(db, case_id=case.id, institution_id=institution_id, reason=reason)


def _registration_note(matched_on: str | None, differing: list[str]) -> str | None:
    """Say what the link rests on, and which sent details the case does not show;
    never the values, which the timeline's readers may not all be shown."""
    if matched_on is None:
        return None
    note = f"Linked to a child already known (matched on {matched_on})"
    if differing:
        note += (
            f"; the child's recorded {', '.join(differing)} differ from those "
            "sent and are kept"
        )
    return note


def _record_link(db: Session, case: Case, matched_on: str, *, actor: Actor) -> None:
    """Audit the link: the new case shows a child another institution recorded."""
    audit.record_read(
        db,
        actor=actor,
        action=ReadAction.CHILD_LINKED,
        resource_type="child",
        resource_ids=[case.child_id],
        detail={"case_id": str(case.id), "matched_on": matched_on},
    )


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


def _check_decider(case: Case, changed: list[str], *, actor: Actor) -> None:
    """403 naming the fields when consent or status is changed by another party."""
    refused = [name for name in changed if name in LEAD_ONLY]
    lead = case.lead_institution_id
    if not refused or actor.institution_id == lead or actor.role in DECIDING_ROLES:
        return
    raise Forbidden(
        f"Only the lead institution ({lead}) or the child-protection authority may "
        f"change: {', '.join(refused)}",
        lead_institution=lead,
        errors=[
            {"pointer": f"/{name}", "detail": "the lead or child protection only"}
            for name in refused
        ],
    )


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


def _move_other_cases_of_child(db: Session, case: Case, *, actor: Actor) -> None:
    """Give every other case of the child its next version, timeline entry and event.

    They show the same child, so their ETags must change and their institutions hear
    of it. One statement moves them all; no client read them, so there is no version
    to compare, and the update locks their rows against concurrent writers.
    """
    statement = (
        update(Case)
        .where(col(Case.child_id) == case.child_id, col(Case.id) != case.id)
        .values(version=col(Case.version) + 1, updated_at=utcnow())
        .returning(col(Case.id), col(Case.version), col(Case.status))
    )
    moved = sorted(tuple(row) for row in db.exec(statement))

    for other_id, version, status in moved:
        timeline.add(
            db,
            case_id=other_id,
            institution_id=actor.institution_id,
            client_id=actor.client_id,
            action="case.updated",
            note=CHILD_CHANGED_ELSEWHERE,
        )
        events.record(
            db,
            type="case.updated",
            case_id=other_id,
            payload={"changed": ["child"], "status": status, "version": version},
        )


def _new_lead(db: Session, case: Case, institution_id: str) -> str:
    target = case_party(db, institution_id, pointer="/to_institution")
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
