"""Native endpoints: institutions send and read records in their own formats.

Each route maps with an adapter (`app.adapters`) and then behaves like its common
twin: a native case goes through the same registration, Idempotency-Key, timeline
and events as `POST /v1/cases`, and a native read through the same read audit (so
reads commit) as its common twin.

Bodies are read raw, not parsed by FastAPI, so that a 422 points at the native
fields the institution sent (`/fecha_nacimiento`). Each POST declares the media types
it takes with `_accepts` (JSON, NDJSON or FHIR JSON), which is why `app.main` mounts
this router without the JSON-only `require_json_body`.

NOTE: the format does not have to match the caller's role. An adapter translates; it
grants nothing: the case is registered by, and visible to, the caller's institution
whatever format it came in, so the RREE ministry may send consular records and a
child-protection office may import a DGME export.
"""

import uuid
from dataclasses import asdict
from typing import Annotated, Any, Union

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from sqlmodel import Session

from app.adapters.base import CaseAdapter, InboundReferral
from app.adapters.registry import (
    ADAPTERS,
    describe_adapters,
    get_adapter,
    get_referral_adapter,
)
from app.auth.scopes import Scope
from app.deps import (
    DbDep,
    IdempotencyKeyHeader,
    IdempotentDep,
    IfMatchVersionsDep,
    Principal,
    SettingsDep,
    accept_bodies,
    etag,
    get_principal,
    require,
)
from app.routers.cases import registered
from app.schemas.cases import CaseRegistered
from app.schemas.native import (
    DGME_RECORD_EXAMPLE,
    FHIR_BUNDLE_EXAMPLE,
    FHIR_TASK_EXAMPLE,
    AdapterDescription,
    BatchResult,
)
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.schemas.referrals import ReferralPublic
from app.services import cases as case_service
from app.services import native as native_service
from app.services import referrals as referral_service
from app.services.audit import ReadAction
from app.services.idempotency import Created

router = APIRouter(prefix="/v1", tags=["native"])
CaseReaderDep = Annotated[Principal, require(Scope.CASES_READ)]
CaseWriterDep = Annotated[Principal, require(Scope.CASES_WRITE)]
ReferralReaderDep = Annotated[Principal, require(Scope.REFERRALS_READ)]
ReferralWriterDep = Annotated[Principal, require(Scope.REFERRALS_WRITE)]

JSON = "application/json"
NDJSON = "application/x-ndjson"
FHIR_JSON = "application/fhir+json"
MINSAL = "minsal"

# Documentation only: naming the native models in a response puts each in the
# document's components, where the request bodies below refer to them.
_NATIVE_MODELS = tuple(adapter.native_model for adapter in ADAPTERS.values())
NativeCase: Any = Union[_NATIVE_MODELS]  # noqa: UP007  (built at run time)
_NATIVE_CASE_REFS = [
    {"$ref": f"#/components/schemas/{adapter.native_model.__name__}"}
    for adapter in ADAPTERS.values()
]
# fhir.resources documents a Bundle it serializes as any object, so its validation
# schema (self-contained: no $defs) is written inline instead.
_BUNDLE_SCHEMA = Bundle.model_json_schema()
_TASK_SCHEMA = Task.model_json_schema()
_CASE_HEADERS = {
    "Location": {"description": "The case, in the common API", "schema": {}},
    "ETag": {"description": "The case's version, for If-Match", "schema": {}},
    "Idempotent-Replayed": {
        "description": "`true` when this answers a retry with the same key",
        "schema": {"type": "string"},
    },
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def _accepts(*media_types: str) -> Any:
    return Depends(accept_bodies(*media_types))


def _case_adapter(
    adapter: Annotated[
        str, Path(description=f"One of: {', '.join(ADAPTERS)} (see /v1/adapters)")
    ],
) -> CaseAdapter[Any]:
    return get_adapter(adapter)


async def _native_record(request: Request) -> dict[str, Any]:
    return native_service.decode_record(await request.body())


async def _ndjson_lines(
    request: Request, settings: SettingsDep
) -> list[native_service.Line]:
    return native_service.split_lines(
        await request.body(),
        max_lines=settings.batch_max_lines,
        max_bytes=settings.batch_max_bytes,
    )


CaseAdapterDep = Annotated[CaseAdapter[Any], Depends(_case_adapter)]
NativeRecordDep = Annotated[dict[str, Any], Depends(_native_record)]
NdjsonDep = Annotated[list[native_service.Line], Depends(_ndjson_lines)]


def _referral_sent(
    db: Session, caller: Principal, inbound: InboundReferral, bundle: dict[str, Any]
) -> Created:
    referral = native_service.send_bundle_referral(db, inbound, bundle, actor=caller)
    headers = {
        "Location": f"/v1/referrals/{referral.id}",
        "ETag": etag(referral.version),
    }
    return Created(201, referral_service.public_view(referral), headers)


@router.get(
    "/adapters",
    summary="List the institution formats",
    description="Every adapter the hub offers: its name and version, whether it "
    "carries cases or referrals, the role of the institutions that use it, the JSON "
    "Schema of its native record, and the native fields the hub accepts but does not "
    "keep. The same schemas are in this document's components.",
    dependencies=[Depends(get_principal)],
    responses=problem_responses(401, 429),
)
def list_adapters() -> list[AdapterDescription]:
    return [AdapterDescription(**asdict(info)) for info in describe_adapters()]


@router.post(
    "/native/{adapter}/cases",
    status_code=201,
    response_model=CaseRegistered,
    summary="Register a case from a native record",
    description="Takes one record in the institution's own format (see "
    "`/v1/adapters`), maps it to the common schema and registers it exactly as `POST "
    "/v1/cases` does: the child is linked when known (`child_match`), the timeline "
    "and events record it, and an `Idempotency-Key` makes retries safe. A record that "
    "does not map answers 422 whose pointers name your own fields, such as "
    "`/fecha_nacimiento`. Any institution may use any format: the case is registered "
    "as yours either way.",
    dependencies=[_accepts(JSON)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {"oneOf": _NATIVE_CASE_REFS},
                    "example": DGME_RECORD_EXAMPLE,
                }
            },
        }
    },
    responses={
        201: {"description": "Registered", "headers": _CASE_HEADERS},
        **problem_responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    },
)
def register_native_case(
    db: DbDep,
    caller: CaseWriterDep,
    adapter: CaseAdapterDep,
    idempotent: IdempotentDep,
    record: NativeRecordDep,
) -> Response:
    case = adapter.to_common(record)
    return idempotent(caller, case, lambda: registered(db, caller, case))


