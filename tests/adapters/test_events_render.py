"""Each adapter renders the same thin events in its own words, and adds nothing."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4, uuid5

import pytest
from fhir.resources.R4B.task import Task

from app.adapters.base import EventView, common_event_data
from app.adapters.minsal import (
    CASE_SYSTEM,
    EVENT_TYPE_SYSTEM,
    PREVIOUS_STATUS,
    REFERRAL_SYSTEM,
)
from app.adapters.registry import ADAPTERS, REFERRAL_ADAPTERS, render_event

CASE_ID = uuid4()
REFERRAL_ID = uuid4()
OCCURRED_AT = datetime(2025, 3, 4, 15, 20, tzinfo=UTC)
FORMATS = ["common", *ADAPTERS, *REFERRAL_ADAPTERS]
# The child's names and date of birth, in every adapter's words: no event has them.
PERSONAL_KEYS = {
    "given_names",
    "family_names",
    "birth_date",
    "nombre_completo",
    "nombres",
    "apellidos",
    "fecha_nacimiento",
    "name_first",
    "name_last",
    "date_of_birth",
    "age",
    "name",
    "birthdate",
    "patient",
}

REFERRAL = {
    "referral_id": str(REFERRAL_ID),
    "status": "accepted",
    "service": "medical_care",
    "from_institution": "conapina",
    "to_institution": "minsal",
}
PAYLOADS: dict[str, dict[str, Any]] = {
    "case.created": {"child_id": str(uuid4()), "lead_institution": "dgme"},
    "case.updated": {"changed": ["child", "status"], "status": "closed", "version": 3},
    "case.lead_transferred": {"from": "dgme", "to": "conapina"},
    "referral.accepted": {**REFERRAL, "previous_status": "received"},
    "referral.overdue": {**REFERRAL, "due_date": "2025-03-01"},
    "referral.failed": {**REFERRAL, "status": "failed"},
    "delivery.dead_lettered": {
        "delivery_id": str(uuid4()),
        "subscription_id": str(uuid4()),
        "event_id": str(uuid4()),
        "event_type": "case.updated",
    },
}


def event(type: str, **payload: Any) -> EventView:
    """An event as `events.record` writes it: the payload repeats the case id."""
    return EventView(
        id=uuid4(),
        type=type,
        occurred_at=OCCURRED_AT,
        case_id=CASE_ID,
        case_seq=7,
        payload={"case_id": str(CASE_ID), **(payload or PAYLOADS[type])},
    )


def nodes(node: Any) -> list[Any]:
    """Every dict, list and value in a rendered event, depth first."""
    children = node.values() if isinstance(node, dict) else node
    if not isinstance(node, dict | list):
        return [node]
    return [node, *(n for child in children for n in nodes(child))]


def keys_of(rendered: dict[str, Any]) -> set[str]:
    return {key.lower() for n in nodes(rendered) if isinstance(n, dict) for key in n}


def values_of(rendered: dict[str, Any]) -> set[Any]:
    return {n for n in nodes(rendered) if not isinstance(n, dict | list)}


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("type", PAYLOADS)
def test_no_format_adds_names_or_dates_of_birth(format: str, type: str) -> None:
    rendered = render_event(format, event(type))

    assert not keys_of(rendered) & PERSONAL_KEYS
    assert "Patient" not in values_of(rendered)
    json.dumps(rendered)  # JSON-ready as it is


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("type", PAYLOADS)
def test_every_format_keeps_the_ids_and_the_status(format: str, type: str) -> None:
    original = event(type)

    values = values_of(render_event(format, original))

    assert {str(original.id), str(CASE_ID)} <= values
    for key in ("referral_id", "child_id", "delivery_id", "event_id", "status"):
        if key in original.payload:
            assert original.payload[key] in values


def test_an_unknown_format_renders_the_common_data() -> None:
    original = event("case.updated")

    assert render_event("sap", original) == common_event_data(original)
    assert render_event("common", original) == {
        "id": str(original.id),
        "case_id": str(CASE_ID),
        "case_seq": 7,
        "payload": dict(original.payload),
    }


def test_dgme_speaks_spanish_and_writes_dates_as_the_sii_does() -> None:
    original = event("referral.overdue")

    assert render_event("dgme", original) == {
        "id_evento": str(original.id),
        "tipo_evento": "referral.overdue",
        "id_caso": str(CASE_ID),
        "secuencia_caso": 7,
        "id_referencia": str(REFERRAL_ID),
        "estado": "accepted",
        "servicio": "medical_care",
        "institucion_origen": "conapina",
        "institucion_destino": "minsal",
        "fecha_limite": "01/03/2025",
    }


def test_rree_names_both_sides_of_a_lead_transfer_in_spanish() -> None:
    rendered = render_event("rree", event("case.lead_transferred"))

    assert rendered["institucion_anterior"] == "dgme"
    assert rendered["institucion_nueva"] == "conapina"
    assert rendered["tipo_evento"] == "case.lead_transferred"
    assert rendered["id_caso"] == str(CASE_ID)


@pytest.mark.parametrize(
    ("status", "transition_status"),
    [("requested", "in_progress"), ("completed", "done"), ("cancelled", "revoked")],
)
def test_primero_adds_the_status_of_its_referral_transition(
    status: str, transition_status: str
) -> None:
    rendered = render_event(
        "primero", event("referral.completed", **{**REFERRAL, "status": status})
    )

    assert rendered["record_type"] == "case"
    assert rendered["record_id"] == str(CASE_ID)
    assert rendered["status"] == status
    assert rendered["transition_status"] == transition_status
    assert rendered["transitioned_to_agency"] == "minsal"


def test_primero_sends_no_transition_status_where_primero_has_none() -> None:
    rendered = render_event("primero", event("referral.failed"))

    assert rendered["status"] == "failed"
    assert "transition_status" not in rendered


def test_primero_keeps_a_dead_letter_notice_apart_from_the_event_it_names() -> None:
    original = event("delivery.dead_lettered")

    rendered = render_event("primero", original)

    assert rendered["event_id"] == str(original.id)
    assert rendered["event_type"] == "delivery.dead_lettered"
    assert rendered["failed_event_id"] == original.payload["event_id"]
    assert rendered["failed_event_type"] == "case.updated"


@pytest.mark.parametrize("type", [t for t in PAYLOADS if t.startswith("referral.")])
def test_minsal_renders_a_referral_event_as_a_valid_fhir_r4_task(type: str) -> None:
    original = event(type)

    rendered = render_event("minsal", original)

    task = Task.model_validate(rendered)
    assert task.status == original.payload["status"]
    assert task.intent == "order"
    assert task.id == str(uuid5(REFERRAL_ID, "task"))
    assert rendered["meta"] == {
        "versionId": str(original.id),
        "tag": [{"system": EVENT_TYPE_SYSTEM, "code": type}],
    }
    assert task.lastModified == OCCURRED_AT


def test_minsal_task_points_at_the_hubs_referral_and_case() -> None:
    rendered = render_event("minsal", event("referral.accepted"))

    referral = {"system": REFERRAL_SYSTEM, "value": str(REFERRAL_ID)}
    assert rendered["identifier"] == [referral]
    assert rendered["focus"] == {"type": "ServiceRequest", "identifier": referral}
    assert rendered["basedOn"] == [rendered["focus"]]
    assert rendered["groupIdentifier"] == {"system": CASE_SYSTEM, "value": str(CASE_ID)}
    assert rendered["owner"]["identifier"]["value"] == "minsal"
    assert rendered["requester"]["identifier"]["value"] == "conapina"
    assert rendered["extension"] == [{"url": PREVIOUS_STATUS, "valueCode": "received"}]


def test_minsal_task_of_an_overdue_referral_carries_its_due_date() -> None:
    rendered = render_event("minsal", event("referral.overdue"))

    assert rendered["restriction"] == {"period": {"end": "2025-03-01"}}


@pytest.mark.parametrize("type", ["case.created", "delivery.dead_lettered"])
def test_minsal_gets_the_common_data_for_events_that_are_not_referrals(
    type: str,
) -> None:
    original = event(type)

    assert render_event("minsal", original) == common_event_data(original)
