"""Webhook subscriptions: who wants which events where, and the fan-out to them.

`fan_out` runs inside `events.record`, in the transaction of the change: an event is
committed with one pending `Delivery` per matching subscription, or not at all.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.models import Delivery, Event, Subscription
from app.models.notifications import CANCELLED, PENDING
from app.models.types import utcnow
from app.notifications import urlpolicy
from app.notifications.signing import new_secret
from app.services.access import audience
from app.services.secretbox import SecretBox
from app.settings import Settings

COMMON_FORMAT = "common"
# Dead-letter notices name the subscription that failed; sending one there would
# only fail again and, three days later, produce a notice about the notice.
NOTICE_TYPES = frozenset({"delivery.dead_lettered"})


@dataclass(frozen=True, slots=True)
class IssuedSubscription:
    """A subscription with its signing secret in clear, shown once."""

    subscription: Subscription
    secret: str


def known_formats() -> set[str]:
    """`common` and every adapter's name (the adapters' native formats)."""
    from app.adapters.registry import ADAPTERS, REFERRAL_ADAPTERS

    return {COMMON_FORMAT, *ADAPTERS, *REFERRAL_ADAPTERS}


def check_url(url: str, settings: Settings) -> None:
    """The URL policy with this deployment's settings (blocking: resolves DNS)."""
    urlpolicy.check_webhook_url(
        url,
        development=settings.development,
        allowed_hosts=settings.webhook_allowed_hosts,
        # Looked up at call time so that tests can stand in for DNS.
        resolve=urlpolicy.resolve_host,
    )


def create(
    db: Session,
    *,
    institution_id: str,
    url: str,
    event_types: list[str],
    format: str,
    settings: Settings,
) -> IssuedSubscription:
    """Register an endpoint for an institution, with a fresh signing secret."""
    _check_format(format)
    check_url(url, settings)

    secret = new_secret()
    subscription = Subscription(
        institution_id=institution_id,
        url=url,
        event_types=sorted(set(event_types)),
        format=format,
        secret_encrypted=SecretBox(settings).seal(secret),
    )
    db.add(subscription)
    db.flush()
    return IssuedSubscription(subscription, secret)


def list_owned(db: Session, institution_id: str) -> list[Subscription]:
    query = (
        select(Subscription)
        .where(Subscription.institution_id == institution_id)
        .where(col(Subscription.deleted_at).is_(None))
        .order_by(col(Subscription.created_at), col(Subscription.id))
    )
    return list(db.exec(query))


def get_owned(
    db: Session, subscription_id: uuid.UUID, *, institution_id: str | None
) -> Subscription:
    """The subscription; 404 if deleted or, unless `institution_id` is None (an
    admin), owned by another institution."""
    subscription = db.get(Subscription, subscription_id)
    if (
        subscription is None
        or subscription.deleted_at is not None
        or institution_id not in (None, subscription.institution_id)
    ):
        raise NotFound(f"There is no subscription {subscription_id}")
    return subscription


def delete(db: Session, subscription: Subscription) -> None:
    """Stop delivering; the delivery history stays for the owner and the admins."""
    now = utcnow()
    subscription.active = False
    subscription.deleted_at = now
    subscription.disabled_reason = "deleted by its owner"
    subscription.updated_at = now
    db.add(subscription)
    cancel_pending(db, subscription.id)
    db.flush()


def disable(db: Session, subscription: Subscription, *, reason: str) -> None:
    subscription.active = False
    subscription.disabled_reason = reason
    subscription.updated_at = utcnow()
    db.add(subscription)
    cancel_pending(db, subscription.id)
    db.flush()


def cancel_pending(db: Session, subscription_id: uuid.UUID) -> None:
    db.execute(
        update(Delivery)
        .where(col(Delivery.subscription_id) == subscription_id)
        .where(col(Delivery.status) == PENDING)
        .values(status=CANCELLED, locked_by=None, locked_until=None)
    )


def rotate_secret(
    db: Session, subscription: Subscription, *, settings: Settings
) -> IssuedSubscription:
    """A new secret; the current one still signs for `webhook_rotation_hours`."""
    now = utcnow()
    secret = new_secret()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_until = now + timedelta(
        hours=settings.webhook_rotation_hours
    )
    subscription.secret_encrypted = SecretBox(settings).seal(secret)
    subscription.updated_at = now
    db.add(subscription)
    db.flush()
    return IssuedSubscription(subscription, secret)


def live_secrets(
    subscription: Subscription, *, box: SecretBox, now: datetime
) -> list[str]:
    """The secrets to sign with now: the current one, and the previous one while its
    rotation window lasts."""
    secrets = [box.open(subscription.secret_encrypted)]
    previous = subscription.previous_secret_encrypted
    until = subscription.previous_secret_until
    if previous is not None and until is not None and now < until:
        secrets.append(box.open(previous))
    return secrets


def wants(subscription: Subscription, event_type: str) -> bool:
    """Whether the subscription's filter takes `event_type` (``referral.*`` works)."""
    if not subscription.event_types:
        return True
    return any(
        event_type == wanted
        or (wanted.endswith(".*") and event_type.startswith(wanted[:-1]))
        for wanted in subscription.event_types
    )


def fan_out(db: Session, event: Event, *, only_for: frozenset[str] | None) -> int:
    """Add one pending delivery per active subscription that may see the event."""
    institutions = audience(db, event.case_id)
    if only_for is not None:
        institutions &= only_for
    if not institutions:
        return 0

    query = (
        select(Subscription)
        .where(col(Subscription.institution_id).in_(institutions))
        .where(col(Subscription.active).is_(True))
    )
    targets = [s for s in db.exec(query) if _should_receive(s, event)]
    for subscription in targets:
        db.add(_delivery(subscription, event))
    return len(targets)


def _should_receive(subscription: Subscription, event: Event) -> bool:
    if event.type in NOTICE_TYPES:
        if event.payload.get("subscription_id") == str(subscription.id):
            return False
    return wants(subscription, event.type)


def _delivery(subscription: Subscription, event: Event) -> Delivery:
    assert event.position is not None, "fan out after the event is flushed"
    return Delivery(
        subscription_id=subscription.id,
        event_position=event.position,
        event_id=event.id,
        case_id=event.case_id,
        case_seq=event.case_seq,
        next_attempt_at=event.occurred_at,
    )


def _check_format(format: str) -> None:
    formats = known_formats()
    if format not in formats:
        detail = f"Unknown format '{format}'; use one of: {', '.join(sorted(formats))}"
        raise InvalidInput(detail, errors=[{"pointer": "/format", "detail": detail}])
