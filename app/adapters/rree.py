"""RREE consular registry: the record a consulate opens for a child it has located.

The consulate (`consulado`) issues the consular record number, so it travels as the
issuer of the `consular_record` identifier and comes back from it. The place where the
child was located abroad is the case `location`, and it must lie in the consulate's
circumscription: each consulate documents the children found in its own territory.

The interview (date, language, interpreter, whether the child's opinion was heard) and
the documents issued for the return (salvoconducto, passport) have no place in the
common schema v1 yet; only `entrevista.interprete` is carried (as the child's need of an
interpreter). The rest is listed in `not_carried` and renders empty.

Events (`render_event`) use the same Spanish keys as DGME's (`EVENT_KEYS_ES` in
`app.adapters.base`): `id_evento`, `tipo_evento`, `id_caso`, `secuencia_caso`, `estado`,
`estado_anterior`, `id_nna`, `institucion_lider`, `id_referencia`, `servicio`,
`institucion_origen`, `institucion_destino`, `fecha_limite`, ... in one flat record.
Dates stay ISO 8601, as in the consular record, and codes stay the hub's: the registry
has native codes only for the child's `condicion`, which no event carries.
"""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.adapters.base import CaseAdapter, EventView, spanish_event
from app.codes import (
    CountryCode,
    DepartmentCode,
    IdentifierType,
    LanguageCode,
    ProtectionStatus,
    Role,
    Sex,
    SubdivisionCode,
)
from app.schemas.cases import (
    CaseCreate,
    CasePublic,
    Child,
    FamilyContact,
    Identifier,
    Location,
    Origin,
)

DocumentKind = Literal["nui", "partida_nacimiento", "pasaporte", "dui_responsable"]
DOCUMENT_TYPES: dict[str, IdentifierType] = {
    "nui": IdentifierType.NUI,
    "partida_nacimiento": IdentifierType.BIRTH_CERTIFICATE,
    "pasaporte": IdentifierType.PASSPORT,
    "dui_responsable": IdentifierType.GUARDIAN_DUI,
}
DOCUMENT_KINDS = {kind: name for name, kind in DOCUMENT_TYPES.items()}

CONDITIONS: dict[str, ProtectionStatus] = {
    "no_acompanado": ProtectionStatus.UNACCOMPANIED,
    "separado": ProtectionStatus.SEPARATED,
    "acompanado": ProtectionStatus.ACCOMPANIED,
}
CONDITION_OF_STATUS = {status: name for name, status in CONDITIONS.items()}

SEX_LETTERS = {Sex.MALE: "M", Sex.FEMALE: "F"}
SEX_OF_LETTER = {letter: sex for sex, letter in SEX_LETTERS.items()}


