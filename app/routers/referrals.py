"""Referrals endpoints: send one, work it through its statuses, list what is yours.

Reads commit too: the service records each one in the read audit, and the answer
goes out only once that record is committed (see `app.services.audit`).
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import Session

from app.auth.scopes import Scope
from app.codes import ReferralStatus, Service
from app.deps import (
    DbDep,
    IdempotentDep,
    IfMatchVersionsDep,
    Principal,
    etag,
    require,
)
from app.models import Referral
from app.routers.paging import CursorQuery, LimitQuery
from app.schemas.base import Page
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.schemas.referrals import (
    ReferralCreate,
    ReferralPublic,
    ReferralTransition,
)
from app.services import referrals as referral_service
from app.services.idempotency import Created
from app.services.referrals import Box, Filters, PageOf

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])
ReaderDep = Annotated[Principal, require(Scope.REFERRALS_READ)]
WriterDep = Annotated[Principal, require(Scope.REFERRALS_WRITE)]

StatusQuery = Annotated[ReferralStatus | None, Query(description="Only this status")]
ServiceQuery = Annotated[Service | None, Query(description="Only this service")]
CaseQuery = Annotated[uuid.UUID | None, Query(description="Only this case")]
_ETAG = {
    "ETag": {"description": "The referral's version", "schema": {"type": "string"}}
}
_CREATED_HEADERS = {
    **_ETAG,
    "Location": {"description": "The new referral", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when this answers a retry with the same key",
        "schema": {"type": "string"},
    },
}


def _with_etag(referral: Referral, response: Response) -> ReferralPublic:
    response.headers["ETag"] = etag(referral.version)
    return referral_service.public_view(referral)


def _page(db: Session, page: PageOf) -> Page[ReferralPublic]:
    """The page as the wire shows it, once its read audit is committed."""
    items = [referral_service.public_view(referral) for referral in page.items]
    db.commit()
    return Page[ReferralPublic](items=items, next_cursor=page.next_cursor)


def _created(db: Session, caller: Principal, body: ReferralCreate) -> Created:
    referral = referral_service.create_referral(db, body, actor=caller)
    headers = {
        "Location": f"{router.prefix}/{referral.id}",
        "ETag": etag(referral.version),
    }
    return Created(201, referral_service.public_view(referral), headers)


@router.post(
    "",
    status_code=201,
    response_model=ReferralPublic,
    summary="Send a referral",
    description="Asks another institution for a service on a case you can see. Omit "
    "`to_institution` to let the hub route by service to the competent institution. "
    "The case's consent must cover the service and the recipient's role; otherwise "
    "the child-protection authority may send a `consent_override` (409 for missing "
    "consent, 403 for an override from anyone else). The recipient may then see the "
    "case. Send an `Idempotency-Key` to retry safely.",
    responses={
        201: {"description": "Sent", "headers": _CREATED_HEADERS},
        **problem_responses(*AUTH_ERRORS, 404, 409, 422),
    },
)
def create_referral(
    body: ReferralCreate, db: DbDep, caller: WriterDep, idempotent: IdempotentDep
) -> Response:
    return idempotent(caller, body, lambda: _created(db, caller, body))


@dataclass
class Listing:
    """The filters and page of a referral listing, as query parameters."""

    status: StatusQuery = None
    service: ServiceQuery = None
    case_id: CaseQuery = None
    cursor: CursorQuery = None
    limit: LimitQuery = 50

    @property
    def filters(self) -> Filters:
        return Filters(status=self.status, service=self.service, case_id=self.case_id)


ListingDep = Annotated[Listing, Depends()]


def _box(db: Session, box: Box, caller: Principal, query: Listing) -> PageOf:
    return referral_service.list_box(
        db,
        box=box,
        actor=caller,
        filters=query.filters,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get(
    "/inbox",
    summary="List referrals received",
    description="Referrals sent to your institution, newest first, with filters and "
    "a cursor.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def inbox(db: DbDep, caller: ReaderDep, query: ListingDep) -> Page[ReferralPublic]:
    return _page(db, _box(db, Box.INBOX, caller, query))


@router.get(
    "/outbox",
    summary="List referrals sent",
    description="Referrals your institution sent, newest first, with filters and a "
    "cursor.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def outbox(db: DbDep, caller: ReaderDep, query: ListingDep) -> Page[ReferralPublic]:
    return _page(db, _box(db, Box.OUTBOX, caller, query))


@router.get(
    "/overdue",
    summary="List overdue referrals",
    description="Referrals you sent or received whose due date has passed (in El "
    "Salvador) and that are not yet final; the longest overdue first.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def overdue(db: DbDep, caller: ReaderDep, query: ListingDep) -> Page[ReferralPublic]:
    page = referral_service.list_overdue(
        db,
        actor=caller,
        on=referral_service.today(),
        filters=query.filters,
        cursor=query.cursor,
        limit=query.limit,
    )
    return _page(db, page)


@router.get(
    "/{referral_id}",
    summary="Read a referral",
    description="A referral your institution sent or received; any other id answers "
    "404, as a missing one does. The ETag is its version.",
    responses={
        200: {"description": "The referral", "headers": _ETAG},
        **problem_responses(*AUTH_ERRORS, 404),
    },
)
def get_referral(
    referral_id: uuid.UUID, response: Response, db: DbDep, caller: ReaderDep
) -> ReferralPublic:
    referral = referral_service.read_referral(db, referral_id, actor=caller)
    public = _with_etag(referral, response)
    db.commit()
    return public


@router.post(
    "/{referral_id}/transitions",
    summary="Change a referral's status",
    description="Moves the referral along its FHIR Task statuses: the receiver sets "
    "received, accepted or rejected, in-progress, on-hold, completed or failed; the "
    "sender may cancel it while it is not final. rejected, cancelled and failed need "
    "a `reason`. A move the status does not allow answers 409 with the current status "
    "and the allowed ones; a move that belongs to the other party, 403. Send "
    "`If-Match` with the ETag you read to refuse the change (412) if someone moved "
    "the referral since. Two moves at the same moment: the first wins, the second "
    "answers 409 naming the status it found.",
    responses={
        200: {"description": "The referral in its new status", "headers": _ETAG},
        **problem_responses(*AUTH_ERRORS, 404, 409, 412, 422),
    },
)
def transition_referral(
    referral_id: uuid.UUID,
    body: ReferralTransition,
    response: Response,
    db: DbDep,
    caller: WriterDep,
    if_match: IfMatchVersionsDep,
) -> ReferralPublic:
    referral = referral_service.transition(
        db,
        referral_id,
        body,
        actor=caller,
        if_match=if_match,
    )
    db.commit()
    return _with_etag(referral, response)
