"""Idempotency keys: a create retried with the same key runs once.

What a client holding one key can rely on:

- **Claim first.** The first request claims the key with an in-progress marker that is
  committed in its own short transaction before any work starts, so a concurrent
  retry sees it and gets 409 instead of creating a second record.
- **Stored with the change.** The response is written into the marker in the same
  transaction as whatever the create wrote: after a crash there is either both (a
  retry replays) or neither (a retry creates).
- **Released on failure.** If the create fails, the marker is removed, so the client
  may fix its request and retry with the same key.
- **Replay or refuse.** A retry with the same key and the same request (method, path,
  canonical body) gets the first status, body and headers again, marked
  `Idempotent-Replayed: true`; the same key with a different request gets 422.
- **Kept 24 hours.** Keys are scoped to the client and kept `KEEP_FOR`; expired ones
  are purged on the next claim. A marker left behind by a process that died
  mid-request is taken over after `ABANDONED_AFTER`; the take-over is checked again
  when the response is stored, so two runs can never both commit.

`run_idempotent` commits: the `create` it is given must only add and flush.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog
from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from app.errors import Conflict, InvalidInput
from app.models import IdempotencyRecord
from app.models.types import utcnow

KEEP_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)
# 1 to 255 printable ASCII characters (RFC 9110 header values are ASCII in practice).
KEY_PATTERN = r"^[\x20-\x7e]{1,255}$"
REPLAYED_HEADER = "Idempotent-Replayed"

log = structlog.get_logger("app.idempotency")


class Created(NamedTuple):
    """What a create returns: its status, its body and headers such as Location."""

    status: int
    body: BaseModel
    headers: dict[str, str]


@dataclass(frozen=True)
class StoredResponse:
    """A response as kept for replay: the body is JSON-ready."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


@dataclass(frozen=True)
class IdempotentRequest:
    """One create request, as far as idempotency cares."""

    client_id: str
    key: str | None
    method: str
    path: str
    body: Any = None

    @property
    def fingerprint(self) -> str:
        """A hash of the method, the path and the body with its keys sorted."""
        canonical = json.dumps(
            [self.method.upper(), self.path, self.body],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    db: Session, request: IdempotentRequest, create: Callable[[], Created]
) -> StoredResponse:
    """Run `create` once per key and commit; replay its response to retries."""
    if request.key is None:
        response = _stored(create())
        db.commit()
        return response

    claimed_at = utcnow()
    earlier = _claim(db, request, claimed_at)
    if earlier is not None:
        return earlier

    try:
        response = _stored(create())
        _keep(db, request, claimed_at, response)
        db.commit()
    except BaseException:
        db.rollback()
        _release(db, request, claimed_at)
        raise
    return response


def _claim(
    db: Session, request: IdempotentRequest, claimed_at: datetime
) -> StoredResponse | None:
    """Claim the key (None), or answer from what an earlier request left."""
    db.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) < claimed_at)
    )
    record = _find(db, request)
    if record is None:
        record = _insert_marker(db, request, claimed_at)
        if record is None:
            return None

    if record.response_status is None:
        if claimed_at - record.created_at < ABANDONED_AFTER:
            raise Conflict(
                "A request with this Idempotency-Key is still running; retry later",
                headers={"Retry-After": "1"},
            )
        _take_over(db, record, request, claimed_at)
        return None

    if record.request_hash != request.fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was used for a different request; use a new key",
            errors=[{"parameter": "header:Idempotency-Key", "detail": "reused"}],
        )
    headers = dict(record.response_headers)
    return StoredResponse(record.response_status, record.response_body, headers, True)


def _find(db: Session, request: IdempotentRequest) -> IdempotencyRecord | None:
    return db.get(
        IdempotencyRecord, (request.client_id, request.key), populate_existing=True
    )


def _insert_marker(
    db: Session, request: IdempotentRequest, claimed_at: datetime
) -> IdempotencyRecord | None:
    """Commit the in-progress marker; if another request won the race, its record."""
    assert request.key is not None
    db.add(
        IdempotencyRecord(
            client_id=request.client_id,
            key=request.key,
            method=request.method,
            path=request.path,
            request_hash=request.fingerprint,
            created_at=claimed_at,
            expires_at=claimed_at + KEEP_FOR,
        )
    )
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
    else:
        return None

    winner = _find(db, request)
    if winner is None:
        raise Conflict("Another request with this Idempotency-Key just ended; retry")
    return winner


def _take_over(
    db: Session,
    record: IdempotencyRecord,
    request: IdempotentRequest,
    claimed_at: datetime,
) -> None:
    """Claim a marker whose request was abandoned, unless another retry just did."""
    statement = (
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.client_id) == request.client_id,
            col(IdempotencyRecord.key) == request.key,
            col(IdempotencyRecord.created_at) == record.created_at,
            col(IdempotencyRecord.response_status).is_(None),
        )
        .values(
            method=request.method,
            path=request.path,
            request_hash=request.fingerprint,
            created_at=claimed_at,
            expires_at=claimed_at + KEEP_FOR,
        )
    )
    taken = db.exec(statement).rowcount == 1
    db.commit()
    if not taken:
        raise Conflict("A request with this Idempotency-Key is still running; retry")


def _keep(
    db: Session,
    request: IdempotentRequest,
    claimed_at: datetime,
    response: StoredResponse,
) -> None:
    """Store the response in our marker, in the create's own transaction."""
    statement = (
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.client_id) == request.client_id,
            col(IdempotencyRecord.key) == request.key,
            col(IdempotencyRecord.created_at) == claimed_at,
        )
        .values(
            response_status=response.status,
            response_body=response.body,
            response_headers=response.headers,
        )
    )
    if db.exec(statement).rowcount != 1:
        # Our marker was taken over as abandoned: the other run owns the key now.
        raise Conflict("This request took too long and a retry took over its key")


def _release(db: Session, request: IdempotentRequest, claimed_at: datetime) -> None:
    """Remove our marker so the client may retry; a failure here only delays that."""
    try:
        db.exec(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.client_id) == request.client_id,
                col(IdempotencyRecord.key) == request.key,
                col(IdempotencyRecord.created_at) == claimed_at,
                col(IdempotencyRecord.response_status).is_(None),
            )
        )
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        log.warning("idempotency marker not released", client_id=request.client_id)


def _stored(created: Created) -> StoredResponse:
    body = created.body.model_dump(mode="json")
    return StoredResponse(created.status, body, dict(created.headers))
