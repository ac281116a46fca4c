"""Admin API for client credentials (scope `admin`)."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.scopes import Scope
from app.deps import DbDep, Principal, SettingsDep, require
from app.schemas.clients import ClientCreate, ClientCredentials, ClientPublic
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import clients as client_service
from app.services.clients import IssuedCredentials

router = APIRouter(prefix="/v1/admin/clients", tags=["admin"])
AdminDep = Annotated[Principal, require(Scope.ADMIN)]


def _with_secret(issued: IssuedCredentials) -> ClientCredentials:
    public = ClientPublic.model_validate(issued.client)
    return ClientCredentials(**public.model_dump(), client_secret=issued.secret)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a client",
    description="Issues credentials for one institutional system. The secret is in "
    "this response only.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def create_client(
    body: ClientCreate, db: DbDep, settings: SettingsDep, _admin: AdminDep
) -> ClientCredentials:
    issued = client_service.create_client(
        db,
        institution_id=body.institution,
        name=body.name,
        scopes=body.scopes,
        time_cost=settings.password_hash_time_cost,
    )
    db.commit()
    return _with_secret(issued)


@router.get(
    "",
    summary="List clients",
    description="Every client, revoked ones included; never their secrets.",
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_clients(
    db: DbDep,
    _admin: AdminDep,
    institution: Annotated[str | None, Query(description="Institution id")] = None,
) -> list[ClientPublic]:
    clients = client_service.list_clients(db, institution_id=institution)
    return [ClientPublic.model_validate(c) for c in clients]


@router.get(
    "/{client_id}",
    summary="Read a client",
    description="One client's metadata.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def get_client(client_id: str, db: DbDep, _admin: AdminDep) -> ClientPublic:
    return ClientPublic.model_validate(client_service.get_client(db, client_id))


@router.post(
    "/{client_id}/rotate",
    summary="Rotate a client's secret",
    description="Issues a new secret; the old one and tokens issued with it stop "
    "working at once.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def rotate_client(
    client_id: str, db: DbDep, settings: SettingsDep, _admin: AdminDep
) -> ClientCredentials:
    issued = client_service.rotate_secret(
        db, client_id, time_cost=settings.password_hash_time_cost
    )
    db.commit()
    return _with_secret(issued)


@router.post(
    "/{client_id}/revoke",
    summary="Revoke a client",
    description="The client can no longer get tokens, and its tokens stop working.",
    responses=problem_responses(*AUTH_ERRORS, 404),
)
def revoke_client(client_id: str, db: DbDep, _admin: AdminDep) -> ClientPublic:
    client = client_service.revoke(db, client_id)
    db.commit()
    return ClientPublic.model_validate(client)
