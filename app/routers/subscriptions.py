"""Webhook subscriptions and their deliveries, managed by the owning institution."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime
from sqlmodel import Session

from app.auth.scopes import Scope
from app.deps import DbDep, Principal, SettingsDep, require
from app.models import Delivery
from app.models.types import utcnow
from app.routers.paging import CursorQuery, LimitQuery
from app.schemas.base import Page
from app.schemas.notifications import (
    AttemptPublic,
    DeliveryPublic,
    ReplayCount,
    ReplaySince,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionWithSecret,
)
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import deliveries, subscriptions
from app.services.subscriptions import IssuedSubscription

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
OwnerDep = Annotated[Principal, require(Scope.SUBSCRIPTIONS_WRITE)]
ReaderDep = Annotated[Principal, require(Scope.EVENTS_READ)]
StatusQuery = Annotated[
    str | None,
    Query(
        pattern="^(pending|delivered|dead|cancelled)$",
        description="Only deliveries in this status",
    ),
]
SinceQuery = Annotated[
    AwareDatetime | None, Query(description="Only deliveries of events since then")
]


@dataclass
class DeliveryListing:
    """Filters and page of a delivery listing, as query parameters."""

    status: StatusQuery = None
    since: SinceQuery = None
    cursor: CursorQuery = None
    limit: LimitQuery = 50

    def page(
        self, db: Session, subscription_id: uuid.UUID | None
    ) -> Page[DeliveryPublic]:
        rows, next_cursor = deliveries.list_deliveries(
            db,
            subscription_id=subscription_id,
            status=self.status,
            since=self.since,
            cursor=self.cursor,
            limit=self.limit,
        )
        return Page(items=public_deliveries(db, rows), next_cursor=next_cursor)


DeliveryListingDep = Annotated[DeliveryListing, Depends()]


def _with_secret(issued: IssuedSubscription) -> SubscriptionWithSecret:
    public = SubscriptionPublic.model_validate(issued.subscription)
    return SubscriptionWithSecret(**public.model_dump(), secret=issued.secret)


def public_deliveries(db: Session, rows: Sequence[Delivery]) -> list[DeliveryPublic]:
    """Deliveries with their attempts, for the owner's and the admins' listings."""
    history = deliveries.attempts_of(db, [row.id for row in rows])
    return [
        DeliveryPublic.model_validate(row).model_copy(
            update={
                "attempt_history": [
                    AttemptPublic.model_validate(a) for a in history[row.id]
                ]
            }
        )
        for row in rows
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe to events",
    description="Registers a webhook endpoint for your institution. The URL must be "
    "https and resolve to public addresses. The signing secret is in this response "
    "only.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def create_subscription(
    body: SubscriptionCreate, db: DbDep, settings: SettingsDep, owner: OwnerDep
) -> SubscriptionWithSecret:
    issued = subscriptions.create(
        db,
        institution_id=owner.institution_id,
        url=body.url,
        event_types=body.event_types,
        format=body.format,
        settings=settings,
    )
    db.commit()
    return _with_secret(issued)


@router.get(
    "",
    summary="List your subscriptions",
    description="Your institution's subscriptions, disabled ones included; never "
    "their secrets.",
    responses=problem_responses(*AUTH_ERRORS),
)
def list_subscriptions(db: DbDep, owner: OwnerDep) -> list[SubscriptionPublic]:
    rows = subscriptions.list_owned(db, owner.institution_id)
    return [SubscriptionPublic.model_validate(row) for row in rows]


@router.get(
    "/{subscription_id}",
    summary="Read a subscription",
    description="One of your institution's subscriptions.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def get_subscription(
    subscription_id: uuid.UUID, db: DbDep, owner: OwnerDep
) -> SubscriptionPublic:
    subscription = subscriptions.get_owned(
        db, subscription_id, institution_id=owner.institution_id
    )
    return SubscriptionPublic.model_validate(subscription)


@router.delete(
    "/{subscription_id}",
    summary="Delete a subscription",
    description="Stops deliveries at once; pending ones are cancelled. Answers with "
    "the subscription as it was left; the delivery history stays readable by admins.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def delete_subscription(
    subscription_id: uuid.UUID, db: DbDep, owner: OwnerDep
) -> SubscriptionPublic:
    subscription = subscriptions.get_owned(
        db, subscription_id, institution_id=owner.institution_id
    )
    subscriptions.delete(db, subscription)
    db.commit()
    return SubscriptionPublic.model_validate(subscription)


@router.post(
    "/{subscription_id}/rotate",
    summary="Rotate the signing secret",
    description="Issues a new secret, shown in this response only. Deliveries carry "
    "signatures with both the new and the previous secret until "
    "`previous_secret_until`, so receivers can switch without losing any.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def rotate_secret(
    subscription_id: uuid.UUID, db: DbDep, settings: SettingsDep, owner: OwnerDep
) -> SubscriptionWithSecret:
    subscription = subscriptions.get_owned(
        db, subscription_id, institution_id=owner.institution_id
    )
    issued = subscriptions.rotate_secret(db, subscription, settings=settings)
    db.commit()
    return _with_secret(issued)


@router.get(
    "/{subscription_id}/deliveries",
    summary="List a subscription's deliveries",
    description="Newest first, each with its attempts: status code, latency, error.",
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def list_deliveries(
    subscription_id: uuid.UUID,
    db: DbDep,
    reader: ReaderDep,
    query: DeliveryListingDep,
) -> Page[DeliveryPublic]:
    subscriptions.get_owned(db, subscription_id, institution_id=reader.institution_id)
    return query.page(db, subscription_id)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    summary="Replay a delivery",
    description="Sends a finished delivery again, with the same `webhook-id`, from "
    "the start of the retry schedule.",
    responses=problem_responses(*AUTH_ERRORS, 404, 409),
)
def replay_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, db: DbDep, owner: OwnerDep
) -> DeliveryPublic:
    subscriptions.get_owned(db, subscription_id, institution_id=owner.institution_id)
    delivery = deliveries.get(db, delivery_id, subscription_id=subscription_id)
    delivery = deliveries.replay(db, delivery, now=utcnow())
    db.commit()
    return public_deliveries(db, [delivery])[0]


@router.post(
    "/{subscription_id}/deliveries/replay",
    summary="Replay failed deliveries",
    description="Replays every dead delivery of events since `since`.",
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def replay_failed(
    subscription_id: uuid.UUID, body: ReplaySince, db: DbDep, owner: OwnerDep
) -> ReplayCount:
    subscriptions.get_owned(db, subscription_id, institution_id=owner.institution_id)
    count = deliveries.replay_failed(
        db, since=body.since, now=utcnow(), subscription_id=subscription_id
    )
    db.commit()
    return ReplayCount(replayed=count)
