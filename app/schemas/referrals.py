"""Referrals: one institution asks another for a service on a case."""

from datetime import date, datetime
from uuid import UUID

from pydantic import ConfigDict, Field

from app.codes import Priority, ReferralStatus, Service
from app.schemas.base import RequestModel, ResponseModel


class ConsentOverride(RequestModel):
    """The child-protection authority's decision to refer without consent."""

    legal_basis: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


class ReferralCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                    "service": "family_tracing",
                    "priority": "urgent",
                    "reason": "Unaccompanied; the mother may live in Usulután",
                    "due_date": "2026-12-10",
                }
            ]
        }
    )

    case_id: UUID
    to_institution: str | None = Field(
        default=None,
        description="Institution id; when omitted the hub routes by service.",
    )
    service: Service
    priority: Priority = Priority.ROUTINE
    reason: str = Field(min_length=1, max_length=1000)
    due_date: date | None = None
    consent_override: ConsentOverride | None = None


class ReferralTransition(RequestModel):
    """Move a referral to another status; see the state machine in the docs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "accepted"},
                {"status": "rejected", "reason": "Outside our competence"},
                {"status": "completed", "outcome": "Family located and assessed"},
            ]
        }
    )

    status: ReferralStatus
    reason: str | None = Field(default=None, max_length=1000)
    business_status: str | None = Field(default=None, max_length=120)
    outcome: str | None = Field(default=None, max_length=2000)


class ReferralPublic(ResponseModel):
    id: UUID
    case_id: UUID
    from_institution: str = Field(examples=["consulado-tapachula"])
    to_institution: str = Field(examples=["conapina"])
    service: Service
    priority: Priority
    reason: str
    due_date: date | None
    status: ReferralStatus
    status_reason: str | None
    business_status: str | None
    outcome: str | None
    consent_override: ConsentOverride | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(examples=[2], description="The ETag, for If-Match.")
