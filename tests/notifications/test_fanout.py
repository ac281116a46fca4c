import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models import Delivery, Event
from app.services import events, subscriptions
from app.settings import Settings
from tests.notifications.conftest import new_case, record, subscribe


def delivered_to(db: Session, event: Event) -> set[str]:
    query = select(Delivery.subscription_id).where(
        Delivery.event_position == event.position
    )
    return {str(subscription_id) for subscription_id in db.exec(query)}


def test_an_event_gets_one_delivery_per_subscription_that_may_see_it(
    db: Session, settings: Settings
) -> None:
    everything = subscribe(db, settings, "dgme").subscription
    referrals = subscribe(db, settings, "dgme", event_types=["referral.*"]).subscription
    consulate = subscribe(db, settings, "rree").subscription
    subscribe(db, settings, "minsal")  # may not see the case
    deleted = subscribe(db, settings, "dgme").subscription
    subscriptions.delete(db, deleted)
    db.commit()
    case_id = new_case(db, "dgme", "rree")

    updated = record(db, case_id, "case.updated")
    accepted = record(db, case_id, "referral.accepted")

    assert delivered_to(db, updated) == {str(everything.id), str(consulate.id)}
    assert delivered_to(db, accepted) == {
        str(everything.id),
        str(referrals.id),
        str(consulate.id),
    }


def test_a_change_rolled_back_leaves_neither_event_nor_delivery(
    db: Session, settings: Settings, engine: Engine
) -> None:
    subscribe(db, settings, "dgme")
    case_id = new_case(db, "dgme")

    with Session(engine) as failed:
        events.record(failed, type="case.updated", case_id=case_id, payload={})
        failed.rollback()

    assert db.exec(select(Event)).all() == []
    assert db.exec(select(Delivery)).all() == []


def test_an_event_narrowed_to_one_institution_reaches_only_its_subscriptions(
    db: Session, settings: Settings
) -> None:
    owner = subscribe(db, settings, "dgme").subscription
    subscribe(db, settings, "rree")
    case_id = new_case(db, "dgme", "rree")

    notice = events.record(
        db,
        type="case.updated",
        case_id=case_id,
        payload={},
        only_for=frozenset({"dgme"}),
    )
    db.commit()

    assert delivered_to(db, notice) == {str(owner.id)}


def test_narrowing_an_event_to_nobody_is_refused(db: Session) -> None:
    case_id = new_case(db, "dgme")

    with pytest.raises(ValueError, match="only_for"):
        events.record(
            db, type="case.updated", case_id=case_id, payload={}, only_for=frozenset()
        )


def test_deliveries_start_due_at_the_event_time(
    db: Session, settings: Settings
) -> None:
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))

    delivery = db.exec(select(Delivery).order_by(col(Delivery.created_at))).one()

    assert delivery.status == "pending"
    assert delivery.next_attempt_at == event.occurred_at
    assert (delivery.event_id, delivery.case_seq) == (event.id, event.case_seq)
