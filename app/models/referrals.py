"""Referrals between institutions, and the data-driven routing rules."""

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class Referral(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    from_institution_id: str = Field(foreign_key="institution.id", index=True)
    to_institution_id: str = Field(foreign_key="institution.id", index=True)
    service: str = Field(sa_type=String(32))
    priority: str = Field(default="routine", sa_type=String(16))
    reason: str = Field(max_length=1000)
    due_date: date | None = Field(default=None, index=True)
    status: str = Field(default="requested", sa_type=String(16), index=True)
    status_reason: str | None = Field(default=None, max_length=1000)
    business_status: str | None = Field(default=None, max_length=120)
    outcome: str | None = Field(default=None, max_length=2000)
    consent_override: dict[str, str] | None = Field(
        default=None, sa_column=Column(JSON)
    )
    created_by_client_id: str = Field(max_length=64)
    # When `referral.overdue` was announced; at most once per referral.
    overdue_notified_at: datetime | None = timestamp_field(optional=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    version: int = 1


class RoutingRule(SQLModel, table=True):
    """Which institution is competent for a service (data, loaded from the seed).

    A rule may be narrowed to an ISO 3166-2 subdivision (a consulate's
    circumscription); the most specific matching rule wins, then the lowest rank.
    """

    __tablename__ = "routing_rule"

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(sa_type=String(32), index=True)
    institution_id: str = Field(foreign_key="institution.id")
    subdivision: str | None = Field(default=None, max_length=6)
    rank: int = 0
