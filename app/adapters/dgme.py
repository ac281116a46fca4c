"""DGME, *Sistema Integrado de Información* (SII): the returned child's flat record.

The SII keeps one row per child received: Spanish field names, dates as dd/mm/yyyy, sex
as M/F, the full name in one field, vulnerability as numeric codes (table below), the
department of origin by its Spanish name and the point of entry by its code
(`app.codes.POINTS_OF_ENTRY`).

Full name rule. Salvadoran names are given names followed by the paternal and maternal
surnames, so the last two words are the family names ("José Alberto Hernández López").
A particle right before them belongs to the surname that follows ("Carlos del Cid
Peña", "Ana García de Mejía"); with two words, the second is the family name. On the
way out the two parts are joined with a space, so SII -> hub -> SII gives back the same
`nombre_completo`. The rule cannot know that "José de Jesús Martínez" has one surname;
such a name is split wrong but still rendered back unchanged.

The point of entry becomes the case `location` (El Salvador, the department of the post,
its name as the place); a case located elsewhere renders `punto_ingreso` as null.

Events (`render_event`) are one flat record with Spanish keys, like an SII row:
`id_evento`, `tipo_evento`, `id_caso`, `secuencia_caso`, then the event's thin fields
renamed by `EVENT_KEYS_ES` (`app.adapters.base`): `estado`, `estado_anterior`, `id_nna`,
`institucion_lider`, `campos_modificados`, `id_referencia`, `servicio`,
`institucion_origen`, `institucion_destino`, `fecha_limite`. Codes stay the hub's
(case status `open`/`closed`/`merged`, referral status as FHIR Task codes): the SII has
no codes of its own for them. `fecha_limite` is written dd/mm/yyyy, like every SII date.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)

from app.adapters.base import CaseAdapter, EventView, spanish_event
from app.codes import (
    POINTS_OF_ENTRY,
    IdentifierType,
    LanguageCode,
    Role,
    Sex,
    VulnerabilityCategory,
    point_of_entry,
    sv_departments,
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

DATE_FORMAT = "%d/%m/%Y"

# The SII's own vulnerability table; codes are what DGME officers already type.
CATEGORY_CODES: dict[int, tuple[VulnerabilityCategory, str]] = {
    1: (VulnerabilityCategory.UNACCOMPANIED, "no acompañado"),
    2: (VulnerabilityCategory.SEPARATED, "separado"),
    3: (VulnerabilityCategory.TRAFFICKING_VICTIM, "víctima de trata"),
    4: (VulnerabilityCategory.CRIME_VICTIM_ON_ROUTE, "víctima de delito en la ruta"),
    5: (VulnerabilityCategory.INTERNATIONAL_PROTECTION, "solicitante de refugio"),
    6: (VulnerabilityCategory.STATELESS_OR_UNDOCUMENTED, "apátrida o indocumentado"),
    7: (
        VulnerabilityCategory.GBV_OR_SEXUAL_EXPLOITATION,
        "violencia sexual o de género",
    ),
    8: (VulnerabilityCategory.PHYSICAL_OR_PSYCHOLOGICAL_ABUSE, "maltrato"),
    9: (VulnerabilityCategory.CHILD_PARENT_OR_PREGNANT, "madre/padre o embarazada"),
    10: (VulnerabilityCategory.DISABILITY, "discapacidad"),
    11: (VulnerabilityCategory.SERIOUS_HEALTH_CONDITION, "enfermedad grave"),
    12: (VulnerabilityCategory.PSYCHOSOCIAL_DISTRESS, "afectación psicosocial"),
    13: (VulnerabilityCategory.CHILD_LABOUR, "trabajo infantil"),
    14: (VulnerabilityCategory.DETAINED, "detenido"),
    15: (VulnerabilityCategory.LANGUAGE_BARRIER_OR_INDIGENOUS, "indígena o idioma"),
}
CONTACT_FIELDS = ("nombre_contacto", "parentesco_contacto", "telefono_contacto")
CODE_OF_CATEGORY = {category: code for code, (category, _) in CATEGORY_CODES.items()}

# Sexes 0 and 9 of ISO 5218 have no letter in the SII: they render as null.
SEX_LETTERS = {Sex.MALE: "M", Sex.FEMALE: "F"}
SEX_OF_LETTER = {letter: sex for sex, letter in SEX_LETTERS.items()}

SURNAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})


def _check_date(value: str) -> str:
    try:
        datetime.strptime(value, DATE_FORMAT)
    except ValueError as exc:
        raise ValueError(
            f"expected a date as dd/mm/aaaa, e.g. 14/03/2011; got '{value}'"
        ) from exc
    return value


def _check_past_date(value: str) -> str:
    if parse_date(_check_date(value)) > date.today():
        raise ValueError(f"the date {value} is in the future")
    return value


def _check_category(code: int) -> int:
    if code not in CATEGORY_CODES:
        allowed = ", ".join(
            f"{c} ({label})" for c, (_, label) in CATEGORY_CODES.items()
        )
        raise ValueError(f"{code} is not an SII vulnerability code; allowed: {allowed}")
    return code


def _check_department(name: str) -> str:
    for known in sv_departments().values():
        if known.casefold() == name.casefold():
            return known
    allowed = ", ".join(sv_departments().values())
    raise ValueError(f"'{name}' is not a department of El Salvador; allowed: {allowed}")


def _check_full_name(value: str) -> str:
    if len(value.split()) < 2:
        raise ValueError(
            "expected given names and surnames, e.g. 'Ana Ruth Pérez Gómez'"
        )
    return value


def _check_relationship(value: str | None, info: ValidationInfo) -> str | None:
    # A contact nobody knows the relationship of cannot be trusted with the child.
    if value is None and info.data.get("nombre_contacto"):
        raise ValueError("required when nombre_contacto is given, e.g. 'madre'")
    return value


def _check_municipality(value: str | None, info: ValidationInfo) -> str | None:
    # The common schema keeps a municipality only inside its department.
    department_failed = "departamento_origen" not in info.data
    if value and not department_failed and not info.data["departamento_origen"]:
        raise ValueError("requires departamento_origen, the department it belongs to")
    return value


def _check_alpha3(code: str) -> str:
    if pycountry.countries.get(alpha_3=code.upper()) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-3 country code (SLV)")
    return code.upper()


def _check_point_of_entry(code: str) -> str:
    return point_of_entry(code.upper()).code


_DATE_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^\d{2}/\d{2}/\d{4}$", "examples": ["14/03/2011"]}
)
SiiDate = Annotated[str, AfterValidator(_check_date), _DATE_SCHEMA]
SiiPastDate = Annotated[str, AfterValidator(_check_past_date), _DATE_SCHEMA]
YesNo = Literal["S", "N"]


class RegistroSii(BaseModel):
    """One child received by DGME, as the SII records it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    numero_registro: str | None = Field(
        default=None, pattern=r"^SII-\d{4}-\d{6}$", examples=["SII-2024-004512"]
    )
    nombre_completo: Annotated[str, AfterValidator(_check_full_name)] = Field(
        max_length=240
    )
    sexo: Literal["M", "F"] | None = None
    fecha_nacimiento: SiiPastDate
    fecha_nacimiento_estimada: YesNo = "N"
    nacionalidad: Annotated[str, AfterValidator(_check_alpha3)] = "SLV"
    nui: str | None = Field(default=None, min_length=1, max_length=20)
    idioma_materno: LanguageCode = "spa"
    requiere_interprete: YesNo = "N"
    departamento_origen: Annotated[str, AfterValidator(_check_department)] | None = None
    municipio_origen: Annotated[str | None, AfterValidator(_check_municipality)] = (
        Field(default=None, max_length=120)
    )
    punto_ingreso: Annotated[str, AfterValidator(_check_point_of_entry)] | None = Field(
        default=None, json_schema_extra={"enum": [p.code for p in POINTS_OF_ENTRY]}
    )
    fecha_ingreso: SiiDate | None = None
    categorias_vulnerabilidad: list[Annotated[int, AfterValidator(_check_category)]] = (
        Field(default_factory=list)
    )
    nombre_contacto: str | None = Field(default=None, max_length=200)
    parentesco_contacto: Annotated[str | None, AfterValidator(_check_relationship)] = (
        Field(default=None, max_length=60, validate_default=True)
    )
    telefono_contacto: str | None = Field(default=None, max_length=40)


