"""Idempotency keys: a retried create replays its first response."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    client_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    request_hash: str = Field(max_length=64)
    # None while the first request is still running.
    response_status: int | None = None
    response_body: Any = Field(default=None, sa_column=Column(JSON))
    response_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field(index=True)
