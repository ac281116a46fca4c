"""Institutions: loaded from editable seed data, looked up by id or role."""

import json
from importlib import resources
from typing import Any

from sqlmodel import Session, col, select

from app.codes import Role, check_subdivision
from app.errors import InvalidInput
from app.models import Institution


def default_seed() -> list[dict[str, Any]]:
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


def list_institutions(db: Session, *, role: Role | None = None) -> list[Institution]:
    query = select(Institution).order_by(col(Institution.id))
    if role is not None:
        query = query.where(Institution.role == role)
    return list(db.exec(query))
