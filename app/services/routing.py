"""Routing: which institution is competent for a service on a case.

The rules are data (`app/seed/routing.json`, loaded into `routing_rule`), never code:
when the child-protection authority is renamed or a consulate opens, only data changes.
A rule may be narrowed to one ISO 3166-2 subdivision; for a case, the most specific
matching rule wins (a subdivision rule beats a national one), then the lowest rank.
"""

import json
from importlib import resources
from typing import Any

from sqlmodel import Session, select

from app.codes import Service, check_subdivision
from app.errors import InvalidInput
from app.models import Case, Institution, RoutingRule


def default_rules() -> list[dict[str, Any]]:
    """The routing rules shipped with the hub, as records for `load_routing_rules`."""
    text = resources.files("app.seed").joinpath("routing.json").read_text("utf-8")
    data: list[dict[str, Any]] = json.loads(text)
    return data


def load_routing_rules(db: Session, records: list[dict[str, Any]]) -> int:
    """Insert or update (by service, institution, subdivision) each rule; returns how
    many rows were written. Rules missing from `records` are left alone, so rules an
    administrator added survive a reload of the seed."""
    written = 0
    for record in records:
        service = Service(record["service"]).value
        institution_id = record["institution"]
        if db.get(Institution, institution_id) is None:
            raise ValueError(f"Routing rule for {service}: no {institution_id}")

        for subdivision in record.get("subdivisions") or [None]:
            code = check_subdivision(subdivision) if subdivision else None
            _upsert(db, service, institution_id, code, int(record.get("rank", 0)))
            written += 1
    db.flush()
    return written


def _upsert(
    db: Session, service: str, institution_id: str, subdivision: str | None, rank: int
) -> None:
    query = select(RoutingRule).where(
        RoutingRule.service == service,
        RoutingRule.institution_id == institution_id,
        RoutingRule.subdivision == subdivision,
    )
    rule = db.exec(query).first()
    if rule is None:
        rule = RoutingRule(
            service=service, institution_id=institution_id, subdivision=subdivision
        )
    rule.rank = rank
    db.add(rule)


def case_subdivisions(case: Case) -> set[str]:
    """The places a rule may be narrowed to: where the child was located, and the
    department the child comes from (care happens in the community of origin)."""
    places = {case.origin_department} if case.origin_department else set()
    subdivision = (case.location or {}).get("subdivision")
    if subdivision:
        places.add(subdivision)
    return places


def route(db: Session, *, case: Case, service: Service, sender_id: str) -> str:
    """The id of the competent institution for `service` on `case`, or a 422.

    The sender is never chosen: asking yourself for a service is not a referral, so a
    lower-ranked rule answers instead.
    """
    for rule in _candidate_rules(db, service, case_subdivisions(case)):
        institution = db.get(Institution, rule.institution_id)
        if institution and institution.active and institution.id != sender_id:
            return institution.id

    raise InvalidInput(
        f"No institution is set up to receive {service.value} for this case; "
        "name one in to_institution",
        errors=[{"pointer": "/to_institution", "detail": "no routing rule applies"}],
    )


def _candidate_rules(
    db: Session, service: Service, subdivisions: set[str]
) -> list[RoutingRule]:
    """The rules for `service` that apply to these places, best first."""
    query = select(RoutingRule).where(RoutingRule.service == service.value)
    rules = [
        rule
        for rule in db.exec(query)
        if rule.subdivision is None or rule.subdivision in subdivisions
    ]
    return sorted(rules, key=lambda r: (r.subdivision is None, r.rank, r.id or 0))
