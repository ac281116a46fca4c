"""The child and the shared case, as every institution sees them on the wire."""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.codes import (
    CaseStatus,
    ConsentGiver,
    CountryCode,
    DepartmentCode,
    IdentifierType,
    LanguageCode,
    ProtectionStatus,
    RiskLevel,
    Role,
    Service,
    Sex,
    SubdivisionCode,
    VulnerabilityCategory,
)
from app.schemas.base import RequestModel, ResponseModel


class Identifier(RequestModel):
    type: IdentifierType
    value: str = Field(min_length=1, max_length=64)
    issuer: str | None = Field(
        default=None,
        max_length=64,
        description="Who issued it: a country code, an institution id or an office.",
    )


class Child(RequestModel):
    identifiers: list[Identifier] = Field(default_factory=list, max_length=20)
    given_names: str = Field(min_length=1, max_length=120)
    family_names: str = Field(min_length=1, max_length=120)
    sex: Sex = Field(description="ISO/IEC 5218: 0 not known, 1 male, 2 female, 9 n/a.")
    birth_date: date
    birth_date_estimated: bool = False
    nationality: CountryCode = Field(default="SV", description="ISO 3166-1 alpha-2.")
    mother_tongue: LanguageCode = Field(default="spa", description="ISO 639-3.")
    other_languages: list[LanguageCode] = Field(default_factory=list, max_length=10)
    interpreter_needed: bool = False
    indigenous_people: str | None = Field(default=None, max_length=120)
    disability: str | None = Field(
        default=None, max_length=500, description="A description, when there is one."
    )

    # A field validator, so the 422 points at /child/birth_date rather than /child.
    @field_validator("birth_date")
    @classmethod
    def _born_in_the_past(cls, birth_date: date) -> date:
        if birth_date > date.today():
            raise ValueError("birth_date is in the future")
        return birth_date


class ChildPublic(Child):
    id: UUID


class Location(RequestModel):
    """Where the child was located."""

    country: CountryCode
    subdivision: SubdivisionCode | None = Field(default=None, description="ISO 3166-2.")
    place: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _subdivision_in_country(self) -> "Location":
        if self.subdivision and not self.subdivision.startswith(f"{self.country}-"):
            raise ValueError(f"subdivision {self.subdivision} is not in {self.country}")
        return self


class Origin(RequestModel):
    """The child's community of origin in El Salvador."""

    department: DepartmentCode
    municipality: str | None = Field(default=None, max_length=120)


class FamilyContact(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=60)
    phone: str | None = Field(default=None, max_length=40)
    country: CountryCode | None = None
    address: str | None = Field(default=None, max_length=300)


class Consent(RequestModel):
    """Who consented, and to what; referrals are checked against it."""

    given_by: ConsentGiver
    given_at: datetime
    services: list[Service] = Field(default_factory=list)
    family_tracing: bool = False
    share_with_roles: list[Role] = Field(default_factory=list)


class CaseFields(RequestModel):
    vulnerabilities: list[VulnerabilityCategory] = Field(default_factory=list)
    protection_status: ProtectionStatus | None = None
    risk_level: RiskLevel | None = None
    location: Location | None = None
    origin: Origin | None = None
    family_contacts: list[FamilyContact] = Field(default_factory=list, max_length=20)
    consent: Consent | None = None


class CaseCreate(CaseFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "child": {
                        "identifiers": [{"type": "nui", "value": "05123456-7"}],
                        "given_names": "José Manuel",
                        "family_names": "Hernández López",
                        "sex": 1,
                        "birth_date": "2012-04-09",
                        "mother_tongue": "spa",
                    },
                    "vulnerabilities": ["unaccompanied"],
                    "protection_status": "unaccompanied",
                    "location": {"country": "MX", "subdivision": "MX-CHP"},
                    "origin": {"department": "SV-SM"},
                }
            ]
        }
    )

    child: Child
    lead_institution: str | None = Field(
        default=None,
        description="Institution id that leads the case; the registering one if "
        "omitted.",
    )


class CaseUpdate(RequestModel):
    """A partial update: only the fields present change (JSON merge-patch semantics)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"risk_level": "high", "status": "closed"}]}
    )

    child: Child | None = None
    vulnerabilities: list[VulnerabilityCategory] | None = None
    protection_status: ProtectionStatus | None = None
    risk_level: RiskLevel | None = None
    location: Location | None = None
    origin: Origin | None = None
    family_contacts: list[FamilyContact] | None = None
    consent: Consent | None = None
    status: CaseStatus | None = Field(
        default=None, description="Only `open` and `closed` may be set here."
    )


class CasePublic(ResponseModel):
    id: UUID
    status: CaseStatus
    child: ChildPublic
    lead_institution: str = Field(examples=["conapina"])
    registered_by: str = Field(examples=["consulado-tapachula"])
    vulnerabilities: list[VulnerabilityCategory]
    protection_status: ProtectionStatus | None
    risk_level: RiskLevel | None
    location: Location | None
    origin: Origin | None
    family_contacts: list[FamilyContact]
    consent: Consent | None
    merged_into: UUID | None = None
    created_at: datetime
    updated_at: datetime
    version: int = Field(examples=[3], description="The ETag, for If-Match.")


class ChildMatch(BaseModel):
    """How the hub recognised (or not) the child of a newly registered case."""

    linked: bool = Field(
        description="True when the child was already known to the hub."
    )
    matched_on: str | None = Field(
        default=None, description="`identifier` or `names_and_birth_date`."
    )


class CaseRegistered(CasePublic):
    child_match: ChildMatch


class LeadTransfer(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"to_institution": "conapina", "note": "Received at AIES"}]
        }
    )

    to_institution: str
    note: str | None = Field(default=None, max_length=500)


class TimelineEntry(ResponseModel):
    id: UUID
    case_id: UUID
    institution: str = Field(examples=["consulado-tapachula"])
    action: str = Field(examples=["case.lead_transferred"])
    note: str | None
    referral_id: UUID | None = None
    at: datetime
