"""Native records: what the hub does with an institution's own format once mapped.

Mapping belongs to `app.adapters`; registering a case to `app.services.cases`; sending
a referral to `app.services.referrals`. This module strings them together for what
the common endpoints do not have: NDJSON batches (also used by `puente import`), a
MINSAL Bundle naming its case, a MINSAL Task moving a referral on, and a referral
read back with its child.

NOTE: a batch is the one place a service commits. Each line is its own unit of work,
run through `run_idempotent` (which commits, as its docstring says), so one bad line
never takes the good ones down with it, and a batch retried with the same
Idempotency-Key replays the lines that were registered and retries the ones that
failed. `puente import` has no header to send, so each line's key is derived from
its own bytes: see `import_lines`.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.adapters.base import CaseAdapter, InboundReferral
from app.adapters.minsal import CASE_SYSTEM
from app.codes import ReferralStatus, Role
from app.errors import InvalidInput, NotFound, PayloadTooLarge, ProblemError
from app.models import Case, Referral
from app.schemas.cases import CaseCreate, ChildMatch, ChildPublic
from app.schemas.native import LineProblem, LineResult, LineStatus
from app.schemas.referrals import ReferralTransition
from app.services import audit, children
from app.services import cases as case_service
from app.services import referrals as referral_service
from app.services.actors import Actor
from app.services.audit import ReadAction
from app.services.idempotency import Created, IdempotentRequest, run_idempotent
from app.services.institutions import get_institution

# (1-based line number, the line's bytes); blank lines are skipped, not numbered away.
Line = tuple[int, bytes]
# The client id the timeline shows for `puente import`: no API client has a colon.
IMPORT_CLIENT_ID = "cli:import"


@dataclass(frozen=True)
class SystemActor:
    """An institution acting through the hub's own tooling rather than an API client."""

    institution_id: str
    client_id: str
    role: Role


def import_actor(db: Session, institution_id: str) -> SystemActor:
    """Who `puente import` registers cases as: the institution, via the CLI."""
    institution = get_institution(db, institution_id, pointer="--institution")
    return SystemActor(institution.id, IMPORT_CLIENT_ID, Role(institution.role))


def decode_record(raw: bytes, *, what: str = "The body") -> dict[str, Any]:
    """One native record from JSON bytes; 422 when it is not a JSON object."""
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise _not_a_record(f"{what} is not valid JSON", str(exc)) from exc
    if not isinstance(record, dict):
        raise _not_a_record(f"{what} is not a record", "expected a JSON object")
    return record


