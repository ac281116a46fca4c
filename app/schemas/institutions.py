"""Institutions on the wire."""

from pydantic import ConfigDict, Field

from app.codes import Role
from app.schemas.base import ResponseModel


class InstitutionPublic(ResponseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "consulado-tapachula",
                    "name": "Consulado General de El Salvador en Tapachula, Chiapas",
                    "acronym": "CG Tapachula",
                    "role": "consulate",
                    "country": "MX",
                    "circumscription": ["MX-CHP"],
                    "active": True,
                }
            ]
        },
    )

    id: str
    name: str
    acronym: str
    role: Role
    country: str = Field(description="ISO 3166-1 alpha-2 of the seat.")
    circumscription: list[str] = Field(description="ISO 3166-2 codes covered.")
    active: bool
