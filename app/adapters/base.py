"""The contract every institution adapter fulfils, and the translation of its errors.

    CaseAdapter         a native case record  <->  CaseCreate / CasePublic
     ├── DgmeAdapter        migration: SII flat record
     ├── RreeAdapter        consulates: consular registry record
     └── PrimeroAdapter     child protection: Primero v2 case `data`
    ReferralAdapter     a native referral     <->  InboundReferral / ReferralPublic
     └── MinsalAdapter      health: HL7 FHIR R4 Bundle

Adapters only map: no HTTP framework, no database. A native record that does not
map raises `InvalidInput` whose pointers name the institution's own fields: whoever
sent `/fecha_nacimiento` reads `/fecha_nacimiento` back, not `/child/birth_date`.

Events go one way only: `render_event` gives a webhook's `data` in the format a
subscription chose. Every adapter renders the same thin content (ids, types,
statuses) in its own words; the default is the common data.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError

from app.codes import Priority, ReferralStatus, Role, Service
from app.errors import InvalidInput
from app.schemas.base import RequestModel
from app.schemas.cases import CaseCreate, CasePublic, Child, ChildPublic
from app.schemas.referrals import ReferralCreate, ReferralPublic, ReferralTransition

NativeT = TypeVar("NativeT", bound=BaseModel)

# pydantic prefixes the message of a ValueError raised in a validator; the integrator
# only needs the sentence we wrote.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    """What `GET /v1/adapters` shows about one adapter."""

    name: str
    version: str
    kind: str
    institution_role: Role
    native_schema: dict[str, Any]
    not_carried: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventView:
    """An event of the outbox as adapters see it: they may not import the models."""

    id: UUID
    type: str
    occurred_at: datetime
    case_id: UUID
    case_seq: int
    # Thin on purpose: ids, types and statuses; never names or dates of birth.
    payload: Mapping[str, Any]


class ReferralDraft(RequestModel):
    """A referral as an institution sends it, before the hub has matched its case."""

    to_institution: str | None = None
    service: Service
    priority: Priority = Priority.ROUTINE
    reason: str = Field(min_length=1, max_length=1000)
    due_date: date | None = None

    def for_case(self, case_id: UUID) -> ReferralCreate:
        """The common-schema request once the hub knows which case this is."""
        return ReferralCreate(case_id=case_id, **self.model_dump())


class InboundReferral(BaseModel):
    """A referral received from an institution, with the child it is about.

    `referral_id` and `case_id` are set when the institution answers about a referral
    the hub sent it (a status update); a new referral has neither.
    """

    child: Child
    referral: ReferralDraft
    status: ReferralStatus = ReferralStatus.REQUESTED
    status_reason: str | None = None
    business_status: str | None = None
    outcome: str | None = None
    referral_id: UUID | None = None
    case_id: UUID | None = None


class _Adapter(ABC, Generic[NativeT]):
    name: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[str]
    institution_role: ClassVar[Role]
    native_model: type[NativeT]
    # Native fields the common schema v1 has no place for: accepted, not kept, and
    # rendered empty on the way out. Listed so integrators are told, not surprised.
    not_carried: ClassVar[tuple[str, ...]] = ()
    # "Model.field" of the common schema -> native pointer, for a value the native
    # model accepted but the common schema refused (a name over 120 characters).
    native_pointers: ClassVar[Mapping[str, str]] = {}

    def describe(self) -> AdapterInfo:
        """Name, version and native JSON Schema, for discovery."""
        return AdapterInfo(
            name=self.name,
            version=self.version,
            kind=self.kind,
            institution_role=self.institution_role,
            native_schema=self.native_model.model_json_schema(),
            not_carried=self.not_carried,
        )

    def parse(self, record: Mapping[str, Any]) -> NativeT:
        """Validate a native record; errors point at the native fields."""
        try:
            return self.native_model.model_validate(record)
        except ValidationError as exc:
            raise native_problem(exc, self.name) from exc

    def common_problem(self, exc: ValidationError) -> InvalidInput:
        """Translate a common-schema error back to the native field it came from."""
        errors = [
            {
                "pointer": self._native_pointer(exc.title, err["loc"]),
                "detail": _message(err),
            }
            for err in exc.errors()
        ]
        return InvalidInput(f"The {self.name} record does not map to a case", errors)

    def render_event(self, event: EventView) -> dict[str, Any]:
        """Render an event in this institution's vocabulary, for a webhook's `data`.

        The default is the common data. An override renames and recodes the same
        thin fields; it never adds case details, which receivers fetch themselves.

        Args:
            event: the event as recorded in the outbox.

        Returns:
            The webhook's `data`, JSON-ready.
        """
        return common_event_data(event)

    def _native_pointer(self, model: str, loc: tuple[int | str, ...]) -> str:
        path = model + "." + "/".join(str(part) for part in loc)
        # The longest declared prefix wins: Child.identifiers/0 before Child.
        for prefix in sorted(self.native_pointers, key=len, reverse=True):
            if path == prefix or path.startswith((prefix + "/", prefix + ".")):
                return self.native_pointers[prefix]
        return ""


class CaseAdapter(_Adapter[NativeT]):
    """Maps one institution's case record to the common schema and back."""

    kind = "case"

    def to_common(self, record: Mapping[str, Any]) -> CaseCreate:
        """Map a native record to a case the hub can register.

        Args:
            record: the institution's record, as decoded from JSON.

        Returns:
            The case in the common schema v1.

        Raises:
            InvalidInput: the record does not map; pointers name native fields.
        """
        native = self.parse(record)
        try:
            return self.map_to_common(native)
        except ValidationError as exc:
            raise self.common_problem(exc) from exc

    @abstractmethod
    def map_to_common(self, native: NativeT) -> CaseCreate:
        """Map an already validated native record.

        Args:
            native: an instance of `native_model`.

        Returns:
            The case in the common schema v1.
        """

    @abstractmethod
    def from_common(self, case: CasePublic) -> dict[str, Any]:
        """Render a case in the institution's native format.

        Args:
            case: a case as the hub stores it.

        Returns:
            The native record, JSON-ready; fields the case does not have are null.
        """