def split_lines(body: bytes, *, max_lines: int, max_bytes: int) -> list[Line]:
    """The non-blank lines of an NDJSON body, within the batch limits (413 over)."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            f"A batch may be at most {max_bytes} bytes; split it", max_bytes=max_bytes
        )

    lines = lines_of(body)
    if len(lines) > max_lines:
        raise PayloadTooLarge(
            f"A batch may hold at most {max_lines} records, not {len(lines)}; split it",
            max_lines=max_lines,
        )
    return lines


def lines_of(body: bytes) -> list[Line]:
    """The non-blank lines of an NDJSON document, numbered as an editor would."""
    numbered = enumerate(body.splitlines(), start=1)
    return [(number, raw) for number, raw in numbered if raw.strip()]


def register_lines(
    db: Session,
    adapter: CaseAdapter[Any],
    lines: Iterable[Line],
    *,
    actor: Actor,
    key: str | None,
    path: str,
) -> Iterator[LineResult]:
    """Register each line as its own committed case; yields as each one is done."""
    for number, raw in lines:
        line_key = _line_key(key, number)
        yield _register_line(
            db, adapter, number, raw, actor=actor, key=line_key, path=path
        )


def import_lines(
    db: Session, adapter: CaseAdapter[Any], lines: Iterable[Line], *, actor: SystemActor
) -> Iterator[LineResult]:
    """Register each line of a file, once: a re-run replays the lines it registered.

    Each line's idempotency key is the hash of its bytes (with the institution and
    format), so a re-run, or the same file with lines added, registers only what is
    new, and a line repeated byte for byte is one case. Keys are kept 24 hours
    (`KEEP_FOR`): after that a re-run registers the lines again, as new cases linked
    to the same children.
    """
    for number, raw in lines:
        key = _content_key(actor.institution_id, adapter.name, raw)
        yield _register_line(
            db, adapter, number, raw, actor=actor, key=key, path=f"cli:{adapter.name}"
        )


def _register_line(
    db: Session,
    adapter: CaseAdapter[Any],
    number: int,
    raw: bytes,
    *,
    actor: Actor,
    key: str | None,
    path: str,
) -> LineResult:
    try:
        record = decode_record(raw, what=f"Line {number}")
        case = adapter.to_common(record)
        request = IdempotentRequest(actor.client_id, key, "POST", path, record)
        stored = run_idempotent(
            db, request, lambda: _registered(db, case, number, actor=actor)
        )
    except ProblemError as problem:
        # run_idempotent rolls back only when it holds a key; without one, we do.
        db.rollback()
        return _failed(number, problem)

    # A replay answers with the first run's line number; this run's is the true one.
    replayed = {"line": number, "replayed": stored.replayed}
    return LineResult.model_validate({**stored.body, **replayed})


def _registered(db: Session, case: CaseCreate, number: int, *, actor: Actor) -> Created:
    registration = case_service.register(db, case, actor=actor)
    status = LineStatus.LINKED if registration.linked else LineStatus.CREATED
    result = LineResult(
        line=number,
        status=status,
        case_id=registration.case.id,
        child_match=ChildMatch(
            linked=registration.linked, matched_on=registration.matched_on
        ),
    )
    return Created(201, result, {})


def _line_key(key: str | None, number: int) -> str | None:
    """One idempotency key per line, derived from the batch's, within 255 chars."""
    if key is None:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"batch:{digest}:{number}"


def _content_key(institution_id: str, adapter: str, raw: bytes) -> str:
    # Every institution imports as the same client, `cli:import`: without its id in
    # the key, one institution's re-run would replay another's case.
    digest = hashlib.sha256(raw.strip()).hexdigest()
    return f"import:{institution_id}:{adapter}:{digest}"


def _failed(number: int, problem: ProblemError) -> LineResult:
    return LineResult(
        line=number,
        status=LineStatus.ERROR,
        problem=LineProblem(
            type=problem.type,
            title=problem.title,
            status=problem.status,
            detail=problem.detail,
            errors=problem.extensions.get("errors"),
        ),
    )


def _not_a_record(detail: str, why: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"pointer": "", "detail": why}])


# MINSAL referrals

# Fields of a `ReferralTransition` -> where a MINSAL Task carries them.
TASK_POINTERS = {
    "/reason": "/statusReason",
    "/business_status": "/businessStatus",
    "/outcome": "/output",
}


def send_bundle_referral(
    db: Session,
    inbound: InboundReferral,
    bundle: Mapping[str, Any],
    *,
    actor: Actor,
) -> Referral:
    """Send the referral a Bundle carries, on the hub case its ServiceRequest names.

    The Bundle's Patient must be the child of that case as the hub knows it: a
    referral filed on the wrong case would show one child's health needs on another
    child's file.
    """
    request_at = _entry_at(bundle, "ServiceRequest")
    _refuse_updates(inbound, bundle, request_at)
    if inbound.case_id is None:
        raise _bundle_problem(
            f"{request_at}/requisition",
            f"expected the hub's case id, as an identifier with system {CASE_SYSTEM}",
        )

    case = _case_named(db, inbound.case_id, actor, f"{request_at}/requisition/value")
    _check_same_child(db, case, inbound, _entry_at(bundle, "Patient"))
    body = inbound.referral.for_case(case.id)
    try:
        return referral_service.create_referral(db, body, actor=actor)
    except InvalidInput as problem:
        raise _in_bundle(problem, _entry_at(bundle, "Task")) from problem


