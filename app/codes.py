"""Code lists shared by the common schema and every adapter.

One place for each list, so an adapter maps *through* these and never invents its own
default: an unknown code is an error that names the allowed values.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache
from types import MappingProxyType
from typing import Annotated

import pycountry
from pydantic import AfterValidator, WithJsonSchema


class Role(StrEnum):
    """What an institution does in the hub; logic keys on roles, never on names."""

    MIGRATION = "migration"
    FOREIGN_AFFAIRS = "foreign_affairs"
    CONSULATE = "consulate"
    CHILD_PROTECTION = "child_protection"
    HEALTH = "health"
    IDENTITY_REGISTRY = "identity_registry"
    REGIONAL = "regional"
    LEGAL = "legal"


class VulnerabilityCategory(StrEnum):
    UNACCOMPANIED = "unaccompanied"
    SEPARATED = "separated"
    TRAFFICKING_VICTIM = "trafficking_victim"
    CRIME_VICTIM_ON_ROUTE = "crime_victim_on_route"
    INTERNATIONAL_PROTECTION = "international_protection"
    STATELESS_OR_UNDOCUMENTED = "stateless_or_undocumented"
    GBV_OR_SEXUAL_EXPLOITATION = "gbv_or_sexual_exploitation"
    PHYSICAL_OR_PSYCHOLOGICAL_ABUSE = "physical_or_psychological_abuse"
    CHILD_PARENT_OR_PREGNANT = "child_parent_or_pregnant"
    DISABILITY = "disability"
    SERIOUS_HEALTH_CONDITION = "serious_health_condition"
    PSYCHOSOCIAL_DISTRESS = "psychosocial_distress"
    CHILD_LABOUR = "child_labour"
    DETAINED = "detained"
    LANGUAGE_BARRIER_OR_INDIGENOUS = "language_barrier_or_indigenous"


class Service(StrEnum):
    PSYCHOSOCIAL_CARE = "psychosocial_care"
    MEDICAL_CARE = "medical_care"
    FAMILY_TRACING = "family_tracing"
    PSYCHOSOCIAL_STUDY = "psychosocial_study"
    LEGAL_REPRESENTATION = "legal_representation"
    DOCUMENTATION = "documentation"
    SHELTER = "shelter"
    REINTEGRATION = "reintegration"
    EDUCATION = "education"


class Sex(IntEnum):
    """ISO/IEC 5218."""

    NOT_KNOWN = 0
    MALE = 1
    FEMALE = 2
    NOT_APPLICABLE = 9


class IdentifierType(StrEnum):
    NUI = "nui"
    GUARDIAN_DUI = "guardian_dui"
    BIRTH_CERTIFICATE = "birth_certificate"
    PASSPORT = "passport"
    DGME_SII = "dgme_sii"
    CONSULAR_RECORD = "consular_record"


class ProtectionStatus(StrEnum):
    UNACCOMPANIED = "unaccompanied"
    SEPARATED = "separated"
    ACCOMPANIED = "accompanied"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class ConsentGiver(StrEnum):
    CHILD = "child"
    PARENT = "parent"
    GUARDIAN = "guardian"
    AUTHORITY = "authority"


class ReferralStatus(StrEnum):
    """HL7 FHIR ``Task.status`` codes, as used on the wire."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    """HL7 FHIR request priority codes."""

    ROUTINE = "routine"
    URGENT = "urgent"
    ASAP = "asap"
    STAT = "stat"


def check_country(code: str) -> str:
    """Accept an ISO 3166-1 alpha-2 country code, in any case."""
    if pycountry.countries.get(alpha_2=code.upper()) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code")
    return code.upper()


def check_subdivision(code: str) -> str:
    """Accept an ISO 3166-2 subdivision code such as SV-SS or MX-CHP."""
    lookup = pycountry.subdivisions.get  # not annotated by pycountry
    if lookup(code=code.upper()) is None:  # type: ignore[no-untyped-call]
        raise ValueError(f"'{code}' is not an ISO 3166-2 subdivision code")
    return code.upper()


def check_sv_department(code: str) -> str:
    """Accept one of El Salvador's 14 departments (SV-AH … SV-US)."""
    code = check_subdivision(code)
    if not code.startswith("SV-"):
        raise ValueError(f"'{code}' is not a department of El Salvador (SV-xx)")
    return code


