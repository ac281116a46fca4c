"""Identity: ask the RNPN who a child is, through the hub.

Nothing personal is logged here: the registry's answer goes back to the caller and
nowhere else, and the hub keeps none of it unless the caller registers a case. The
read audit records that the caller looked someone up, by which identifier type and
whether the registry knew them (or failed to answer), never the identifier itself.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.adapters.rnpn import RnpnClient
from app.auth.scopes import Scope
from app.codes import IdentifierType
from app.deps import DbDep, Principal, require
from app.errors import NotFound, UpstreamError
from app.schemas.cases import Child
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import audit

router = APIRouter(prefix="/v1/identity", tags=["identity"])

# The identifiers the RNPN can be asked about (app.adapters.rnpn.QUERY_TYPES).
RnpnIdentifier = Literal["nui", "birth_certificate"]

_CHILD_EXAMPLE = {
    "identifiers": [
        {"type": "nui", "value": "061234578", "issuer": "RNPN"},
        {"type": "birth_certificate", "value": "AH-2010-00871", "issuer": "RNPN"},
    ],
    "given_names": "Carlos Ernesto",
    "family_names": "del Cid Peña",
    "sex": 1,
    "birth_date": "2010-03-14",
    "birth_date_estimated": False,
    "nationality": "SV",
    "mother_tongue": "spa",
    "other_languages": [],
    "interpreter_needed": False,
    "indigenous_people": None,
    "disability": None,
}


def get_rnpn(request: Request) -> RnpnClient:
    rnpn: RnpnClient = request.app.state.rnpn
    return rnpn


RnpnDep = Annotated[RnpnClient, Depends(get_rnpn)]
LookupDep = Annotated[Principal, require(Scope.IDENTITY_READ)]


def _record_lookup(
    db: Session,
    caller: Principal,
    identifier_type: IdentifierType,
    *,
    found: bool | None,
) -> None:
    audit.record_identity_lookup(
        db, actor=caller, identifier_type=identifier_type, found=found
    )
    db.commit()


@router.get(
    "/rnpn/{identifier_type}/{value}",
    summary="Look a child up in the RNPN",
    description="Asks the national registry of natural persons (RNPN) for the child "
    "with this NUI or birth-certificate number, and answers the fields a case needs "
    "(parents' data is dropped). 404 when the registry knows nobody by it; 502, 503 "
    "or 504 when the registry answers badly, fails or is too slow: try again later. "
    "Consulates use it to confirm a child's identity before registering a case.",
    responses={
        200: {
            "description": "The child as the registry knows it",
            "content": {"application/json": {"example": _CHILD_EXAMPLE}},
        },
        **problem_responses(*AUTH_ERRORS, 404, 422, 502, 503, 504),
    },
)
async def lookup_child(
    identifier_type: RnpnIdentifier,
    value: Annotated[str, Path(min_length=1, max_length=64)],
    rnpn: RnpnDep,
    db: DbDep,
    caller: LookupDep,
) -> Child:
    kind = IdentifierType(identifier_type)
    try:
        child = await rnpn.lookup(kind, value)
    except UpstreamError:
        # The registry was still asked for the caller: recorded, then answered 5xx.
        await run_in_threadpool(_record_lookup, db, caller, kind, found=None)
        raise

    # The session is synchronous: keep its round trips off the event loop. A lookup
    # that found nobody is recorded too: the registry was still asked for the caller.
    found = child is not None
    await run_in_threadpool(_record_lookup, db, caller, kind, found=found)
    if child is None:
        raise NotFound(f"The RNPN knows no person by this {identifier_type}")
    return child
