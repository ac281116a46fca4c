"""Admin view of the read audit: who was shown which records (scope `admin`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from app.auth.scopes import Scope
from app.deps import DbDep, Principal, require
from app.routers.paging import CursorQuery, LimitQuery
from app.schemas.audit import AuditEntryPublic
from app.schemas.base import Page
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import audit
from app.services.audit import AuditFilters, ReadAction

router = APIRouter(prefix="/v1/admin/audit", tags=["admin"])
AdminDep = Annotated[Principal, require(Scope.ADMIN)]


@router.get(
    "",
    summary="List the read audit",
    description="Every read the hub answered with a child's records: who (client, "
    "institution, request id), what (`action`, the ids shown) and when, newest "
    "first. `resource_id` finds the reads that showed a case or referral, including "
    "listings that returned it; `since` is inclusive. Entries carry no personal "
    "data: an identity lookup shows the identifier type and whether it was found.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_audit(
    db: DbDep,
    _admin: AdminDep,
    institution: Annotated[
        str | None, Query(description="Only reads by this institution")
    ] = None,
    resource_id: Annotated[
        uuid.UUID | None,
        Query(description="Only reads that showed this case or referral"),
    ] = None,
    action: Annotated[ReadAction | None, Query(description="Only this action")] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Only reads at or after this time")
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[AuditEntryPublic]:
    filters = AuditFilters(institution, resource_id, action, since)
    page = audit.list_entries(db, filters, cursor=cursor, limit=limit)
    items = [AuditEntryPublic.model_validate(entry) for entry in page.items]
    return Page[AuditEntryPublic](items=items, next_cursor=page.next_cursor)