class DgmeAdapter(CaseAdapter[RegistroSii]):
    name = "dgme"
    version = "1.0"
    institution_role = Role.MIGRATION
    native_model = RegistroSii
    # TODO(adapters): the common schema v1 has no arrival record; fecha_ingreso is
    # lost until it gains one (point of entry + date).
    not_carried = ("/fecha_ingreso",)
    native_pointers = {
        "Child.given_names": "/nombre_completo",
        "Child.family_names": "/nombre_completo",
        "Child.birth_date": "/fecha_nacimiento",
        "Identifier": "/nui",
        "FamilyContact.name": "/nombre_contacto",
        "FamilyContact.relationship": "/parentesco_contacto",
        "FamilyContact.phone": "/telefono_contacto",
    }

    def map_to_common(self, native: RegistroSii) -> CaseCreate:
        return CaseCreate(
            child=_child(native),
            vulnerabilities=[
                CATEGORY_CODES[c][0] for c in native.categorias_vulnerabilidad
            ],
            location=_location(native.punto_ingreso),
            origin=_origin(native),
            family_contacts=_contacts(native),
        )

    def from_common(self, case: CasePublic) -> dict[str, Any]:
        child = case.child
        return {
            "numero_registro": _identifier(case, IdentifierType.DGME_SII),
            "nombre_completo": join_full_name(child.given_names, child.family_names),
            "sexo": SEX_LETTERS.get(child.sex),
            "fecha_nacimiento": format_date(child.birth_date),
            "fecha_nacimiento_estimada": _yes_no(child.birth_date_estimated),
            "nacionalidad": _alpha3(child.nationality),
            "nui": _identifier(case, IdentifierType.NUI),
            "idioma_materno": child.mother_tongue,
            "requiere_interprete": _yes_no(child.interpreter_needed),
            **_origin_fields(case.origin),
            "punto_ingreso": _point_of_entry_code(case.location),
            "fecha_ingreso": None,
            "categorias_vulnerabilidad": [
                CODE_OF_CATEGORY[v] for v in case.vulnerabilities
            ],
            **_contact_fields(case.family_contacts),
        }

    def render_event(self, event: EventView) -> dict[str, Any]:
        payload = dict(event.payload)
        if isinstance(payload.get("due_date"), str):
            payload["due_date"] = format_date(date.fromisoformat(payload["due_date"]))
        return spanish_event(event, payload)


