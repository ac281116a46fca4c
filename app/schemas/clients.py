"""Client credentials as admins see them. The secret appears once, at issue."""

from datetime import datetime

from pydantic import AliasChoices, Field

from app.schemas.base import RequestModel, ResponseModel


class ClientCreate(RequestModel):
    institution: str = Field(examples=["dgme"], description="Institution id.")
    name: str = Field(min_length=1, max_length=200, examples=["DGME SII"])
    scopes: list[str] = Field(
        min_length=1, examples=[["cases:read", "cases:write", "referrals:write"]]
    )


class ClientPublic(ResponseModel):
    id: str = Field(examples=["dgme-3f9a1c2b4d5e"])
    name: str
    institution: str = Field(
        validation_alias=AliasChoices("institution_id", "institution")
    )
    scopes: list[str]
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class ClientCredentials(ClientPublic):
    client_secret: str = Field(
        description="Shown only in this response; the hub keeps only a hash."
    )