@router.post(
    "/native/{adapter}/cases:batch",
    summary="Register many native records (NDJSON)",
    description="One native record per line (`application/x-ndjson`), up to the "
    "configured number of lines and bytes (413 over either). Each line is registered "
    "and committed on its own, so a bad line (not JSON, not mappable, refused) never "
    "loses the good ones; the answer says, per line, `created`, `linked` to a child "
    "the hub knew, or `error` with its problem, whose pointers name your fields. With "
    "an `Idempotency-Key`, a retry of the same batch replays the lines already "
    "registered (`replayed`) and tries the failed ones again.",
    dependencies=[_accepts(NDJSON)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                NDJSON: {
                    "schema": {"type": "string"},
                    "example": '{"numero_registro": "SII-2024-004512", ...}\n'
                    '{"numero_registro": "SII-2024-004513", ...}\n',
                }
            },
        }
    },
    responses=problem_responses(*AUTH_ERRORS, 404, 413, 415, 422),
)
def register_native_batch(
    request: Request,
    db: DbDep,
    caller: CaseWriterDep,
    adapter: CaseAdapterDep,
    lines: NdjsonDep,
    key: IdempotencyKeyHeader = None,
) -> BatchResult:
    results = native_service.register_lines(
        db, adapter, lines, actor=caller, key=key, path=request.url.path
    )
    return BatchResult.of(list(results))


@router.get(
    "/native/{adapter}/cases/{case_id}",
    summary="Read a case in a native format",
    description="A case your institution may see, rendered in the adapter's format; "
    "fields the hub does not keep come back empty. Any other id answers 404, as a "
    "missing one does.",
    responses={
        200: {
            "description": "The case as a native record",
            "model": NativeCase,
            "content": {JSON: {"example": DGME_RECORD_EXAMPLE}},
        },
        **problem_responses(*AUTH_ERRORS, 404),
    },
)
def read_native_case(
    case_id: uuid.UUID, db: DbDep, caller: CaseReaderDep, adapter: CaseAdapterDep
) -> JSONResponse:
    case = case_service.read_case(
        db,
        case_id,
        actor=caller,
        action=ReadAction.CASE_NATIVE_READ,
        rendered_as=adapter.name,
    )
    rendered = adapter.from_common(case_service.public_case(db, case))
    db.commit()
    return JSONResponse(rendered, headers={"ETag": etag(case.version)})


