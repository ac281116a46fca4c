"""Webhook deliveries in the database: claiming, acknowledging, listing, replaying.

A delivery's life, one attempt at a time:

    pending ──claim──▶ leased (locked_by, locked_until) ──acknowledge──▶
        delivered                     2xx
        cancelled                     410: the subscription is disabled
        pending, next_attempt_at      any other failure, on the backoff schedule
        dead                          the schedule is exhausted: the owner is told

An attempt that cannot even be prepared (a signing secret that no longer decrypts, a
format that fails to render) is recorded at claim time as a failed attempt on the same
schedule, so one broken subscription never stops the others' deliveries.

Claiming is a conditional UPDATE that only one worker can win (rowcount 1), so two
workers never send the same attempt. A worker that dies after sending but before
acknowledging leaves its lease to expire; the delivery is then claimed again and
re-sent with the same `webhook-id` (the event id): receivers deduplicate on it.

Order: a delivery waits while an earlier event of the same case for the same
subscription is still pending, so each subscription gets a case's events in order.

Dead-letter notice: a `delivery.dead_lettered` event on the same case, narrowed to
the subscription's owner (`only_for`), so it appears in the owner's feed and goes
to the owner's other subscriptions, never back to the one that failed
(`subscriptions.NOTICE_TYPES`). A notice that itself dies makes no further notice.

The worker (`app.worker`) commits after `claim` and after `acknowledge`.
"""

import json
import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.adapters.base import EventView
from app.adapters.registry import render_event
from app.errors import Conflict, NotFound
from app.models import Delivery, DeliveryAttempt, Event, Subscription
from app.models.notifications import (
    CANCELLED,
    DEAD,
    DELIVERED,
    PENDING,
)
from app.notifications.backoff import next_attempt_at
from app.notifications.sender import AttemptResult
from app.services import events, subscriptions
from app.services.pagination import beyond, decode_position_key, page_of
from app.services.secretbox import SecretBox