class _Native(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DocumentoIdentidad(_Native):
    tipo: DocumentKind
    numero: str = Field(min_length=1, max_length=64)


class Localizacion(_Native):
    pais: CountryCode
    subdivision: SubdivisionCode | None = None
    lugar: str | None = Field(default=None, max_length=200)


class Entrevista(_Native):
    fecha: date | None = None
    idioma: LanguageCode | None = None
    interprete: bool = False
    opinion_escuchada: bool | None = None


class ContactoFamiliar(_Native):
    nombre: str = Field(min_length=1, max_length=200)
    parentesco: str = Field(min_length=1, max_length=60)
    telefono: str | None = Field(default=None, max_length=40)
    pais: CountryCode | None = None
    direccion: str | None = Field(default=None, max_length=300)


class DocumentoRetorno(_Native):
    tipo: Literal["salvoconducto", "pasaporte"]
    numero: str = Field(min_length=1, max_length=64)
    fecha_emision: date


class ExpedienteConsular(_Native):
    """A consular record of a Salvadoran child located abroad."""

    numero_expediente: str = Field(min_length=1, max_length=64, examples=["TAP-0457"])
    consulado: str = Field(min_length=1, max_length=64, examples=["Tapachula"])
    circunscripcion: list[SubdivisionCode] = Field(default_factory=list)
    nombres: str = Field(min_length=1, max_length=120)
    apellidos: str = Field(min_length=1, max_length=120)
    sexo: Literal["M", "F"] | None = None
    fecha_nacimiento: date
    fecha_nacimiento_estimada: bool = False
    nacionalidad: CountryCode = "SV"
    documentos_identidad: list[DocumentoIdentidad] = Field(default_factory=list)
    idioma_materno: LanguageCode = "spa"
    otros_idiomas: list[LanguageCode] = Field(default_factory=list, max_length=10)
    pueblo_indigena: str | None = Field(default=None, max_length=120)
    condicion: Literal["no_acompanado", "separado", "acompanado"] | None = None
    localizacion: Localizacion | None = None
    departamento_origen: DepartmentCode | None = None
    municipio_origen: str | None = Field(default=None, max_length=120)
    entrevista: Entrevista = Field(default_factory=Entrevista)
    contactos_familiares: list[ContactoFamiliar] = Field(default_factory=list)
    documentos_retorno: list[DocumentoRetorno] = Field(default_factory=list)

    @field_validator("fecha_nacimiento")
    @classmethod
    def _born_in_the_past(cls, value: date) -> date:
        if value > date.today():
            raise ValueError(f"the date {value.isoformat()} is in the future")
        return value

    @field_validator("municipio_origen")
    @classmethod
    def _municipality_in_department(
        cls, value: str | None, info: ValidationInfo
    ) -> str | None:
        # The common schema keeps a municipality only inside its department.
        department_failed = "departamento_origen" not in info.data
        if value and not department_failed and not info.data["departamento_origen"]:
            raise ValueError(
                "requires departamento_origen, the department it belongs to"
            )
        return value

    @field_validator("localizacion")
    @classmethod
    def _in_circumscription(
        cls, value: Localizacion | None, info: ValidationInfo
    ) -> Localizacion | None:
        territory = info.data.get("circunscripcion") or []
        if value and value.subdivision and territory:
            if value.subdivision not in territory:
                allowed = ", ".join(territory)
                raise ValueError(
                    f"{value.subdivision} is outside the consulate's circumscription"
                    f" ({allowed})"
                )
        return value


class RreeAdapter(CaseAdapter[ExpedienteConsular]):
    name = "rree"
    version = "1.0"
    institution_role = Role.CONSULATE
    native_model = ExpedienteConsular
    # TODO(adapters): interview and return documents need a home in the common
    # schema (an interview record, a return record); until then they are dropped.
    not_carried = (
        "/circunscripcion",
        "/entrevista/fecha",
        "/entrevista/idioma",
        "/entrevista/opinion_escuchada",
        "/documentos_retorno",
    )
    native_pointers = {
        "Child.given_names": "/nombres",
        "Child.family_names": "/apellidos",
        "Identifier": "/documentos_identidad",
        "Location": "/localizacion",
        "Origin": "/municipio_origen",
        "FamilyContact": "/contactos_familiares",
    }

    def map_to_common(self, native: ExpedienteConsular) -> CaseCreate:
        return CaseCreate(
            child=_child(native),
            protection_status=CONDITIONS.get(native.condicion or ""),
            location=_location(native.localizacion),
            origin=_origin(native),
            family_contacts=[_contact(c) for c in native.contactos_familiares],
        )

    def from_common(self, case: CasePublic) -> dict[str, Any]:
        child = case.child
        record = _record_identifier(case)
        return {
            "numero_expediente": record.value if record else None,
            "consulado": record.issuer if record else None,
            "circunscripcion": [],
            "nombres": child.given_names,
            "apellidos": child.family_names,
            "sexo": SEX_LETTERS.get(child.sex),
            "fecha_nacimiento": child.birth_date.isoformat(),
            "fecha_nacimiento_estimada": child.birth_date_estimated,
            "nacionalidad": child.nationality,
            "documentos_identidad": _documents(child.identifiers),
            "idioma_materno": child.mother_tongue,
            "otros_idiomas": list(child.other_languages),
            "pueblo_indigena": child.indigenous_people,
            "condicion": _condition(case.protection_status),
            "localizacion": _place(case.location),
            **_origin_fields(case.origin),
            "entrevista": _interview(child.interpreter_needed),
            "contactos_familiares": [_contacto(c) for c in case.family_contacts],
            "documentos_retorno": [],
        }

    def render_event(self, event: EventView) -> dict[str, Any]:
        return spanish_event(event, event.payload)


def _child(native: ExpedienteConsular) -> Child:
    return Child(
        identifiers=_identifiers(native),
        given_names=native.nombres,
        family_names=native.apellidos,
        sex=SEX_OF_LETTER.get(native.sexo or "", Sex.NOT_KNOWN),
        birth_date=native.fecha_nacimiento,
        birth_date_estimated=native.fecha_nacimiento_estimada,
        nationality=native.nacionalidad,
        mother_tongue=native.idioma_materno,
        other_languages=native.otros_idiomas,
        interpreter_needed=native.entrevista.interprete,
        indigenous_people=native.pueblo_indigena,
    )


def _identifiers(native: ExpedienteConsular) -> list[Identifier]:
    record = Identifier(
        type=IdentifierType.CONSULAR_RECORD,
        value=native.numero_expediente,
        issuer=native.consulado,
    )
    documents = [
        Identifier(type=DOCUMENT_TYPES[doc.tipo], value=doc.numero)
        for doc in native.documentos_identidad
    ]
    return [record, *documents]


def _record_identifier(case: CasePublic) -> Identifier | None:
    kind = IdentifierType.CONSULAR_RECORD
    return next((i for i in case.child.identifiers if i.type == kind), None)


def _documents(identifiers: list[Identifier]) -> list[dict[str, str]]:
    return [
        {"tipo": DOCUMENT_KINDS[i.type], "numero": i.value}
        for i in identifiers
        if i.type in DOCUMENT_KINDS
    ]


def _location(place: Localizacion | None) -> Location | None:
    if place is None:
        return None
    return Location(
        country=place.pais, subdivision=place.subdivision, place=place.lugar
    )


def _place(location: Location | None) -> dict[str, str | None] | None:
    if location is None:
        return None
    return {
        "pais": location.country,
        "subdivision": location.subdivision,
        "lugar": location.place,
    }


def _origin(native: ExpedienteConsular) -> Origin | None:
    if native.departamento_origen is None:
        return None
    return Origin(
        department=native.departamento_origen, municipality=native.municipio_origen
    )


def _origin_fields(origin: Origin | None) -> dict[str, str | None]:
    return {
        "departamento_origen": origin.department if origin else None,
        "municipio_origen": origin.municipality if origin else None,
    }


def _condition(status: ProtectionStatus | None) -> str | None:
    return CONDITION_OF_STATUS[status] if status else None


def _interview(interpreter_needed: bool) -> dict[str, Any]:
    return {
        "fecha": None,
        "idioma": None,
        "interprete": interpreter_needed,
        "opinion_escuchada": None,
    }


def _contact(contact: ContactoFamiliar) -> FamilyContact:
    return FamilyContact(
        name=contact.nombre,
        relationship=contact.parentesco,
        phone=contact.telefono,
        country=contact.pais,
        address=contact.direccion,
    )


def _contacto(contact: FamilyContact) -> dict[str, str | None]:
    return {
        "nombre": contact.name,
        "parentesco": contact.relationship,
        "telefono": contact.phone,
        "pais": contact.country,
        "direccion": contact.address,
    }
