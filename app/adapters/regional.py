"""Regional Conference on Migration (CRM), outbound: aggregate counts, never rows.

Five tables of counts (vulnerability category, age band, sex, department of origin,
month the case was opened), each cell `{"key", "count", "suppressed"}`. Keys are codes
from our lists, so nothing in the report names or identifies a child.

Suppression. A cell counting 1 to `threshold - 1` children is published as
`count: null, suppressed: true`. Zeros are published: they reveal nobody. When a table
has exactly one suppressed cell, the smallest other non-zero cell is suppressed too;
otherwise the first could be recovered by subtracting the others from the total. The
total itself is suppressed when it is under the threshold.

Who is counted: every case opened on or before `as_of`, except merged duplicates (the
surviving case counts the child once). Age is the age when the case was opened, so a
child's band does not move from one report to the next.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date

from pydantic import BaseModel

from app.codes import CaseStatus, Sex, VulnerabilityCategory, sv_departments
from app.schemas.cases import CasePublic

AGE_BANDS = ((0, 5, "0-5"), (6, 11, "6-11"), (12, 14, "12-14"), (15, 17, "15-17"))
ADULT_BAND = "18+"
UNKNOWN_DEPARTMENT = "unknown"


class Cell(BaseModel):
    key: str
    count: int | None
    suppressed: bool = False


class RegionalReport(BaseModel):
    as_of: date
    threshold: int
    total: Cell
    by_vulnerability: list[Cell]
    by_age_band: list[Cell]
    by_sex: list[Cell]
    by_department: list[Cell]
    by_month: list[Cell]


def aggregate(
    cases: Iterable[CasePublic], *, threshold: int = 5, as_of: date
) -> RegionalReport:
    """Count the cases for the CRM, suppressing every cell under the threshold."""
    counted = [c for c in cases if _counts(c, as_of)]

    def table(keys: list[str], key_of: Callable[[CasePublic], list[str]]) -> list[Cell]:
        counts = Counter(key for case in counted for key in key_of(case))
        for key in sorted(set(counts) - set(keys)):
            keys.append(key)
        return suppress({key: counts[key] for key in keys}, threshold)

    return RegionalReport(
        as_of=as_of,
        threshold=threshold,
        total=suppress({"total": len(counted)}, threshold)[0],
        by_vulnerability=table(
            [v.value for v in VulnerabilityCategory], lambda c: list(c.vulnerabilities)
        ),
        by_age_band=table([b[2] for b in AGE_BANDS], lambda c: [_age_band(c)]),
        by_sex=table(
            [s.name.lower() for s in Sex], lambda c: [c.child.sex.name.lower()]
        ),
        by_department=table(list(sv_departments()), lambda c: [_department(c)]),
        by_month=table([], lambda c: [c.created_at.strftime("%Y-%m")]),
    )


def suppress(counts: dict[str, int], threshold: int) -> list[Cell]:
    """Cells for one table, small counts hidden as the module docstring explains."""
    hidden = {key for key, n in counts.items() if 0 < n < threshold}
    if len(hidden) == 1:
        shown = [(n, key) for key, n in counts.items() if n > 0 and key not in hidden]
        if shown:
            hidden.add(min(shown)[1])
    return [
        Cell(key=key, count=None, suppressed=True)
        if key in hidden
        else Cell(key=key, count=n)
        for key, n in counts.items()
    ]


def _counts(case: CasePublic, as_of: date) -> bool:
    return case.status != CaseStatus.MERGED and case.created_at.date() <= as_of


def _age_band(case: CasePublic) -> str:
    opened, born = case.created_at.date(), case.child.birth_date
    age = (
        opened.year - born.year - ((opened.month, opened.day) < (born.month, born.day))
    )
    return next(
        (label for low, high, label in AGE_BANDS if low <= age <= high), ADULT_BAND
    )


def _department(case: CasePublic) -> str:
    return case.origin.department if case.origin else UNKNOWN_DEPARTMENT