def check_language(code: str) -> str:
    """Accept an ISO 639-3 language code such as spa, ppl or quc."""
    if pycountry.languages.get(alpha_3=code.lower()) is None:
        raise ValueError(f"'{code}' is not an ISO 639-3 language code")
    return code.lower()


def _documented(pattern: str, description: str) -> WithJsonSchema:
    """The code's shape for generated clients; the validators keep the human message."""
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description}
    )


CountryCode = Annotated[
    str,
    AfterValidator(check_country),
    _documented(r"^[A-Za-z]{2}$", "ISO 3166-1 alpha-2 country code"),
]
SubdivisionCode = Annotated[
    str,
    AfterValidator(check_subdivision),
    _documented(r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$", "ISO 3166-2 subdivision code"),
]
DepartmentCode = Annotated[
    str,
    AfterValidator(check_sv_department),
    _documented(r"^[Ss][Vv]-[A-Za-z]{2}$", "A department of El Salvador (SV-xx)"),
]
LanguageCode = Annotated[
    str,
    AfterValidator(check_language),
    _documented(r"^[A-Za-z]{3}$", "ISO 639-3 language code"),
]


class EntryKind(StrEnum):
    AIRPORT = "airport"
    LAND_BORDER = "land_border"


@dataclass(frozen=True, slots=True)
class PointOfEntry:
    """A post where DGME receives returned children; `code` is what DGME records."""

    code: str
    name: str
    kind: EntryKind
    department: str
    neighbour: str | None = None


# NOTE: data, not logic. Opening or renaming a post is one line here; adapters look
# posts up by code or by name and never test for a particular one.
POINTS_OF_ENTRY: tuple[PointOfEntry, ...] = (
    PointOfEntry(
        "AIES",
        "Aeropuerto Internacional de El Salvador San Óscar Arnulfo Romero y Galdámez",
        EntryKind.AIRPORT,
        "SV-PA",
    ),
    PointOfEntry("LA_HACHADURA", "La Hachadura", EntryKind.LAND_BORDER, "SV-AH", "GT"),
    PointOfEntry("LAS_CHINAMAS", "Las Chinamas", EntryKind.LAND_BORDER, "SV-AH", "GT"),
    PointOfEntry(
        "SAN_CRISTOBAL", "San Cristóbal", EntryKind.LAND_BORDER, "SV-SA", "GT"
    ),
    PointOfEntry("ANGUIATU", "Anguiatú", EntryKind.LAND_BORDER, "SV-SA", "GT"),
    PointOfEntry("EL_POY", "El Poy", EntryKind.LAND_BORDER, "SV-CH", "HN"),
    PointOfEntry("EL_AMATILLO", "El Amatillo", EntryKind.LAND_BORDER, "SV-UN", "HN"),
)


def point_of_entry(code: str) -> PointOfEntry:
    """The post with this code; the error lists the known codes."""
    for post in POINTS_OF_ENTRY:
        if post.code == code:
            return post
    known = ", ".join(post.code for post in POINTS_OF_ENTRY)
    raise ValueError(f"'{code}' is not a known point of entry; expected one of {known}")


@cache
def sv_departments() -> Mapping[str, str]:
    """El Salvador's departments as {ISO 3166-2 code: Spanish name}, from pycountry."""
    lookup = pycountry.subdivisions.get
    subdivisions = lookup(country_code="SV") or []  # type: ignore[no-untyped-call]
    names = {sub.code: sub.name for sub in sorted(subdivisions, key=lambda s: s.code)}
    return MappingProxyType(names)


def iso639_3_to_bcp47(code: str) -> str:
    """The shortest BCP 47 tag of an ISO 639-3 language: `es` for spa, `ppl` for ppl."""
    language = pycountry.languages.get(alpha_3=check_language(code))
    return str(getattr(language, "alpha_2", None) or code)


def bcp47_to_iso639_3(tag: str) -> str:
    """The ISO 639-3 code of a BCP 47 primary language tag (`es-SV` gives spa)."""
    primary = tag.split("-")[0].lower()
    field = "alpha_2" if len(primary) == 2 else "alpha_3"
    language = pycountry.languages.get(**{field: primary})
    if language is None:
        raise ValueError(f"'{tag}' is not a BCP 47 language tag of a known language")
    return str(language.alpha_3)
