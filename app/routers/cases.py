"""Cases endpoints: register, read, list, update, hand over, and the timeline.

Reads commit too: the service records each one in the read audit, and the answer
goes out only once that record is committed (see `app.services.audit`).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime
from sqlmodel import Session

from app.auth.scopes import Scope
from app.codes import CaseStatus, VulnerabilityCategory
from app.deps import (
    DbDep,
    IdempotentDep,
    Principal,
    RequiredIfMatchDep,
    etag,
    require,
)
from app.models import Case
from app.models import TimelineEntry as TimelineRow
from app.routers.paging import CursorQuery, LimitQuery
from app.schemas.base import Page
from app.schemas.cases import (
    CaseCreate,
    CasePublic,
    CaseRegistered,
    CaseUpdate,
    ChildMatch,
    LeadTransfer,
    TimelineEntry,
)
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import cases as case_service
from app.services.cases import Filters
from app.services.idempotency import Created

router = APIRouter(prefix="/v1/cases", tags=["cases"])
ReaderDep = Annotated[Principal, require(Scope.CASES_READ)]
WriterDep = Annotated[Principal, require(Scope.CASES_WRITE)]

_ETAG = {
    "ETag": {
        "description": "The case's version, for If-Match",
        "schema": {"type": "string"},
    }
}
_CREATED_HEADERS = {
    **_ETAG,
    "Location": {"description": "The new case", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when this answers a retry with the same key",
        "schema": {"type": "string"},
    },
}


def _with_etag(db: Session, case: Case, response: Response) -> CasePublic:
    response.headers["ETag"] = etag(case.version)
    return case_service.public_case(db, case)


def registered(db: Session, caller: Principal, body: CaseCreate) -> Created:
    """Register the case and shape the 201; the native twin answers the same way."""
    registration = case_service.register(db, body, actor=caller)
    case = registration.case
    public = case_service.public_case(db, case)
    match = ChildMatch(linked=registration.linked, matched_on=registration.matched_on)

    registered = CaseRegistered(**dict(public), child_match=match)
    headers = {"Location": f"{router.prefix}/{case.id}", "ETag": etag(case.version)}
    return Created(201, registered, headers)


def _timeline_entry(row: TimelineRow) -> TimelineEntry:
    return TimelineEntry(
        id=row.id,
        case_id=row.case_id,
        institution=row.institution_id,
        action=row.action,
        note=row.note,
        referral_id=row.referral_id,
        at=row.at,
    )


@router.post(
    "",
    status_code=201,
    response_model=CaseRegistered,
    summary="Register a case",
    description="Opens a case for a child. When the hub already knows the child (by "
    "any shared identifier, or else by the same names and date of birth) the case is "
    "linked to that child, and `child_match` says so; the read audit records that "
    "you were shown a known child. Your institution leads the case unless "
    "`lead_institution` names another (never the regional body, which receives "
    "statistics only). Send an `Idempotency-Key` to retry safely.",
    responses={
        201: {"description": "Registered", "headers": _CREATED_HEADERS},
        **problem_responses(*AUTH_ERRORS, 409, 422),
    },
)
def register_case(
    body: CaseCreate, db: DbDep, caller: WriterDep, idempotent: IdempotentDep
) -> Response:
    return idempotent(caller, body, lambda: registered(db, caller, body))


@router.get(
    "",
    summary="List cases",
    description="The cases your institution may see, least recently changed first, "
    "with filters and a cursor. `updated_since` is inclusive.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_cases(
    db: DbDep,
    caller: ReaderDep,
    case_status: Annotated[
        CaseStatus | None, Query(alias="status", description="Only this status")
    ] = None,
    vulnerability: Annotated[
        VulnerabilityCategory | None,
        Query(description="Only cases with this vulnerability category"),
    ] = None,
    lead_institution: Annotated[
        str | None, Query(description="Only cases this institution leads")
    ] = None,
    updated_since: Annotated[
        AwareDatetime | None,
        Query(description="Only cases changed at or after this time (with offset)"),
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[CasePublic]:
    filters = Filters(case_status, vulnerability, lead_institution, updated_since)
    page = case_service.list_cases(
        db, filters, actor=caller, cursor=cursor, limit=limit
    )
    items = case_service.public_cases(db, page.items)
    db.commit()
    return Page[CasePublic](items=items, next_cursor=page.next_cursor)


@router.get(
    "/{case_id}",
    summary="Read a case",
    description="A case your institution may see; any other id answers 404, as a "
    "missing one does. The ETag is its version.",
    responses={
        200: {"description": "The case", "headers": _ETAG},
        **problem_responses(*AUTH_ERRORS, 404),
    },
)
def get_case(
    case_id: uuid.UUID, response: Response, db: DbDep, caller: ReaderDep
) -> CasePublic:
    case = case_service.read_case(db, case_id, actor=caller)
    public = _with_etag(db, case, response)
    db.commit()
    return public


@router.patch(
    "/{case_id}",
    summary="Update a case",
    description="Changes the fields present and leaves the others (merge-patch). Send "
    "`If-Match` with the ETag you read. `status` closes (`closed`) or reopens "
    "(`open`) the case. New identifiers of the child are added; existing ones are "
    "kept. Only the lead institution or the child-protection authority may change "
    "`consent` or `status` (403 otherwise). A change to the child moves every other "
    "case of that child to its next version too, with its `case.updated` event.",
    responses={
        200: {"description": "The updated case", "headers": _ETAG},
        **problem_responses(*AUTH_ERRORS, 404, 409, 412, 422, 428),
    },
)
def update_case(
    case_id: uuid.UUID,
    body: CaseUpdate,
    response: Response,
    db: DbDep,
    caller: WriterDep,
    if_match: RequiredIfMatchDep,
) -> CasePublic:
    case = case_service.update_case(db, case_id, body, actor=caller, if_match=if_match)
    public = _with_etag(db, case, response)
    db.commit()
    return public


@router.post(
    "/{case_id}/lead-transfer",
    summary="Hand the lead to another institution",
    description="Only the lead institution may hand over its case, for instance the "
    "consulate to the child-protection authority on reception. The new lead may see "
    "the case from then on; the former lead keeps seeing it only if it registered it "
    "or holds a referral on it. The regional body cannot lead a case (422).",
    responses={
        200: {"description": "The case with its new lead", "headers": _ETAG},
        **problem_responses(*AUTH_ERRORS, 404, 409, 422),
    },
)
def transfer_lead(
    case_id: uuid.UUID,
    body: LeadTransfer,
    response: Response,
    db: DbDep,
    caller: WriterDep,
) -> CasePublic:
    case = case_service.transfer_lead(db, case_id, body, actor=caller)
    public = _with_etag(db, case, response)
    db.commit()
    return public


@router.get(
    "/{case_id}/timeline",
    summary="Read a case's timeline",
    description="What each institution did on the case, oldest first.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def get_timeline(
    case_id: uuid.UUID, db: DbDep, caller: ReaderDep
) -> list[TimelineEntry]:
    rows = case_service.case_timeline(db, case_id, actor=caller)
    db.commit()
    return [_timeline_entry(row) for row in rows]
