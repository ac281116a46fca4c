"""The referral rules: who may move a referral where, and when consent allows one.

Pure functions over plain values (no database), so the whole table is testable alone.
Statuses are HL7 FHIR ``Task.status`` codes::

    requested ──► received ──► accepted ──► in-progress ──► completed
        │            │                       │     ▲  │
        └─────┬──────┘                       ▼     │  └──► failed*
              ▼                           on-hold ─┘
          rejected*                          └─────────► failed*

    Every arrow above is the receiver's. The sender's one move is to cancelled*,
    from any status that is not final (completed, failed, rejected, cancelled).
    * needs a reason.

A referral always passes through `received` before `accepted`, so the sender knows it
arrived. `on-hold` resumes to `in-progress` or fails; it cannot complete without
resuming first. When a referral is rejected or cancelled, the recipient stops seeing
the case unless it holds another live referral on it (or sees it for another reason).
"""

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from app.codes import ReferralStatus, Role, Service
from app.errors import Conflict, Forbidden, InvalidInput
from app.schemas.cases import Consent
from app.schemas.referrals import ConsentOverride

S = ReferralStatus


class Party(StrEnum):
    """Which side of a referral an institution is on."""

    SENDER = "sender"
    RECEIVER = "receiver"


# The receiver's moves; the sender's only move, cancel, is added for every non-final
# status below, so the picture above and this table cannot drift apart.
_FORWARD: Mapping[ReferralStatus, frozenset[ReferralStatus]] = MappingProxyType(
    {
        S.REQUESTED: frozenset({S.RECEIVED, S.REJECTED}),
        S.RECEIVED: frozenset({S.ACCEPTED, S.REJECTED}),
        S.ACCEPTED: frozenset({S.IN_PROGRESS}),
        S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED, S.FAILED}),
        S.ON_HOLD: frozenset({S.IN_PROGRESS, S.FAILED}),
    }
)

FINAL: frozenset[ReferralStatus] = frozenset(
    {S.COMPLETED, S.FAILED, S.REJECTED, S.CANCELLED}
)
NEEDS_REASON: frozenset[ReferralStatus] = frozenset({S.REJECTED, S.CANCELLED, S.FAILED})
# A declined or withdrawn referral is no reason to keep seeing the child's case; a
# completed or failed one is: the recipient did work there and may follow it up.
ENDS_ACCESS: frozenset[ReferralStatus] = frozenset({S.REJECTED, S.CANCELLED})


def next_statuses(current: ReferralStatus) -> list[ReferralStatus]:
    """Every status someone may move `current` to, in the order of the code list."""
    reachable = set(_FORWARD.get(current, frozenset()))
    if current not in FINAL:
        reachable.add(S.CANCELLED)
    return [status for status in ReferralStatus if status in reachable]


def who_moves_to(target: ReferralStatus) -> Party:
    """Who may set `target`: the sender cancels, the receiver does the rest."""
    return Party.SENDER if target is S.CANCELLED else Party.RECEIVER


def check_transition(
    current: ReferralStatus,
    target: ReferralStatus,
    *,
    party: Party,
    reason: str | None,
) -> None:
    """Refuse a move the state machine forbids, by the wrong party, or without reason.

    The status is checked before the party, so a move that nobody may make answers 409
    naming the current status whoever asks.
    """
    allowed = next_statuses(current)
    if target not in allowed:
        raise Conflict(
            _not_allowed_detail(current, target, allowed),
            current_status=current.value,
            allowed_statuses=[status.value for status in allowed],
        )

    if party is not who_moves_to(target):
        raise Forbidden(_wrong_party_detail(target))

    if target in NEEDS_REASON and not reason:
        raise InvalidInput(
            f"Say why the referral is {target.value}",
            errors=[{"pointer": "/reason", "detail": f"required when {target.value}"}],
        )


def _not_allowed_detail(
    current: ReferralStatus, target: ReferralStatus, allowed: list[ReferralStatus]
) -> str:
    if not allowed:
        return f"The referral is {current.value}, a final status; it cannot change"
    names = ", ".join(status.value for status in allowed)
    return (
        f"The referral is {current.value}; it cannot move to {target.value}, "
        f"only to: {names}"
    )


def _wrong_party_detail(target: ReferralStatus) -> str:
    if target is S.CANCELLED:
        return "Only the institution that sent the referral may cancel it"
    return f"Only the institution that received the referral may set it {target.value}"


def check_consent(
    consent: Consent | None,
    *,
    service: Service,
    recipient_role: Role,
    override: ConsentOverride | None,
    sender_role: Role,
) -> None:
    """Refuse a referral that neither the case's consent nor an override allows.

    Only the child-protection authority may refer without consent (403 for anyone
    else who tries). Missing consent is 409, not 422: the request is well formed,
    but the case's current consent does not cover it; record consent on the case, or
    ask the authority for an override, then retry the same request.
    """
    if override is not None:
        if sender_role != Role.CHILD_PROTECTION:
            raise Forbidden(
                "Only the child-protection authority may refer without consent"
            )
        return

    missing = missing_consent(consent, service=service, recipient_role=recipient_role)
    if missing:
        raise Conflict(
            "The case's consent does not cover this referral: " + "; ".join(missing),
            missing_consent=missing,
        )


def missing_consent(
    consent: Consent | None, *, service: Service, recipient_role: Role
) -> list[str]:
    """What the consent lacks for this service and recipient; empty if nothing."""
    if consent is None:
        return ["the case has no consent recorded"]

    missing = []
    if service not in consent.services:
        missing.append(f"service {service.value} is not consented")
    if recipient_role not in consent.share_with_roles:
        missing.append(f"sharing with role {recipient_role.value} is not consented")
    if service is Service.FAMILY_TRACING and not consent.family_tracing:
        missing.append("family tracing is not consented")
    return missing
