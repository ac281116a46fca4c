"""Institutions: loaded from editable seed data, looked up by id or role."""

import json
from importlib import resources
from typing import Any

from sqlmodel import Session, col, select

from app.codes import Role, check_subdivision
from app.errors import InvalidInput
from app.models import Institution

# The regional conference receives aggregate statistics only, never a child's case.
NO_CASES = frozenset({Role.REGIONAL})
NO_CASES_DETAIL = "this institution receives aggregate statistics only"


def default_seed() -> list[dict[str, Any]]:
    """The institutions shipped with the hub, as records for `load_institutions`."""
    text = resources.files("app.seed").joinpath("institutions.json").read_text("utf-8")
    data: list[dict[str, Any]] = json.loads(text)
    return data


def load_institutions(db: Session, records: list[dict[str, Any]]) -> int:
    """Insert or update each institution by id; returns how many were written."""
    for record in records:
        for code in record.get("circumscription", []):
            check_subdivision(code)
        institution = db.get(Institution, record["id"])
        if institution is None:
            institution = Institution(**record)
        else:
            institution.sqlmodel_update(record)
        db.add(institution)
    db.flush()
    return len(records)


def get_institution(db: Session, institution_id: str, *, pointer: str) -> Institution:
    """An active institution, or a 422 naming the field that referred to it."""
    institution = db.get(Institution, institution_id)
    if institution is None or not institution.active:
        raise InvalidInput(
            f"There is no active institution '{institution_id}'",
            errors=[{"pointer": pointer, "detail": "unknown institution"}],
        )
    return institution


def case_party(db: Session, institution_id: str, *, pointer: str) -> Institution:
    """An active institution that may lead or receive a case; else 422 naming it."""
    institution = get_institution(db, institution_id, pointer=pointer)
    if institution.role in NO_CASES:
        raise InvalidInput(
            f"'{institution.id}' cannot hold a child's case: {NO_CASES_DETAIL}",
            errors=[{"pointer": pointer, "detail": NO_CASES_DETAIL}],
        )
    return institution


def list_institutions(db: Session, *, role: Role | None = None) -> list[Institution]:
    """Every institution by id, or those of one role."""
    query = select(Institution).order_by(col(Institution.id))
    if role is not None:
        query = query.where(Institution.role == role)
    return list(db.exec(query))
