"""Webhook subscriptions, their deliveries and every attempt, and restricted events.

Subscription          an institution's endpoint; the signing secret kept encrypted
 └── Delivery         one event for one subscription: pending → delivered | dead
      └── DeliveryAttempt   one row per POST, kept for the owner and the admins
EventRestriction      narrows an event to some institutions (dead-letter notices)
"""

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field

# Delivery statuses. `cancelled` is for deliveries whose subscription was disabled
# (410 Gone) or deleted before they went out.
PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
CANCELLED = "cancelled"


class Subscription(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: str = Field(foreign_key="institution.id", index=True)
    url: str = Field(max_length=2000)
    # Empty means every event type the institution may see.
    event_types: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    format: str = Field(default="common", sa_type=String(32))
    # Fernet tokens (app.services.secretbox): a database dump alone cannot sign.
    secret_encrypted: str = Field(sa_type=String(500))
    previous_secret_encrypted: str | None = Field(default=None, sa_type=String(500))
    previous_secret_until: datetime | None = timestamp_field(optional=True)
    active: bool = Field(default=True, index=True)
    disabled_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    deleted_at: datetime | None = timestamp_field(optional=True)


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("subscription_id", "event_position"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="subscription.id", index=True)
    event_position: int = Field(
        sa_type=BigInteger().with_variant(Integer, "sqlite"),
        foreign_key="event.position",
        index=True,
    )
    # Copied from the event so the worker's per-case ordering needs no join.
    event_id: uuid.UUID
    case_id: uuid.UUID = Field(index=True)
    case_seq: int
    status: str = Field(default=PENDING, sa_type=String(16), index=True)
    # Attempts in the current round; a replay starts a new round from zero.
    attempts: int = 0
    next_attempt_at: datetime = timestamp_field(index=True)
    # The lease: a worker owns the delivery until `locked_until`, then anyone may.
    locked_by: str | None = Field(default=None, max_length=100)
    locked_until: datetime | None = timestamp_field(optional=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = timestamp_field(optional=True)
    created_at: datetime = timestamp_field(index=True)
    updated_at: datetime = timestamp_field()


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", index=True)
    number: int
    worker: str = Field(max_length=100)
    at: datetime = timestamp_field()
    # `sending` until the worker records the answer; `lost` if it never did.
    outcome: str = Field(default="sending", sa_type=String(16))
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = Field(default=None, max_length=300)


class EventRestriction(SQLModel, table=True):
    """An event with rows here reaches only these institutions (and only if they may
    see its case); an event without rows reaches everyone who may see its case."""

    __tablename__ = "event_restriction"

    event_position: int = Field(
        sa_type=BigInteger().with_variant(Integer, "sqlite"),
        foreign_key="event.position",
        primary_key=True,
    )
    institution_id: str = Field(foreign_key="institution.id", primary_key=True)