def split_full_name(full_name: str) -> tuple[str, str]:
    """(given names, family names) by the rule in the module docstring."""
    words = full_name.split()
    start = len(words)
    # Two surnames, each with the particles before it, always leaving a given name.
    for _ in range(2):
        if start <= 1:
            break
        start -= 1
        while start > 1 and words[start - 1].casefold() in SURNAME_PARTICLES:
            start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def join_full_name(given_names: str, family_names: str) -> str:
    return f"{given_names} {family_names}"


def parse_date(value: str) -> date:
    return datetime.strptime(value, DATE_FORMAT).date()


def format_date(value: date) -> str:
    return value.strftime(DATE_FORMAT)


def _child(native: RegistroSii) -> Child:
    given_names, family_names = split_full_name(native.nombre_completo)
    return Child(
        identifiers=_identifiers(native),
        given_names=given_names,
        family_names=family_names,
        sex=SEX_OF_LETTER.get(native.sexo or "", Sex.NOT_KNOWN),
        birth_date=parse_date(native.fecha_nacimiento),
        birth_date_estimated=native.fecha_nacimiento_estimada == "S",
        nationality=_alpha2(native.nacionalidad),
        mother_tongue=native.idioma_materno,
        interpreter_needed=native.requiere_interprete == "S",
    )


def _identifiers(native: RegistroSii) -> list[Identifier]:
    identifiers = []
    if native.numero_registro:
        identifiers.append(
            Identifier(type=IdentifierType.DGME_SII, value=native.numero_registro)
        )
    if native.nui:
        identifiers.append(Identifier(type=IdentifierType.NUI, value=native.nui))
    return identifiers


def _identifier(case: CasePublic, kind: IdentifierType) -> str | None:
    return next((i.value for i in case.child.identifiers if i.type == kind), None)


def _location(code: str | None) -> Location | None:
    if code is None:
        return None
    post = point_of_entry(code)
    return Location(country="SV", subdivision=post.department, place=post.name)


def _point_of_entry_code(location: Location | None) -> str | None:
    if location is None or location.country != "SV":
        return None
    return next((p.code for p in POINTS_OF_ENTRY if p.name == location.place), None)


def _origin(native: RegistroSii) -> Origin | None:
    if native.departamento_origen is None:
        return None
    codes = {name: code for code, name in sv_departments().items()}
    return Origin(
        department=codes[native.departamento_origen],
        municipality=native.municipio_origen,
    )


def _origin_fields(origin: Origin | None) -> dict[str, str | None]:
    if origin is None:
        return {"departamento_origen": None, "municipio_origen": None}
    return {
        "departamento_origen": sv_departments()[origin.department],
        "municipio_origen": origin.municipality,
    }


def _contacts(native: RegistroSii) -> list[FamilyContact]:
    if native.nombre_contacto is None:
        return []
    return [
        FamilyContact(
            name=native.nombre_contacto,
            relationship=native.parentesco_contacto or "",
            phone=native.telefono_contacto,
        )
    ]


def _contact_fields(contacts: list[FamilyContact]) -> dict[str, str | None]:
    # NOTE: the SII has room for one contact; the first one registered is the one
    # DGME calls when the child arrives.
    if not contacts:
        return dict.fromkeys(CONTACT_FIELDS)
    return {
        "nombre_contacto": contacts[0].name,
        "parentesco_contacto": contacts[0].relationship,
        "telefono_contacto": contacts[0].phone,
    }


def _yes_no(flag: bool) -> str:
    return "S" if flag else "N"


def _alpha2(alpha3: str) -> str:
    # Both codes were validated against pycountry before they reach here.
    return str(getattr(pycountry.countries.get(alpha_3=alpha3), "alpha_2", ""))


def _alpha3(alpha2: str) -> str:
    return str(getattr(pycountry.countries.get(alpha_2=alpha2), "alpha_3", ""))