def _refuse_updates(
    inbound: InboundReferral, bundle: Mapping[str, Any], request_at: str
) -> None:
    if inbound.referral_id is not None:
        raise _bundle_problem(
            f"{request_at}/identifier",
            f"this Bundle is about referral {inbound.referral_id}, which the hub "
            "already has; move it on by sending its Task to PUT "
            f"/v1/native/minsal/referrals/{inbound.referral_id}/task",
        )
    if inbound.status != ReferralStatus.REQUESTED:
        raise _bundle_problem(
            f"{_entry_at(bundle, 'Task')}/status",
            f"a new referral starts as 'requested', not '{inbound.status.value}'",
        )


def _in_bundle(problem: InvalidInput, task_at: str) -> InvalidInput:
    """The referral service's 422, pointing at the Task elements it came from."""
    paths = {
        "/due_date": f"{task_at}/restriction/period/end",
        "/to_institution": f"{task_at}/owner/identifier/value",
    }
    return _repointed(problem, paths)


def move_by_task(
    db: Session,
    referral_id: uuid.UUID,
    change: ReferralTransition,
    *,
    actor: Actor,
    if_match: list[int] | None,
) -> Referral:
    """Move a referral as a MINSAL Task says, exactly as the common transition does.

    Only a 422 differs: it points at the Task element the value came from, such as
    `/statusReason` for a rejection without a reason.
    """
    try:
        return referral_service.transition(
            db, referral_id, change, actor=actor, if_match=if_match
        )
    except InvalidInput as problem:
        raise _repointed(problem, TASK_POINTERS) from problem


def _repointed(problem: InvalidInput, paths: Mapping[str, str]) -> InvalidInput:
    errors = [
        {**error, "pointer": paths.get(error.get("pointer", ""), error.get("pointer"))}
        for error in problem.errors
    ]
    return InvalidInput(problem.detail, errors)


def _case_named(db: Session, case_id: uuid.UUID, actor: Actor, pointer: str) -> Case:
    try:
        return case_service.get_case(db, case_id, actor=actor)
    except NotFound as exc:
        raise _bundle_problem(
            pointer, f"the hub has no case {case_id} that your institution can see"
        ) from exc


def _check_same_child(
    db: Session, case: Case, inbound: InboundReferral, patient_at: str
) -> None:
    known, _ = children.recognise(db, inbound.child)
    if known is None or known.id != case.child_id:
        raise _bundle_problem(
            patient_at,
            f"this Patient is not the child of case {case.id} as the hub knows it "
            "(no shared identifier, nor the same names and birth date)",
        )


def _entry_at(bundle: Mapping[str, Any], kind: str) -> str:
    """The pointer to the first entry holding a `kind` resource (the adapter found
    exactly one, or it would have refused the Bundle)."""
    for index, entry in enumerate(bundle.get("entry") or []):
        if (entry.get("resource") or {}).get("resourceType") == kind:
            return f"/entry/{index}/resource"
    return "/entry"


def _bundle_problem(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(
        "The Bundle cannot be filed as a referral",
        errors=[{"pointer": pointer, "detail": detail}],
    )


def referral_with_child(
    db: Session, referral_id: uuid.UUID, *, actor: Actor
) -> tuple[Referral, ChildPublic]:
    """A referral the actor is party to, with its child, while it may see the case;
    recorded in the read audit.

    NOTE: the native rendering carries the child's details, which the common referral
    does not; so once the recipient's access to the case has ended, the referral
    answers 404 here, as a missing one does, though `/v1/referrals/{id}` still shows
    it without the child.
    """
    referral = referral_service.get_referral(
        db, referral_id, institution_id=actor.institution_id
    )
    try:
        case = case_service.get_case(db, referral.case_id, actor=actor)
    except NotFound:
        raise NotFound(f"There is no referral {referral_id}") from None

    audit.record_read(
        db,
        actor=actor,
        action=ReadAction.REFERRAL_NATIVE_READ,
        resource_type="referral",
        resource_ids=[referral.id],
    )
    return referral, case_service.public_case(db, case).child
