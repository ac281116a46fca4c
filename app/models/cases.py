"""The child, the shared case, who may see it, and what each institution did on it."""

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import timestamp_field


class Child(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    given_names: str = Field(max_length=120)
    family_names: str = Field(max_length=120)
    # Names folded (lower case, no accents, single spaces) and the birth date: how the
    # hub recognises a child registered by another institution without an identifier.
    match_key: str = Field(max_length=300, index=True)
    sex: int
    birth_date: date
    birth_date_estimated: bool = False
    nationality: str = Field(max_length=2)
    mother_tongue: str = Field(max_length=3)
    other_languages: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    interpreter_needed: bool = False
    indigenous_people: str | None = Field(default=None, max_length=120)
    disability: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ChildIdentifier(SQLModel, table=True):
    __tablename__ = "child_identifier"
    __table_args__ = (UniqueConstraint("type", "value", "issuer"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    type: str = Field(max_length=32)
    value: str = Field(max_length=64)
    # Empty rather than null, so the unique constraint holds on every database.
    issuer: str = Field(default="", max_length=64)


class Case(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    status: str = Field(default="open", sa_type=String(16), index=True)
    lead_institution_id: str = Field(foreign_key="institution.id", index=True)
    registered_by_id: str = Field(foreign_key="institution.id")
    protection_status: str | None = Field(default=None, sa_type=String(16))
    risk_level: str | None = Field(default=None, sa_type=String(16))
    location: dict[str, str | None] | None = Field(default=None, sa_column=Column(JSON))
    origin_department: str | None = Field(default=None, max_length=6, index=True)
    origin_municipality: str | None = Field(default=None, max_length=120)
    family_contacts: list[dict[str, str | None]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    consent: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    merged_into_id: uuid.UUID | None = Field(default=None, foreign_key="case.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(index=True)
    # Optimistic concurrency: the ETag of the case; bumped on every change.
    version: int = 1
    # The sequence number of the case's last event (see app.services.events).
    event_seq: int = 0


class CaseVulnerability(SQLModel, table=True):
    __tablename__ = "case_vulnerability"

    case_id: uuid.UUID = Field(foreign_key="case.id", primary_key=True)
    category: str = Field(max_length=40, primary_key=True, index=True)


class CaseAccess(SQLModel, table=True):
    """Why an institution may see a case: it registered, leads, or holds a referral.

    The one place the visibility rule lives: reads, listings, the event feed and
    webhook fan-out all ask this table.
    """

    __tablename__ = "case_access"

    case_id: uuid.UUID = Field(foreign_key="case.id", primary_key=True)
    institution_id: str = Field(
        foreign_key="institution.id", primary_key=True, index=True
    )
    reason: str = Field(max_length=16, primary_key=True)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    institution_id: str = Field(foreign_key="institution.id")
    client_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=60)
    note: str | None = Field(default=None, max_length=1000)
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referral.id")
    at: datetime = timestamp_field(index=True)
