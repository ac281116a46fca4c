"""Institutions are data, seeded from `app/seed/institutions.json` and editable."""

from datetime import datetime

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from app.codes import Role
from app.models.types import timestamp_field


class Institution(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    acronym: str = Field(max_length=32)
    role: Role = Field(sa_type=String(32), index=True)
    country: str = Field(default="SV", max_length=2)
    # ISO 3166-2 subdivisions a consulate covers; empty for national bodies.
    circumscription: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    active: bool = True
    created_at: datetime = timestamp_field()
