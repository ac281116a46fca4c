"""Primero v2: the `data` object of a case in `/api/v2/cases`, as CONAPINA runs it.

Field names and lookup values are Primero's (`name_first`, `sex`, `date_of_birth`,
`protection_concerns` from `lookup-protection-concerns`, ...). Fields of a Primero case
that the hub does not exchange are ignored: a real case carries dozens.

Protection concerns. Each vulnerability category has exactly one concern id, so a case
renders back the way it came. Where Primero's default lookup has an id we use it; the
deployment adds `unaccompanied`, `separated`, `crime_victim_on_route` and
`language_barrier_indigenous` (Primero lookups are editable). Two more ids are read but
never written: `gbv_survivor` (folded into `sexually_exploited`'s category) and the
default ids with no category at all (`migrant`, every child in the hub is one;
`caafag`, `street_child`, `child_headed_household`, `living_with_vulnerable_person`,
`other`), which are dropped rather than refused so that a case carrying them still
reaches the hub. Any other id is an error listing the accepted ones.

Age. `date_of_birth` wins when both it and `age` are sent; with `age` alone the birth
date is estimated as that many years before today and flagged `estimated`.

Events (`render_event`) read like a Primero record change: `event_id`, `event_type`,
`record_type` ("case"), `record_id` (the hub's case id), `sequence`, then the event's
thin fields in Primero's words (`EVENT_KEYS`): the lead institution is
`owned_by_agency_id` (after a transfer, `previous_owned_by_agency_id` too), a
referral's institutions are `transitioned_by_agency` and `transitioned_to_agency`.
`status` keeps the hub's code (case `open`/`closed` as in Primero; referral FHIR Task
codes), and a referral event adds `transition_status`, the status of a Primero
referral transition (`TRANSITION_STATUSES`); `failed` has none and sends no
`transition_status`.
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from app.adapters.base import CaseAdapter, EventView
from app.codes import (
    CountryCode,
    IdentifierType,
    LanguageCode,
    ProtectionStatus,
    RiskLevel,
    Role,
    Sex,
    SubdivisionCode,
    VulnerabilityCategory,
)
from app.schemas.cases import CaseCreate, CasePublic, Child, Identifier, Location

V = VulnerabilityCategory
CONCERNS: dict[str, VulnerabilityCategory] = {
    "unaccompanied": V.UNACCOMPANIED,
    "separated": V.SEPARATED,
    "trafficked_smuggled": V.TRAFFICKING_VICTIM,
    "crime_victim_on_route": V.CRIME_VICTIM_ON_ROUTE,
    "refugee": V.INTERNATIONAL_PROTECTION,
    "statelessness": V.STATELESS_OR_UNDOCUMENTED,
    "sexually_exploited": V.GBV_OR_SEXUAL_EXPLOITATION,
    "physically_or_mentally_abused": V.PHYSICAL_OR_PSYCHOLOGICAL_ABUSE,
    "child_mother": V.CHILD_PARENT_OR_PREGNANT,
    "disabled": V.DISABILITY,
    "serious_health_issue": V.SERIOUS_HEALTH_CONDITION,
    "mentally_distressed": V.PSYCHOSOCIAL_DISTRESS,
    "worst_forms_of_child_labor": V.CHILD_LABOUR,
    "arrested_detained": V.DETAINED,
    "language_barrier_indigenous": V.LANGUAGE_BARRIER_OR_INDIGENOUS,
}
CONCERN_OF_CATEGORY = {category: concern for concern, category in CONCERNS.items()}
READ_ONLY_CONCERNS = {"gbv_survivor": V.GBV_OR_SEXUAL_EXPLOITATION}
DROPPED_CONCERNS = frozenset(
    {
        "migrant",
        "caafag",
        "street_child",
        "child_headed_household",
        "living_with_vulnerable_person",
        "other",
    }
)

SEXES: dict[str, Sex] = {
    "male": Sex.MALE,
    "female": Sex.FEMALE,
    "unknown": Sex.NOT_KNOWN,
}
# ISO 5218's "not applicable" has no Primero value; "unknown" is the closest honest one.
SEX_OF = {Sex.MALE: "male", Sex.FEMALE: "female"}
RISK_LEVELS = {level.value: level for level in RiskLevel}

EVENT_KEYS = {
    "lead_institution": "owned_by_agency_id",
    "from": "previous_owned_by_agency_id",
    "to": "owned_by_agency_id",
    "from_institution": "transitioned_by_agency",
    "to_institution": "transitioned_to_agency",
    # A dead-letter notice names another event; the record's own ids keep their keys.
    "event_id": "failed_event_id",
    "event_type": "failed_event_type",
}
# A referral's FHIR Task status -> Primero's transition status (in_progress awaits an
# answer, accepted is being served, done is finished, revoked was withdrawn).
TRANSITION_STATUSES = {
    "requested": "in_progress",
    "received": "in_progress",
    "accepted": "accepted",
    "in-progress": "accepted",
    "on-hold": "accepted",
    "rejected": "rejected",
    "completed": "done",
    "cancelled": "revoked",
}


def _check_concern(concern: str) -> str:
    known = {*CONCERNS, *READ_ONLY_CONCERNS, *DROPPED_CONCERNS}
    if concern not in known:
        allowed = ", ".join(sorted(known))
        raise ValueError(f"'{concern}' is not a protection concern; allowed: {allowed}")
    return concern


class PrimeroCase(BaseModel):
    """The `data` object of a Primero v2 case, limited to what the hub exchanges."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name_first: str = Field(min_length=1, max_length=120)
    name_last: str = Field(min_length=1, max_length=120)
    sex: Literal["male", "female", "unknown"] = "unknown"
    date_of_birth: date | None = None
    # validate_default: the check that age or date_of_birth is there runs on absence.
    age: int | None = Field(default=None, ge=0, le=25, validate_default=True)
    estimated: bool = False
    national_id_no: str | None = Field(default=None, min_length=1, max_length=64)
    nationality: list[CountryCode] = Field(default_factory=list)
    language: list[LanguageCode] = Field(default_factory=list, max_length=11)
    location_current: SubdivisionCode | None = None
    protection_status: Literal["unaccompanied", "separated"] | None = None
    protection_concerns: list[Annotated[str, AfterValidator(_check_concern)]] = Field(
        default_factory=list
    )
    risk_level: Literal["high", "medium", "low"] | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _born_in_the_past(cls, value: date | None) -> date | None:
        if value and value > date.today():
            raise ValueError(f"the date {value.isoformat()} is in the future")
        return value

    @field_validator("age", mode="after")
    @classmethod
    def _age_or_birth_date(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and info.data.get("date_of_birth") is None:
            raise ValueError("send date_of_birth, or age when the date is not known")
        return value


class PrimeroAdapter(CaseAdapter[PrimeroCase]):
    name = "primero"
    version = "2.0"
    institution_role = Role.CHILD_PROTECTION
    native_model = PrimeroCase
    native_pointers = {
        "Child.given_names": "/name_first",
        "Child.family_names": "/name_last",
        "Child.birth_date": "/date_of_birth",
        "Identifier": "/national_id_no",
        "Location": "/location_current",
    }

    def __init__(self, today: Callable[[], date] = date.today) -> None:
        # Injected so that `age` is reproducible in tests.
        self._today = today

    def map_to_common(self, native: PrimeroCase) -> CaseCreate:
        return CaseCreate(
            child=self._child(native),
            vulnerabilities=_categories(native.protection_concerns),
            protection_status=_protection_status(native.protection_status),
            risk_level=RISK_LEVELS.get(native.risk_level or ""),
            location=_location(native.location_current),
        )

    def from_common(self, case: CasePublic) -> dict[str, Any]:
        child = case.child
        return {
            "name_first": child.given_names,
            "name_last": child.family_names,
            "sex": SEX_OF.get(child.sex, "unknown"),
            "date_of_birth": child.birth_date.isoformat(),
            "age": _years_between(child.birth_date, self._today()),
            "estimated": child.birth_date_estimated,
            "national_id_no": _nui(child.identifiers),
            "nationality": [child.nationality],
            "language": [child.mother_tongue, *child.other_languages],
            "location_current": _location_code(case.location),
            "protection_status": _status_value(case.protection_status),
            "protection_concerns": [
                CONCERN_OF_CATEGORY[v] for v in case.vulnerabilities
            ],
            "risk_level": case.risk_level.value if case.risk_level else None,
        }

    def render_event(self, event: EventView) -> dict[str, Any]:
        # The payload repeats case_id; record_id already says it.
        fields = {
            EVENT_KEYS.get(key, key): value
            for key, value in event.payload.items()
            if key != "case_id"
        }
        status = fields.get("status")
        if event.type.startswith("referral.") and status in TRANSITION_STATUSES:
            fields["transition_status"] = TRANSITION_STATUSES[status]
        return {
            **fields,
            "event_id": str(event.id),
            "event_type": event.type,
            "record_type": "case",
            "record_id": str(event.case_id),
            "sequence": event.case_seq,
        }

    def _child(self, native: PrimeroCase) -> Child:
        birth_date, estimated = self._birth_date(native)
        languages = native.language or ["spa"]
        return Child(
            identifiers=_identifiers(native.national_id_no),
            given_names=native.name_first,
            family_names=native.name_last,
            sex=SEXES[native.sex],
            birth_date=birth_date,
            birth_date_estimated=estimated,
            nationality=native.nationality[0] if native.nationality else "SV",
            mother_tongue=languages[0],
            other_languages=languages[1:],
        )

    def _birth_date(self, native: PrimeroCase) -> tuple[date, bool]:
        if native.date_of_birth is not None:
            return native.date_of_birth, native.estimated
        # The validator guarantees an age when there is no date.
        return _years_before(self._today(), native.age or 0), True


def _categories(concerns: list[str]) -> list[VulnerabilityCategory]:
    mapping = {**CONCERNS, **READ_ONLY_CONCERNS}
    found = [mapping[c] for c in concerns if c in mapping]
    # Two concerns may share a category (gbv_survivor, sexually_exploited).
    return list(dict.fromkeys(found))


def _protection_status(value: str | None) -> ProtectionStatus | None:
    return ProtectionStatus(value) if value else None


def _status_value(status: ProtectionStatus | None) -> str | None:
    # Primero's lookup has no "accompanied": such a child has no protection status.
    if status is None or status is ProtectionStatus.ACCOMPANIED:
        return None
    return status.value


def _identifiers(national_id_no: str | None) -> list[Identifier]:
    if national_id_no is None:
        return []
    return [Identifier(type=IdentifierType.NUI, value=national_id_no)]


def _nui(identifiers: list[Identifier]) -> str | None:
    return next((i.value for i in identifiers if i.type == IdentifierType.NUI), None)


def _location(code: str | None) -> Location | None:
    if code is None:
        return None
    return Location(country=code.split("-")[0], subdivision=code)


def _location_code(location: Location | None) -> str | None:
    # Primero locations are subdivisions; a case located only by country has none.
    return location.subdivision if location else None


def _years_between(born: date, today: date) -> int:
    had_birthday = (today.month, today.day) >= (born.month, born.day)
    return today.year - born.year - (0 if had_birthday else 1)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)
