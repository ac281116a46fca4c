"""A subscription receives events in the format it chose, signed all the same."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import respx
from fhir.resources.R4B.task import Task
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook

from app.services import subscriptions
from app.services.subscriptions import IssuedSubscription
from app.settings import Settings
from app.worker import Worker
from tests.notifications.conftest import (
    HOOK,
    OTHER_HOOK,
    hook_route,
    new_case,
    record,
    run,
)

MakeWorker = Callable[..., Worker]


def subscribe_in(
    db: Session, settings: Settings, institution_id: str, url: str, format: str
) -> IssuedSubscription:
    issued = subscriptions.create(
        db,
        institution_id=institution_id,
        url=url,
        event_types=[],
        format=format,
        settings=settings,
    )
    db.commit()
    return issued


def verified(issued: IssuedSubscription, request: httpx.Request) -> dict[str, Any]:
    """The body, once Standard Webhooks has checked its signature."""
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    headers = {name: request.headers[name] for name in names}
    return dict(Webhook(issued.secret).verify(request.content, headers))


def test_minsal_receives_a_fhir_task_and_common_the_common_data(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    health = hook_route(receiver, HOOK).respond(204)
    protection = hook_route(receiver, OTHER_HOOK).respond(204)
    minsal = subscribe_in(db, settings, "minsal", HOOK, "minsal")
    conapina = subscribe_in(db, settings, "conapina", OTHER_HOOK, "common")
    case_id = new_case(db, "conapina", "minsal")
    referral_id = str(uuid.uuid4())
    event = record(
        db,
        case_id,
        "referral.accepted",
        referral_id=referral_id,
        status="accepted",
        service="medical_care",
        from_institution="conapina",
        to_institution="minsal",
    )

    assert run(make_worker().run_once()) == 2

    fhir = verified(minsal, health.calls.last.request)
    assert fhir["type"] == "referral.accepted"
    assert fhir["timestamp"] == event.occurred_at.isoformat()
    assert Task.model_validate(fhir["data"]).status == "accepted"
    assert fhir["data"]["identifier"][0]["value"] == referral_id
    assert fhir["data"]["groupIdentifier"]["value"] == str(case_id)

    common = verified(conapina, protection.calls.last.request)
    assert common["data"] == {
        "id": str(event.id),
        "case_id": str(case_id),
        "case_seq": 1,
        "payload": event.payload,
    }


def test_a_dgme_subscription_gets_spanish_keys_under_the_same_signature(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    route = hook_route(receiver).respond(204)
    issued = subscribe_in(db, settings, "dgme", HOOK, "dgme")
    case_id = new_case(db, "dgme")
    event = record(db, case_id, "case.updated", status="closed", changed=["status"])

    assert run(make_worker().run_once()) == 1

    request = route.calls.last.request
    body = verified(issued, request)
    assert body["data"]["id_evento"] == request.headers["webhook-id"] == str(event.id)
    assert body["data"]["estado"] == "closed"
    assert json.loads(request.content) == body
