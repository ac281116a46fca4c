"""The visibility rule: an institution sees a case it registered, leads, or holds a
referral on. Anything else answers exactly like a case that does not exist."""

import uuid

from sqlmodel import Session, col, delete, select
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import NotFound
from app.models import Case, CaseAccess

REGISTERED = "registered"
LEAD = "lead"
REFERRAL = "referral"


def grant(db: Session, *, case_id: uuid.UUID, institution_id: str, reason: str) -> None:
    """Record one reason for `institution_id` to see the case (idempotent)."""
    if db.get(CaseAccess, (case_id, institution_id, reason)) is None:
        access = CaseAccess(
            case_id=case_id, institution_id=institution_id, reason=reason
        )
        db.add(access)
        db.flush()


def withdraw(
    db: Session, *, case_id: uuid.UUID, institution_id: str, reason: str
) -> None:
    """Remove that one reason; other reasons to see the case still hold."""
    db.exec(
        delete(CaseAccess).where(
            col(CaseAccess.case_id) == case_id,
            col(CaseAccess.institution_id) == institution_id,
            col(CaseAccess.reason) == reason,
        )
    )


def can_see(db: Session, *, case_id: uuid.UUID, institution_id: str) -> bool:
    """True while the institution holds any reason to see the case."""
    query = select(CaseAccess.case_id).where(
        CaseAccess.case_id == case_id, CaseAccess.institution_id == institution_id
    )
    return db.exec(query.limit(1)).first() is not None


def audience(db: Session, case_id: uuid.UUID) -> set[str]:
    """Every institution that may see the case now."""
    query = select(CaseAccess.institution_id).where(CaseAccess.case_id == case_id)
    return set(db.exec(query))


def visible_case(db: Session, *, case_id: uuid.UUID, institution_id: str) -> Case:
    """The case, if this institution may see it; 404 otherwise, as for a missing one."""
    case = db.get(Case, case_id)
    if case is None or not can_see(db, case_id=case_id, institution_id=institution_id):
        raise NotFound(f"There is no case {case_id}")
    return case


def visible_case_ids(institution_id: str) -> SelectOfScalar[uuid.UUID]:
    """A subquery of the ids of the cases this institution may see."""
    return (
        select(CaseAccess.case_id)
        .where(CaseAccess.institution_id == institution_id)
        .distinct()
    )