class ReferralAdapter(_Adapter[NativeT]):
    """Maps an institution that exchanges referrals, not cases (MINSAL)."""

    kind = "referral"

    def to_common(self, record: Mapping[str, Any]) -> InboundReferral:
        """Map a native referral message to the child and the referral it carries.

        Args:
            record: the institution's message, as decoded from JSON.

        Returns:
            The child, the referral draft and, for an update, its status and ids.

        Raises:
            InvalidInput: the message does not map; pointers name native paths.
        """
        native = self.parse(record)
        try:
            return self.map_to_common(native)
        except ValidationError as exc:
            raise self.common_problem(exc) from exc

    @abstractmethod
    def map_to_common(self, native: NativeT) -> InboundReferral:
        """Map an already validated native message.

        Args:
            native: an instance of `native_model`.

        Returns:
            The child and the referral it carries.
        """

    @abstractmethod
    def from_common(
        self, referral: ReferralPublic, child: ChildPublic
    ) -> dict[str, Any]:
        """Render a referral, and the child it is about, in the native format.

        Args:
            referral: the referral as the hub stores it.
            child: the child of the referral's case.

        Returns:
            The native message, JSON-ready.
        """

    @abstractmethod
    def update_to_common(self, record: Mapping[str, Any]) -> ReferralTransition:
        """Map a native status update on a referral the hub already has.

        Args:
            record: the institution's update, as decoded from JSON.

        Returns:
            The status to move to, with its reason, business status and outcome.

        Raises:
            InvalidInput: the update does not map; pointers name native paths.
        """

    @abstractmethod
    def update_from_common(self, referral: ReferralPublic) -> dict[str, Any]:
        """Render a referral's status as the answer to a native status update.

        Args:
            referral: the referral as the hub stores it, after the update.

        Returns:
            The native status record, JSON-ready, without the child's details.
        """


def native_problem(exc: ValidationError, adapter: str) -> InvalidInput:
    """An `InvalidInput` whose pointers are the native locations pydantic reported."""
    errors = [
        {"pointer": json_pointer(err["loc"]), "detail": _message(err)}
        for err in exc.errors()
    ]
    return InvalidInput(f"The {adapter} record has invalid fields", errors)


def json_pointer(loc: tuple[int | str, ...]) -> str:
    """RFC 6901 pointer for a pydantic error location."""
    parts = (str(part).replace("~", "~0").replace("/", "~1") for part in loc)
    return "".join("/" + part for part in parts)


def _message(err: Any) -> str:
    message = str(err["msg"])
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message


# The thin fields of events in Spanish, shared by the government's own systems (the
# SII of DGME, the consular registry of RREE). Keys not listed travel unchanged.
EVENT_KEYS_ES: Mapping[str, str] = {
    "child_id": "id_nna",
    "lead_institution": "institucion_lider",
    "status": "estado",
    "previous_status": "estado_anterior",
    "changed": "campos_modificados",
    "version": "version",
    "from": "institucion_anterior",
    "to": "institucion_nueva",
    "referral_id": "id_referencia",
    "service": "servicio",
    "from_institution": "institucion_origen",
    "to_institution": "institucion_destino",
    "due_date": "fecha_limite",
    "delivery_id": "id_entrega",
    "subscription_id": "id_suscripcion",
    "event_id": "id_evento_original",
    "event_type": "tipo_evento_original",
}


def common_event_data(event: EventView) -> dict[str, Any]:
    """The `data` of a webhook in the common format: the event as recorded."""
    return {
        "id": str(event.id),
        "case_id": str(event.case_id),
        "case_seq": event.case_seq,
        "payload": dict(event.payload),
    }


def spanish_event(event: EventView, payload: Mapping[str, Any]) -> dict[str, Any]:
    """One flat record: the event's ids in Spanish, then `payload` renamed."""
    # The payload repeats case_id; id_caso already says it.
    fields = {
        EVENT_KEYS_ES.get(key, key): value
        for key, value in payload.items()
        if key != "case_id"
    }
    return {
        **fields,
        "id_evento": str(event.id),
        "tipo_evento": event.type,
        "id_caso": str(event.case_id),
        "secuencia_caso": event.case_seq,
    }
