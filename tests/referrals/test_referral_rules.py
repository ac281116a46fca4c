"""The state machine and the consent rule, without a database."""

from datetime import UTC, datetime

import pytest

from app.codes import ReferralStatus, Role, Service
from app.errors import Conflict, Forbidden, InvalidInput
from app.schemas.cases import Consent
from app.schemas.referrals import ConsentOverride
from app.services.referral_rules import (
    FINAL,
    Party,
    check_consent,
    check_transition,
    next_statuses,
)

S = ReferralStatus

# The receiver's moves, written out again by hand from the picture in the module.
RECEIVER_MOVES = {
    (S.REQUESTED, S.RECEIVED),
    (S.REQUESTED, S.REJECTED),
    (S.RECEIVED, S.ACCEPTED),
    (S.RECEIVED, S.REJECTED),
    (S.ACCEPTED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.ON_HOLD),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.FAILED),
    (S.ON_HOLD, S.IN_PROGRESS),
    (S.ON_HOLD, S.FAILED),
}
SENDER_MOVES = {(status, S.CANCELLED) for status in S if status not in FINAL}
FORBIDDEN = sorted(
    (current, target)
    for current in S
    for target in S
    if (current, target) not in RECEIVER_MOVES | SENDER_MOVES
)


@pytest.mark.parametrize(("current", "target"), sorted(RECEIVER_MOVES))
def test_the_receiver_makes_each_forward_move(
    current: ReferralStatus, target: ReferralStatus
) -> None:
    check_transition(current, target, party=Party.RECEIVER, reason="because")


@pytest.mark.parametrize(("current", "target"), sorted(SENDER_MOVES))
def test_the_sender_cancels_from_every_status_that_is_not_final(
    current: ReferralStatus, target: ReferralStatus
) -> None:
    check_transition(current, target, party=Party.SENDER, reason="no longer needed")


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_every_other_move_is_a_conflict_naming_the_current_status(
    current: ReferralStatus, target: ReferralStatus
) -> None:
    for party in Party:
        with pytest.raises(Conflict) as caught:
            check_transition(current, target, party=party, reason="because")

        assert current.value in caught.value.detail
        assert caught.value.extensions["current_status"] == current.value
        assert caught.value.extensions["allowed_statuses"] == [
            s.value for s in next_statuses(current)
        ]


def test_final_statuses_allow_nothing() -> None:
    assert all(next_statuses(status) == [] for status in FINAL)


@pytest.mark.parametrize(("current", "target"), sorted(RECEIVER_MOVES))
def test_the_sender_cannot_move_a_referral_forward(
    current: ReferralStatus, target: ReferralStatus
) -> None:
    with pytest.raises(Forbidden):
        check_transition(current, target, party=Party.SENDER, reason="because")


def test_the_receiver_cannot_cancel() -> None:
    with pytest.raises(Forbidden, match="sent the referral"):
        check_transition(S.RECEIVED, S.CANCELLED, party=Party.RECEIVER, reason="x")


@pytest.mark.parametrize(
    ("current", "target", "party"),
    [
        (S.REQUESTED, S.REJECTED, Party.RECEIVER),
        (S.IN_PROGRESS, S.FAILED, Party.RECEIVER),
        (S.ACCEPTED, S.CANCELLED, Party.SENDER),
    ],
)
@pytest.mark.parametrize("reason", [None, ""])
def test_rejected_failed_and_cancelled_need_a_reason(
    current: ReferralStatus, target: ReferralStatus, party: Party, reason: str | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_transition(current, target, party=party, reason=reason)

    assert caught.value.errors[0]["pointer"] == "/reason"


def _consent(**fields: object) -> Consent:
    values: dict[str, object] = {
        "given_by": "parent",
        "given_at": datetime(2026, 11, 1, tzinfo=UTC),
        "services": ["medical_care", "family_tracing"],
        "family_tracing": True,
        "share_with_roles": ["health", "child_protection"],
    }
    return Consent.model_validate(values | fields)


OVERRIDE = ConsentOverride(legal_basis="Ley Crecer Juntos art. 1", reason="Urgent")


def test_consent_covering_the_service_and_the_role_allows_the_referral() -> None:
    check_consent(
        _consent(),
        service=Service.MEDICAL_CARE,
        recipient_role=Role.HEALTH,
        override=None,
        sender_role=Role.CONSULATE,
    )


@pytest.mark.parametrize(
    ("consent", "service", "role", "missing"),
    [
        (None, Service.MEDICAL_CARE, Role.HEALTH, "no consent"),
        (_consent(), Service.SHELTER, Role.CHILD_PROTECTION, "service shelter"),
        (_consent(), Service.MEDICAL_CARE, Role.LEGAL, "role legal"),
        (
            _consent(family_tracing=False),
            Service.FAMILY_TRACING,
            Role.CHILD_PROTECTION,
            "family tracing",
        ),
    ],
)
def test_consent_that_does_not_cover_the_referral_is_a_conflict_saying_what_lacks(
    consent: Consent | None, service: Service, role: Role, missing: str
) -> None:
    with pytest.raises(Conflict, match=missing):
        check_consent(
            consent,
            service=service,
            recipient_role=role,
            override=None,
            sender_role=Role.CONSULATE,
        )


def test_the_child_protection_authority_may_override_missing_consent() -> None:
    check_consent(
        None,
        service=Service.SHELTER,
        recipient_role=Role.CHILD_PROTECTION,
        override=OVERRIDE,
        sender_role=Role.CHILD_PROTECTION,
    )


def test_nobody_else_may_override_consent_even_when_consent_covers_it() -> None:
    with pytest.raises(Forbidden):
        check_consent(
            _consent(),
            service=Service.MEDICAL_CARE,
            recipient_role=Role.HEALTH,
            override=OVERRIDE,
            sender_role=Role.CONSULATE,
        )
