"""Liveness and readiness probes for the orchestrator."""

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text

from app.deps import DbDep
from app.errors import UpstreamUnavailable
from app.schemas.problems import problem_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


@router.get(
    "/livez",
    summary="Liveness",
    description="Answers while the process runs; touches nothing else.",
)
def livez() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    description="Answers 200 when the database can be reached, 503 otherwise.",
    responses=problem_responses(503),
)
def readyz(db: DbDep) -> Health:
    try:
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:
        raise UpstreamUnavailable("The database cannot be reached") from exc
    return Health(status="ok")
