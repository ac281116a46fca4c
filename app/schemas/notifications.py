"""Wire format of subscriptions, deliveries and the event feed."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints

from app.schemas.base import RequestModel, ResponseModel

EventTypeFilter = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z_]+\.([a-z_]+|\*)$", max_length=60),
]


class SubscriptionCreate(RequestModel):
    url: str = Field(
        max_length=2000,
        description="https; http only for a loopback host in development mode.",
        examples=["https://sii.dgme.gob.sv/webhooks/puente"],
    )
    event_types: list[EventTypeFilter] = Field(
        default_factory=list,
        max_length=50,
        description="Types to receive, such as `referral.accepted` or `referral.*`; "
        "empty for every type.",
    )
    format: str = Field(
        default="common",
        max_length=32,
        description="`common`, or the name of an adapter (see `GET /v1/adapters`).",
    )


class SubscriptionPublic(ResponseModel):
    id: uuid.UUID
    institution_id: str = Field(examples=["dgme"])
    url: str = Field(examples=["https://sii.dgme.gob.sv/webhooks/puente"])
    event_types: list[str]
    format: str
    active: bool
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        description="Until when the previous secret still signs, after a rotation."
    )
    created_at: datetime
    updated_at: datetime


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(
        description="The `whsec_…` signing secret. Shown in this response only.",
    )


class AttemptPublic(ResponseModel):
    number: int
    at: datetime
    outcome: str = Field(
        description="`delivered`, `retry`, `gone`, `refused` (URL policy), `sending` "
        "or `lost` (the worker stopped before recording the answer)."
    )
    status_code: int | None
    latency_ms: float | None
    error: str | None


class DeliveryPublic(ResponseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header.")
    case_id: uuid.UUID
    case_seq: int
    status: str = Field(
        description="`pending`, `delivered`, `dead` or `cancelled`.",
        examples=["dead"],
    )
    attempts: int = Field(description="Attempts since the delivery (re)started.")
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_history: list[AttemptPublic] = Field(default_factory=list)


class ReplaySince(RequestModel):
    since: AwareDatetime = Field(
        description="Replay dead deliveries of events from this time on."
    )


class ReplayCount(ResponseModel):
    replayed: int = Field(examples=[12])


class EventPublic(ResponseModel):
    id: uuid.UUID
    type: str = Field(examples=["referral.accepted"])
    case_id: uuid.UUID
    case_seq: int
    occurred_at: datetime
    payload: dict[str, Any]


class FeedPage(ResponseModel):
    events: list[EventPublic]
    cursor: str = Field(
        description="Pass as `after` to continue; the same cursor when nothing new.",
        examples=["1042"],
    )