@router.post(
    "/native/minsal/referrals",
    status_code=201,
    response_model=ReferralPublic,
    summary="Send a referral as a FHIR Bundle",
    description="A `collection` Bundle with a Patient, a ServiceRequest and a Task "
    "(HL7 FHIR R4), as MINSAL sends them. The ServiceRequest's `requisition` names "
    "the hub case (system `https://puente.gob.sv/fhir/NamingSystem/case`), which "
    "your institution must see, and the Patient must be that case's child; otherwise "
    "422 points at the Bundle path at fault. The referral is then sent like `POST "
    "/v1/referrals` (routing, consent, timeline, events, Idempotency-Key).",
    dependencies=[_accepts(FHIR_JSON, JSON)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": _BUNDLE_SCHEMA, "example": FHIR_BUNDLE_EXAMPLE}
                for media in (FHIR_JSON, JSON)
            },
        }
    },
    responses={
        201: {"description": "Sent", "headers": _CASE_HEADERS},
        **problem_responses(*AUTH_ERRORS, 403, 404, 409, 413, 415, 422),
    },
)
def send_minsal_referral(
    db: DbDep,
    caller: ReferralWriterDep,
    idempotent: IdempotentDep,
    bundle: NativeRecordDep,
) -> Response:
    inbound = get_referral_adapter(MINSAL).to_common(bundle)
    return idempotent(
        caller, inbound, lambda: _referral_sent(db, caller, inbound, bundle)
    )


@router.get(
    "/native/minsal/referrals/{referral_id}",
    response_class=FhirResponse,
    summary="Read a referral as a FHIR Bundle",
    description="A referral your institution sent or received, with its child, as a "
    "FHIR R4 Bundle (Patient, ServiceRequest, Task). The Bundle carries the child's "
    "details, so it answers only while your institution may see the case; after "
    "that, 404 (the common `/v1/referrals/{id}` still shows the referral).",
    responses={
        200: {
            "description": "The referral as a Bundle",
            "content": {
                FHIR_JSON: {"schema": _BUNDLE_SCHEMA, "example": FHIR_BUNDLE_EXAMPLE}
            },
        },
        **problem_responses(*AUTH_ERRORS, 404),
    },
)
def read_minsal_referral(
    referral_id: uuid.UUID, db: DbDep, caller: ReferralReaderDep
) -> FhirResponse:
    referral, child = native_service.referral_with_child(db, referral_id, actor=caller)
    bundle = get_referral_adapter(MINSAL).from_common(
        referral_service.public_view(referral), child
    )
    db.commit()
    return FhirResponse(bundle)


@router.put(
    "/native/minsal/referrals/{referral_id}/task",
    response_class=FhirResponse,
    summary="Move a referral on with a FHIR Task",
    description="MINSAL's twin of `POST /v1/referrals/{id}/transitions`: send the "
    "referral's Task (HL7 FHIR R4) with its new `status` (same codes: received, "
    "accepted, rejected, in-progress, on-hold, completed, failed, cancelled), and "
    "`statusReason.text` (required for rejected, cancelled and failed), "
    "`businessStatus.text` and the outcome as an `output` `valueString` (or, failing "
    "that, the first `note`). Other elements are not changed this way. The same rules "
    "apply: a move the status does not allow is 409 naming the current status, a "
    "move that belongs to the other party 403, a missing reason 422 pointing at "
    "`/statusReason`, a stale `If-Match` 412; the timeline and events record it. "
    "Repeating a move already made is 409, as the status no longer allows it. The "
    "answer is the Task alone, naming its ServiceRequest by the referral's "
    "identifier; the ETag is the referral's version.",
    dependencies=[_accepts(FHIR_JSON, JSON)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": _TASK_SCHEMA, "example": FHIR_TASK_EXAMPLE}
                for media in (FHIR_JSON, JSON)
            },
        }
    },
    responses={
        200: {
            "description": "The Task in its new status",
            "headers": {"ETag": _CASE_HEADERS["ETag"]},
            "content": {FHIR_JSON: {"schema": _TASK_SCHEMA}},
        },
        **problem_responses(*AUTH_ERRORS, 403, 404, 409, 412, 413, 415, 422),
    },
)
def update_minsal_task(
    referral_id: uuid.UUID,
    db: DbDep,
    caller: ReferralWriterDep,
    task: NativeRecordDep,
    if_match: IfMatchVersionsDep,
) -> FhirResponse:
    adapter = get_referral_adapter(MINSAL)
    change = adapter.update_to_common(task)
    referral = native_service.move_by_task(
        db, referral_id, change, actor=caller, if_match=if_match
    )
    rendered = adapter.update_from_common(referral_service.public_view(referral))
    db.commit()
    return FhirResponse(rendered, headers={"ETag": etag(referral.version)})
