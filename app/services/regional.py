"""The regional (CRM) report over every case in the hub, read in pages."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.adapters.regional import RegionalReport, aggregate
from app.codes import CaseStatus
from app.models import Case
from app.schemas.cases import CasePublic
from app.services import cases as case_service

PAGE_SIZE = 500


def report(db: Session, *, as_of: date, threshold: int) -> RegionalReport:
    """Counts of the cases opened up to `as_of`, small cells suppressed."""
    return aggregate(_counted_cases(db, as_of), threshold=threshold, as_of=as_of)


def _counted_cases(db: Session, as_of: date) -> Iterator[CasePublic]:
    """The cases the report may count, a page at a time so memory stays flat.

    The filter repeats the aggregate's own rule (opened by `as_of` in UTC, not
    merged) only to read fewer rows; the aggregate still decides.
    """
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    query = (
        select(Case)
        .where(col(Case.created_at) < until, Case.status != CaseStatus.MERGED.value)
        .order_by(col(Case.id))
        .limit(PAGE_SIZE)
    )

    last = None
    while True:
        page = query if last is None else query.where(col(Case.id) > last)
        rows = list(db.exec(page))
        if not rows:
            return
        yield from case_service.public_cases(db, rows)
        last = rows[-1].id
