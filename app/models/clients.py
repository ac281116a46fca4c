"""API clients: one institutional system's credentials."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class Client(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    institution_id: str = Field(foreign_key="institution.id", index=True, max_length=64)
    scopes: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    secret_hash: str = Field(max_length=255)
    created_at: datetime = timestamp_field()
    rotated_at: datetime | None = timestamp_field(optional=True)
    revoked_at: datetime | None = timestamp_field(optional=True)
    # Bumped on each rotation; tokens carry it, so older ones stop working at once.
    generation: int = 1