DEAD_LETTERED = "delivery.dead_lettered"
GONE_REASON = "The endpoint answered 410 Gone"
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Job:
    """Everything one attempt needs, read at claim time; no session needed to send."""

    delivery_id: uuid.UUID
    attempt_id: uuid.UUID
    subscription_id: uuid.UUID
    owner: str
    case_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempt: int
    url: str
    secrets: list[str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Unprepared:
    """A claimed attempt that could not be built; recorded as failed, not sent."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempt: int
    error_type: str
    status: str | None


def due(
    db: Session, *, now: datetime, limit: int, per_subscription: int
) -> list[uuid.UUID]:
    """Deliveries ready to send, at most `per_subscription` in flight for each one."""
    in_flight = _leased_per_subscription(db, now)
    room = {s: per_subscription - n for s, n in in_flight.items()}

    chosen: list[uuid.UUID] = []
    for delivery_id, subscription_id in db.execute(_ready(now, per_subscription)):
        if room.setdefault(subscription_id, per_subscription) > 0:
            room[subscription_id] -= 1
            chosen.append(delivery_id)
        if len(chosen) == limit:
            break
    return chosen


def _ready(now: datetime, per_subscription: int):  # type: ignore[no-untyped-def]
    """The oldest due deliveries of each subscription, `per_subscription` at most:
    ranked within each subscription, so one backlog cannot fill the whole round."""
    earlier = aliased(Delivery)
    waits_for_earlier = exists().where(
        col(earlier.subscription_id) == col(Delivery.subscription_id),
        col(earlier.case_id) == col(Delivery.case_id),
        col(earlier.case_seq) < col(Delivery.case_seq),
        col(earlier.status) == PENDING,
    )
    oldest_first = (col(Delivery.next_attempt_at), col(Delivery.event_position))
    rank = func.row_number().over(
        partition_by=col(Delivery.subscription_id), order_by=oldest_first
    )
    ranked = (
        select(
            col(Delivery.id).label("id"),
            col(Delivery.subscription_id).label("subscription_id"),
            col(Delivery.next_attempt_at).label("next_attempt_at"),
            rank.label("rank"),
        )
        .join(Subscription, col(Subscription.id) == Delivery.subscription_id)
        .where(col(Delivery.status) == PENDING)
        .where(col(Delivery.next_attempt_at) <= now)
        .where(_lease_free(now))
        .where(col(Subscription.active).is_(True))
        .where(~waits_for_earlier)
        .subquery()
    )
    return (
        select(ranked.c.id, ranked.c.subscription_id)
        .where(ranked.c.rank <= per_subscription)
        .order_by(ranked.c.rank, ranked.c.next_attempt_at)
    )


def _lease_free(now: datetime):  # type: ignore[no-untyped-def]
    return or_(col(Delivery.locked_until).is_(None), col(Delivery.locked_until) <= now)


def _leased_per_subscription(db: Session, now: datetime) -> dict[uuid.UUID, int]:
    query = (
        select(Delivery.subscription_id, func.count())
        .where(col(Delivery.status) == PENDING)
        .where(col(Delivery.locked_until) > now)
        .group_by(col(Delivery.subscription_id))
    )
    return {subscription_id: count for subscription_id, count in db.execute(query)}


def claim(
    db: Session,
    delivery_id: uuid.UUID,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    box: SecretBox,
    rng: random.Random,
) -> Job | Unprepared | None:
    """Take the lease on a due delivery and open its attempt; None if another worker
    was faster or it is no longer due, `Unprepared` if the attempt could not be built
    (then already recorded as failed and scheduled like any other failure)."""
    won = db.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .where(col(Delivery.status) == PENDING)
        .where(col(Delivery.next_attempt_at) <= now)
        .where(_lease_free(now))
        .values(
            locked_by=worker,
            locked_until=now + lease,
            attempts=col(Delivery.attempts) + 1,
            updated_at=now,
        )
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None

    delivery = db.get_one(Delivery, delivery_id, populate_existing=True)
    attempt = _open_attempt(db, delivery, worker=worker, now=now)
    subscription = db.get_one(Subscription, delivery.subscription_id)
    event = db.get_one(Event, delivery.event_position)
    job = _job(delivery, attempt, subscription, event)
    try:
        return _prepared(job, subscription, event, box=box, now=now)
    except Exception as exc:
        # Deliberately broad: whatever breaks one subscription's secret or format
        # must not escape, or the oldest due delivery fails every claim, forever.
        return _unprepared(db, job, exc, worker=worker, now=now, rng=rng)


def _open_attempt(
    db: Session, delivery: Delivery, *, worker: str, now: datetime
) -> DeliveryAttempt:
    # An attempt still `sending` belonged to a worker that stopped before it could
    # record the answer: the receiver may or may not have it.
    db.execute(
        update(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id) == delivery.id)
        .where(col(DeliveryAttempt.outcome) == "sending")
        .values(outcome="lost", error="the worker stopped before recording an answer")
    )
    count = select(func.count()).where(DeliveryAttempt.delivery_id == delivery.id)
    attempt = DeliveryAttempt(
        delivery_id=delivery.id,
        number=int(db.execute(count).scalar_one()) + 1,
        worker=worker,
        at=now,
    )
    db.add(attempt)
    db.flush()
    return attempt


def _job(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    subscription: Subscription,
    event: Event,
) -> Job:
    """The attempt's identity; `_prepared` adds what can fail: secrets and body."""
    return Job(
        delivery_id=delivery.id,
        attempt_id=attempt.id,
        subscription_id=subscription.id,
        owner=subscription.institution_id,
        case_id=event.case_id,
        event_id=event.id,
        event_type=event.type,
        attempt=delivery.attempts,
        url=subscription.url,
        secrets=[],
        body=b"",
    )


def _prepared(
    job: Job, subscription: Subscription, event: Event, *, box: SecretBox, now: datetime
) -> Job:
    return replace(
        job,
        secrets=subscriptions.live_secrets(subscription, box=box, now=now),
        body=envelope(event, format=subscription.format),
    )


def _unprepared(
    db: Session,
    job: Job,
    error: Exception,
    *,
    worker: str,
    now: datetime,
    rng: random.Random,
) -> Unprepared:
    # The type only: an exception's message can quote the data it choked on.
    error_type = type(error).__name__
    result = AttemptResult(
        "retry", None, 0.0, f"the attempt could not be prepared: {error_type}"
    )
    status = acknowledge(db, job, result, worker=worker, now=now, rng=rng)
    return Unprepared(
        delivery_id=job.delivery_id,
        subscription_id=job.subscription_id,
        attempt=job.attempt,
        error_type=error_type,
        status=status,
    )


def envelope(event: Event, *, format: str = subscriptions.COMMON_FORMAT) -> bytes:
    """The Standard Webhooks body: type, timestamp and the thin event as `data`, in
    the subscription's format (an unknown one falls back to common)."""
    view = EventView(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        case_id=event.case_id,
        case_seq=event.case_seq,
        payload=event.payload,
    )
    body = {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": render_event(format, view),
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def acknowledge(
    db: Session,
    job: Job,
    result: AttemptResult,
    *,
    worker: str,
    now: datetime,
    rng: random.Random,
    refused: bool = False,
) -> str | None:
    """Record the attempt and move the delivery on; the new status, or None when the
    lease was lost to another worker (the attempt is still recorded)."""
    _close_attempt(db, job, result, refused=refused)
    if result.outcome == "delivered":
        return _finish(db, job, result, worker=worker, now=now, status=DELIVERED)
    if result.outcome == "gone":
        return _gone(db, job, result, worker=worker, now=now)

    retry_at = next_attempt_at(
        job.attempt, now, rng=rng, retry_after=result.retry_after
    )
    if retry_at is None:
        return _dead(db, job, result, worker=worker, now=now)
    return _finish(
        db, job, result, worker=worker, now=now, status=PENDING, retry_at=retry_at
    )


def _close_attempt(
    db: Session, job: Job, result: AttemptResult, *, refused: bool
) -> None:
    attempt = db.get_one(DeliveryAttempt, job.attempt_id)
    attempt.outcome = REFUSED if refused else result.outcome
    attempt.status_code = result.status_code
    attempt.latency_ms = round(result.latency_ms, 1)
    attempt.error = result.error
    db.add(attempt)


def _finish(
    db: Session,
    job: Job,
    result: AttemptResult,
    *,
    worker: str,
    now: datetime,
    status: str,
    retry_at: datetime | None = None,
) -> str | None:
    values: dict[str, object] = {
        "status": status,
        "locked_by": None,
        "locked_until": None,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "updated_at": now,
    }
    if status == DELIVERED:
        values["delivered_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at

    # Only while the lease is still ours: a worker that took over decides now.
    moved = db.execute(
        update(Delivery)
        .where(col(Delivery.id) == job.delivery_id)
        .where(col(Delivery.locked_by) == worker)
        .where(col(Delivery.status) == PENDING)
        .values(**values)
    )
    db.flush()
    return status if moved.rowcount == 1 else None  # type: ignore[attr-defined]


def _gone(
    db: Session, job: Job, result: AttemptResult, *, worker: str, now: datetime
) -> str | None:
    status = _finish(db, job, result, worker=worker, now=now, status=CANCELLED)
    if status is None:
        # The lease was lost: the worker that holds it now decides for the delivery.
        return None
    subscription = db.get_one(Subscription, job.subscription_id)
    if subscription.active:
        subscriptions.disable(db, subscription, reason=GONE_REASON)
    return status


def _dead(
    db: Session, job: Job, result: AttemptResult, *, worker: str, now: datetime
) -> str | None:
    status = _finish(db, job, result, worker=worker, now=now, status=DEAD)
    if status == DEAD and job.event_type not in subscriptions.NOTICE_TYPES:
        events.record(
            db,
            type=DEAD_LETTERED,
            case_id=job.case_id,
            payload={
                "delivery_id": str(job.delivery_id),
                "subscription_id": str(job.subscription_id),
                "event_id": str(job.event_id),
                "event_type": job.event_type,
            },
            only_for=frozenset({job.owner}),
        )
    return status


def get(
    db: Session, delivery_id: uuid.UUID, *, subscription_id: uuid.UUID | None = None
) -> Delivery:
    delivery = db.get(Delivery, delivery_id)
    if delivery is None or subscription_id not in (None, delivery.subscription_id):
        raise NotFound(f"There is no delivery {delivery_id}")
    return delivery


def list_deliveries(
    db: Session,
    *,
    subscription_id: uuid.UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Delivery], str | None]:
    """Newest first, keyset-paginated on (event position, id)."""
    query = select(Delivery).order_by(
        col(Delivery.event_position).desc(), col(Delivery.id).desc()
    )
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if since is not None:
        query = query.where(col(Delivery.created_at) >= since)
    if cursor is not None:
        query = query.where(_before(cursor))

    rows = list(db.exec(query.limit(limit + 1)))
    return page_of(rows, limit, key=lambda d: (d.event_position, d.id))


def _before(cursor: str) -> ColumnElement[bool]:
    key = decode_position_key(cursor)
    position, delivery_id = col(Delivery.event_position), col(Delivery.id)
    return beyond(position, delivery_id, key, descending=True)


def attempts_of(
    db: Session, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    query = (
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_(delivery_ids))
        .order_by(col(DeliveryAttempt.number))
    )
    attempts: dict[uuid.UUID, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    for attempt in db.exec(query):
        attempts[attempt.delivery_id].append(attempt)
    return attempts


def replay(db: Session, delivery: Delivery, *, now: datetime) -> Delivery:
    """Send a finished delivery again, from the start of the schedule."""
    if delivery.status == PENDING:
        raise Conflict(f"The delivery {delivery.id} is already waiting to be sent")
    subscription = db.get_one(Subscription, delivery.subscription_id)
    if not subscription.active:
        raise Conflict(f"The subscription {subscription.id} is disabled")

    db.execute(_restart(now).where(col(Delivery.id) == delivery.id))
    db.flush()
    db.refresh(delivery)
    return delivery


def replay_failed(
    db: Session,
    *,
    since: datetime,
    now: datetime,
    subscription_id: uuid.UUID | None = None,
) -> int:
    """Replay every dead delivery created since `since` whose subscription is active;
    how many were replayed."""
    active = select(Subscription.id).where(col(Subscription.active).is_(True))
    if subscription_id is not None:
        active = active.where(Subscription.id == subscription_id)
    result = db.execute(
        _restart(now)
        .where(col(Delivery.status) == DEAD)
        .where(col(Delivery.created_at) >= since)
        .where(col(Delivery.subscription_id).in_(active))
    )
    db.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _restart(now: datetime):  # type: ignore[no-untyped-def]
    return update(Delivery).values(
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        updated_at=now,
        locked_by=None,
        locked_until=None,
        delivered_at=None,
    )
