"""Admin view of webhook deliveries across institutions (scope `admin`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.scopes import Scope
from app.deps import DbDep, Principal, require
from app.models.types import utcnow
from app.routers.subscriptions import DeliveryListingDep, public_deliveries
from app.schemas.base import Page
from app.schemas.notifications import DeliveryPublic, ReplayCount, ReplaySince
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import deliveries

router = APIRouter(prefix="/v1/admin/deliveries", tags=["admin"])
AdminDep = Annotated[Principal, require(Scope.ADMIN)]


@router.get(
    "",
    summary="List deliveries",
    description="Every institution's deliveries, newest first, with their attempts; "
    "`status=dead` lists what was dead-lettered.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_deliveries(
    db: DbDep,
    _admin: AdminDep,
    query: DeliveryListingDep,
    subscription_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[DeliveryPublic]:
    return query.page(db, subscription_id)


@router.post(
    "/replay",
    summary="Replay failed deliveries",
    description="Replays every dead delivery of events since `since`, for every "
    "active subscription.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def replay_failed(body: ReplaySince, db: DbDep, _admin: AdminDep) -> ReplayCount:
    count = deliveries.replay_failed(db, since=body.since, now=utcnow())
    db.commit()
    return ReplayCount(replayed=count)


@router.post(
    "/{delivery_id}/replay",
    summary="Replay a delivery",
    description="Sends a finished delivery again, with the same `webhook-id`.",
    responses=problem_responses(*AUTH_ERRORS, 404, 409),
)
def replay_delivery(
    delivery_id: uuid.UUID, db: DbDep, _admin: AdminDep
) -> DeliveryPublic:
    delivery = deliveries.replay(db, deliveries.get(db, delivery_id), now=utcnow())
    db.commit()
    return public_deliveries(db, [delivery])[0]
