"""The read audit: who was shown which records, one row per answered read."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class AuditEntry(SQLModel, table=True):
    """One read answered to an institution's client; written, never changed.

    NOTE: append-only by design: the code has no path that updates or deletes a row.
    A later issue chains the rows by hash to make tampering evident; it can add its
    columns (a sequence number, the previous and own hash) here without touching the
    ones below, which are all it needs to hash.
    """

    __tablename__ = "audit_entry"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = timestamp_field(index=True)
    request_id: str | None = Field(default=None, max_length=128)
    # No foreign key: the hub's own tooling reads as `cli:…`, which is no client.
    client_id: str = Field(max_length=64)
    institution_id: str = Field(foreign_key="institution.id", index=True, max_length=64)
    action: str = Field(max_length=40, index=True)
    resource_type: str = Field(max_length=40)
    # Ids only: for a listing, the ids it returned. Never a name or an identifier.
    resource_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Codes and flags only, such as the identifier type of a lookup and whether it
    # found someone; see app.services.audit for what may go here.
    detail: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
