"""Routing a referral by service to the competent institution, from the rules data."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, delete, select

from app.models import RoutingRule
from app.services.routing import default_rules, load_routing_rules
from tests.referrals.conftest import CONSULATE, PROTECTION, Headers, MakeCase


def _routed(
    api: TestClient, headers: Headers, case_id: object, service: str, sender: str
) -> str:
    body = {"case_id": str(case_id), "service": service, "reason": "Needs it"}
    response = api.post("/v1/referrals", json=body, headers=headers(sender))
    assert response.status_code == 201, response.text
    institution: str = response.json()["to_institution"]
    return institution


@pytest.mark.parametrize(
    ("service", "competent"),
    [
        ("medical_care", "minsal"),
        ("psychosocial_care", "minsal"),
        ("family_tracing", "conapina"),
        ("shelter", "conapina"),
        ("legal_representation", "pgr"),
    ],
)
def test_without_a_recipient_the_hub_routes_to_the_competent_institution(
    service: str, competent: str, api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(CONSULATE, subdivision=None)

    assert _routed(api, headers, case_id, service, CONSULATE) == competent


@pytest.mark.parametrize(
    ("subdivision", "competent"),
    [
        ("MX-CHP", "consulado-tapachula"),
        ("MX-VER", "consulado-veracruz"),
        (None, "rnpn"),
    ],
)
def test_a_rule_for_where_the_child_was_found_beats_the_national_one(
    subdivision: str | None,
    competent: str,
    api: TestClient,
    headers: Headers,
    make_case: MakeCase,
) -> None:
    case_id = make_case(PROTECTION, subdivision=subdivision)

    assert _routed(api, headers, case_id, "documentation", PROTECTION) == competent


@pytest.fixture
def san_salvador_rule(engine: Engine) -> Iterator[None]:
    """A local rule, ranked below the national one, for children from San Salvador."""
    with Session(engine) as db:
        db.add(
            RoutingRule(
                service="medical_care",
                institution_id="conapina",
                subdivision="SV-SS",
                rank=9,
            )
        )
        db.commit()
    yield
    # Routing rules are seed data the harness keeps between tests: remove this one.
    with Session(engine) as db:
        db.exec(delete(RoutingRule).where(col(RoutingRule.subdivision) == "SV-SS"))
        db.commit()


@pytest.mark.usefixtures("san_salvador_rule")
def test_a_subdivision_rule_wins_whatever_its_rank_for_the_department_of_origin(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    from_san_salvador = make_case(CONSULATE, subdivision=None, origin="SV-SS")
    from_la_libertad = make_case(CONSULATE, subdivision=None, origin="SV-LI")

    assert _routed(api, headers, from_san_salvador, "medical_care", CONSULATE) == (
        "conapina"
    )
    assert _routed(api, headers, from_la_libertad, "medical_care", CONSULATE) == (
        "minsal"
    )


def test_the_sender_is_never_chosen_so_the_next_ranked_rule_answers(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(PROTECTION)

    assert _routed(api, headers, case_id, "reintegration", PROTECTION) == "rree"


def test_no_applicable_rule_is_422_naming_to_institution(
    api: TestClient, headers: Headers, make_case: MakeCase
) -> None:
    case_id = make_case(PROTECTION)
    body = {"case_id": str(case_id), "service": "education", "reason": "School"}

    response = api.post("/v1/referrals", json=body, headers=headers(PROTECTION))

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"pointer": "/to_institution", "detail": "no routing rule applies"}
    ]


def test_reloading_the_seed_rules_changes_nothing(db: Session) -> None:
    before = db.exec(select(func.count()).select_from(RoutingRule)).one()

    load_routing_rules(db, default_rules())
    db.flush()

    assert db.exec(select(func.count()).select_from(RoutingRule)).one() == before
    db.rollback()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"service": "medical_care", "institution": "nobody"}, "nobody"),
        ({"service": "haircut", "institution": "minsal"}, "haircut"),
        (
            {"service": "shelter", "institution": "conapina", "subdivisions": ["XX-1"]},
            "XX-1",
        ),
    ],
)
def test_a_bad_rule_in_the_seed_is_refused_by_name(
    rule: dict[str, object], message: str, db: Session
) -> None:
    with pytest.raises(ValueError, match=message):
        load_routing_rules(db, [rule])
    db.rollback()
