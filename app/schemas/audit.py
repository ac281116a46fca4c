"""Wire format of the read audit, as administrators see it."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.base import ResponseModel


class AuditEntryPublic(ResponseModel):
    id: uuid.UUID
    at: datetime = Field(examples=["2026-12-03T18:17:33.394955Z"])
    request_id: str | None = Field(
        description="The request's `X-Request-ID`; null for the hub's own tooling.",
        examples=["9b2f0c1e7d3a4b6c8e1f2a3b4c5d6e7f"],
    )
    client_id: str = Field(examples=["dgme-sii"])
    institution_id: str = Field(examples=["dgme"])
    action: str = Field(
        description="What was read: `case.read`, `case.list`, `case.timeline`, "
        "`case.native_read`, `referral.read`, `referral.list`, "
        "`referral.native_read` or `identity.lookup`.",
        examples=["case.read"],
    )
    resource_type: str = Field(examples=["case"])
    resource_ids: list[str] = Field(
        description="The ids shown; for a listing, every id on the page returned.",
        examples=[["0b6c1f8e-3f57-4b8e-9a43-5d7a2f1c9e10"]],
    )
    detail: dict[str, Any] = Field(
        description="Codes and flags only, such as `format` for a native read, or "
        "`identifier_type` and `found` for an identity lookup.",
        examples=[{"format": "dgme"}],
    )
