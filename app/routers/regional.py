"""The regional report for the Regional Conference on Migration (CRM)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.adapters.regional import RegionalReport
from app.auth.scopes import Scope
from app.codes import Role
from app.deps import DbDep, Principal, SettingsDep, require
from app.errors import Forbidden
from app.schemas.problems import AUTH_ERRORS, problem_responses
from app.services import regional as regional_service
from app.services.referrals import today

router = APIRouter(prefix="/v1/regional", tags=["regional"])
CallerDep = Annotated[Principal, require()]

_CELL = {"key": "unaccompanied", "count": 12, "suppressed": False}
_SUPPRESSED = {"key": "trafficking_victim", "count": None, "suppressed": True}
_REPORT_EXAMPLE = {
    "as_of": "2025-01-31",
    "threshold": 5,
    "total": {"key": "total", "count": 41, "suppressed": False},
    "by_vulnerability": [_CELL, _SUPPRESSED],
    "by_age_band": [{"key": "12-14", "count": 17, "suppressed": False}],
    "by_sex": [{"key": "female", "count": 19, "suppressed": False}],
    "by_department": [{"key": "SV-AH", "count": 9, "suppressed": False}],
    "by_month": [{"key": "2025-01", "count": 41, "suppressed": False}],
}


def _authorize(caller: Principal) -> None:
    """The report is for the regional conference, or an administrator checking it.

    NOTE: a role, not a scope: the CRM's clients hold no case scope at all, and no
    other institution needs the aggregate, since each reads its own cases.
    """
    if caller.role != Role.REGIONAL and Scope.ADMIN not in caller.scopes:
        raise Forbidden(
            "The regional report is for the regional conference (role regional) "
            "or an administrator"
        )


@router.get(
    "/report",
    summary="Read the regional report",
    description="Counts of the cases opened up to `as_of` (default: today in El "
    "Salvador) by vulnerability category, age band, sex, department of origin and "
    "month, over every case in the hub. Never a row: any count from 1 to the "
    "threshold minus one is suppressed (`count: null, suppressed: true`), and one more "
    "cell with it when a table would otherwise let it be subtracted out. For clients "
    "of an institution with the `regional` role, or holding the `admin` scope.",
    responses={
        200: {
            "description": "The report",
            "content": {"application/json": {"example": _REPORT_EXAMPLE}},
        },
        **problem_responses(*AUTH_ERRORS, 422),
    },
)
def regional_report(
    db: DbDep,
    settings: SettingsDep,
    caller: CallerDep,
    as_of: Annotated[
        date | None, Query(description="Count cases opened on or before this date")
    ] = None,
) -> RegionalReport:
    _authorize(caller)
    return regional_service.report(
        db, as_of=as_of or today(), threshold=settings.regional_threshold
    )
