"""Helpers for referral tests: cases written straight to the database, and tokens.

Cases are inserted as rows so these tests do not depend on the cases API; the main
workflow test registers its case through `POST /v1/cases` when that exists.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.codes import Role, Service
from app.models import Case, CaseAccess, Child, Referral
from app.services import access
from tests.conftest import AuthHeaders

READ_WRITE = ("referrals:read", "referrals:write", "cases:read", "cases:write")

CONSULATE = "consulado-tapachula"
PROTECTION = "conapina"
HEALTH = "minsal"


def full_consent() -> dict[str, Any]:
    """Consent to every service, family tracing and sharing with every role."""
    return {
        "given_by": "parent",
        "given_at": datetime(2026, 11, 2, 15, 0, tzinfo=UTC).isoformat(),
        "services": [service.value for service in Service],
        "family_tracing": True,
        "share_with_roles": [role.value for role in Role],
    }


MakeCase = Callable[..., uuid.UUID]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def make_case(engine: Engine) -> MakeCase:
    """Insert a child and an open case registered and led by `institution`."""

    def make(
        institution: str = CONSULATE,
        *,
        consent: dict[str, Any] | None = None,
        subdivision: str | None = "MX-CHP",
        origin: str | None = None,
        status: str = "open",
    ) -> uuid.UUID:
        with Session(engine) as db:
            child = _child()
            db.add(child)
            db.flush()
            case = Case(
                child_id=child.id,
                status=status,
                lead_institution_id=institution,
                registered_by_id=institution,
                location={"country": "MX", "subdivision": subdivision, "place": None},
                origin_department=origin,
                consent=full_consent() if consent is None else consent,
            )
            db.add(case)
            db.flush()
            for reason in (access.REGISTERED, access.LEAD):
                db.add(
                    CaseAccess(
                        case_id=case.id, institution_id=institution, reason=reason
                    )
                )
            db.commit()
            return case.id

    return make


def _child() -> Child:
    return Child(
        given_names="Ana Sofía",
        family_names="Pérez López",
        match_key=f"test {uuid.uuid4()}",
        sex=2,
        birth_date=date(2012, 5, 4),
        nationality="SV",
        mother_tongue="spa",
    )


@pytest.fixture
def headers(auth: AuthHeaders) -> Headers:
    """Bearer headers for an institution with every referral and case scope, cached."""
    issued: dict[str, dict[str, str]] = {}

    def get(institution: str) -> dict[str, str]:
        if institution not in issued:
            issued[institution] = auth(institution, *READ_WRITE)
        return issued[institution]

    return get


SendReferral = Callable[..., dict[str, Any]]


@pytest.fixture
def send_referral(api: TestClient, headers: Headers) -> SendReferral:
    """POST a referral and return its body, asserting it was created."""

    def send(
        case_id: uuid.UUID,
        *,
        sender: str = CONSULATE,
        to: str | None = PROTECTION,
        service: str = "family_tracing",
        **fields: Any,
    ) -> dict[str, Any]:
        body = {"case_id": str(case_id), "service": service, "reason": "Needs it"}
        if to is not None:
            body["to_institution"] = to
        response = api.post(
            "/v1/referrals", json=body | fields, headers=headers(sender)
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    return send


SetStatus = Callable[[str, str], None]


@pytest.fixture
def set_status(engine: Engine) -> SetStatus:
    """Put a referral straight into a status, as if earlier moves had happened."""

    def put(referral_id: str, status: str) -> None:
        with Session(engine) as db:
            referral = db.get(Referral, uuid.UUID(referral_id))
            assert referral is not None
            referral.status = status
            db.add(referral)
            db.commit()

    return put
