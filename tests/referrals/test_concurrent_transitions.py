"""Two parties moving one referral at once: the later write must not undo the first."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.codes import ReferralStatus, Role
from app.errors import Conflict
from app.models import Event, Referral, TimelineEntry
from app.schemas.referrals import ReferralTransition
from app.services import referrals
from tests.referrals.conftest import (
    CONSULATE,
    PROTECTION,
    MakeCase,
    SendReferral,
    SetStatus,
)


@dataclass(frozen=True)
class _Actor:
    institution_id: str
    role: Role
    client_id: str = "test-client"


RECEIVER = _Actor(PROTECTION, Role.CHILD_PROTECTION)
SENDER = _Actor(CONSULATE, Role.CONSULATE)


def _move(db: Session, referral_id: str, actor: _Actor, status: str) -> None:
    change = ReferralTransition(status=ReferralStatus(status), reason="Child returned")
    referrals.transition(db, uuid.UUID(referral_id), change, actor=actor)


def test_a_move_written_over_a_stale_read_is_409_and_records_nothing(
    engine: Engine,
    make_case: MakeCase,
    send_referral: SendReferral,
    set_status: SetStatus,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = make_case()
    referral_id = send_referral(case_id)["id"]
    set_status(referral_id, "received")

    # The race, one step at a time: the receiver reads the referral while it is
    # `received`, the sender's cancel is written and committed, then the receiver's
    # accept is written over what it read. The PostgreSQL row lock is taken away (on
    # SQLite there is none): the version check alone must refuse the late write.
    monkeypatch.setattr(referrals, "_locked", referrals.get_referral)
    write = referrals._write

    def sender_cancels_first(
        db: Session, referral: Referral, change: ReferralTransition
    ) -> None:
        monkeypatch.setattr(referrals, "_write", write)
        with Session(engine) as sender:
            _move(sender, referral_id, SENDER, "cancelled")
            sender.commit()
        write(db, referral, change)

    monkeypatch.setattr(referrals, "_write", sender_cancels_first)
    with Session(engine) as receiver, pytest.raises(Conflict) as refused:
        _move(receiver, referral_id, RECEIVER, "accepted")

    assert refused.value.extensions["current_status"] == "cancelled"
    assert "The referral is cancelled now" in refused.value.detail
    with Session(engine) as db:
        referral = db.get_one(Referral, uuid.UUID(referral_id))
        assert (referral.status, referral.version) == ("cancelled", 2)
        assert _event_types(db, case_id) == ["referral.requested", "referral.cancelled"]
        assert "referral.accepted" not in _timeline(db, referral.id)


def _event_types(db: Session, case_id: uuid.UUID) -> list[str]:
    query = select(Event.type).where(Event.case_id == case_id)
    return list(db.exec(query.order_by(col(Event.case_seq))))


def _timeline(db: Session, referral_id: uuid.UUID) -> list[str]:
    query = select(TimelineEntry.action).where(TimelineEntry.referral_id == referral_id)
    return list(db.exec(query.order_by(col(TimelineEntry.at))))
