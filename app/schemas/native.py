"""The wire format of the native endpoints: adapter discovery and batch answers."""

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.codes import Role
from app.schemas.cases import ChildMatch
from app.schemas.problems import FieldError


class AdapterDescription(BaseModel):
    """One institution format the hub speaks."""

    name: str = Field(examples=["dgme"])
    version: str = Field(examples=["1.0"])
    kind: str = Field(
        description="`case`: native case records; `referral`: native referrals.",
        examples=["case"],
    )
    institution_role: Role = Field(
        description="The role of the institutions that use this format.",
        examples=["migration"],
    )
    native_schema: dict[str, Any] = Field(
        description="JSON Schema of the native record.",
        examples=[{"title": "RegistroSii", "type": "object", "properties": {}}],
    )
    not_carried: list[str] = Field(
        description="Native fields accepted but not kept: they come back empty.",
        examples=[["/telefono_contacto"]],
    )


class LineStatus(StrEnum):
    CREATED = "created"
    LINKED = "linked"
    ERROR = "error"


class LineProblem(BaseModel):
    """Why one line was not registered, as problem details without the request."""

    type: str = Field(examples=["https://puente.gob.sv/problems/invalid-input"])
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="Pointers into this line, in its native field names."
    )


class LineResult(BaseModel):
    """What became of one line of a batch."""

    line: int = Field(description="1-based line number in the body.", examples=[3])
    status: LineStatus = Field(examples=["linked"])
    case_id: uuid.UUID | None = None
    child_match: ChildMatch | None = None
    problem: LineProblem | None = None
    replayed: bool = Field(
        default=False,
        description="True when a retry with the same Idempotency-Key answered this "
        "line from the first run.",
    )


class BatchResult(BaseModel):
    """The answer to a batch: counts, then one entry per non-blank line."""

    created: int = Field(examples=[2])
    linked: int = Field(examples=[1])
    errors: int = Field(examples=[1])
    lines: list[LineResult]

    @classmethod
    def of(cls, lines: list[LineResult]) -> "BatchResult":
        """Count the lines by status."""
        counts = {status: 0 for status in LineStatus}
        for line in lines:
            counts[line.status] += 1
        return cls(
            created=counts[LineStatus.CREATED],
            linked=counts[LineStatus.LINKED],
            errors=counts[LineStatus.ERROR],
            lines=lines,
        )


# Examples for the OpenAPI document; the names and numbers are invented.
DGME_RECORD_EXAMPLE: dict[str, Any] = {
    "numero_registro": "SII-2024-004512",
    "nombre_completo": "Carlos Ernesto del Cid Peña",
    "sexo": "M",
    "fecha_nacimiento": "14/03/2010",
    "fecha_nacimiento_estimada": "N",
    "nacionalidad": "SLV",
    "nui": "061234578",
    "idioma_materno": "spa",
    "requiere_interprete": "N",
    "departamento_origen": "Ahuachapán",
    "municipio_origen": "Tacuba",
    "punto_ingreso": "LA_HACHADURA",
    "fecha_ingreso": "02/11/2024",
    "categorias_vulnerabilidad": [1, 12],
}
_HUB = "https://puente.gob.sv/fhir"
FHIR_BUNDLE_EXAMPLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:5b7f0e0a-1c2d-4e3f-8a9b-111111111111",
            "resource": {
                "resourceType": "Patient",
                "identifier": [
                    {"system": f"{_HUB}/NamingSystem/nui", "value": "061234578"}
                ],
                "name": [{"family": "del Cid Peña", "given": ["Carlos", "Ernesto"]}],
                "gender": "male",
                "birthDate": "2010-03-14",
            },
        },
        {
            "fullUrl": "urn:uuid:5b7f0e0a-1c2d-4e3f-8a9b-222222222222",
            "resource": {
                "resourceType": "ServiceRequest",
                "requisition": {
                    "system": f"{_HUB}/NamingSystem/case",
                    "value": "0b0f4e55-7c1a-4d7e-9a55-3f1f2b9c8d10",
                },
                "status": "active",
                "intent": "order",
                "priority": "urgent",
                "code": {
                    "coding": [
                        {
                            "system": f"{_HUB}/CodeSystem/service",
                            "code": "psychosocial_care",
                        }
                    ]
                },
                "subject": {
                    "reference": "urn:uuid:5b7f0e0a-1c2d-4e3f-8a9b-111111111111"
                },
                "reasonCode": [{"text": "Ansiedad y pesadillas tras el viaje"}],
            },
        },
        {
            "fullUrl": "urn:uuid:5b7f0e0a-1c2d-4e3f-8a9b-333333333333",
            "resource": {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                "focus": {"reference": "urn:uuid:5b7f0e0a-1c2d-4e3f-8a9b-222222222222"},
            },
        },
    ],
}

FHIR_TASK_EXAMPLE: dict[str, Any] = {
    "resourceType": "Task",
    "status": "completed",
    "intent": "order",
    "businessStatus": {"text": "Alta de consulta"},
    "output": [
        {
            "type": {"text": "outcome"},
            "valueString": "Evaluación psicológica realizada; seguimiento en su UCSF",
        }
    ],
}
