"""The institutions that take part, and their roles."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.codes import Role
from app.deps import DbDep, Principal, require
from app.schemas.institutions import InstitutionPublic
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import institutions as institution_service

router = APIRouter(prefix="/v1/institutions", tags=["institutions"])


@router.get(
    "",
    summary="List institutions",
    description="Every institution with its role and, for a consulate, the ISO 3166-2 "
    "subdivisions of its circumscription. Any authenticated client may read it.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_institutions(
    db: DbDep,
    _caller: Annotated[Principal, require()],
    role: Annotated[Role | None, Query(description="Only this role")] = None,
) -> list[InstitutionPublic]:
    found = institution_service.list_institutions(db, role=role)
    return [InstitutionPublic.model_validate(i) for i in found]
