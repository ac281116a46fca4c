"""The transactional outbox: every event is written with the change that caused it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class Event(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("case_id", "case_seq"),)

    # The feed's order: assigned by the database at insert.
    # (SQLite only auto-increments a column declared INTEGER.)
    position: int | None = Field(
        default=None,
        sa_type=BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    type: str = Field(max_length=60, index=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    case_seq: int
    occurred_at: datetime = timestamp_field()
    # Thin on purpose: ids, types and statuses; never names or dates of birth.
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
