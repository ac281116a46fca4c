"""Cases endpoints (under construction)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1/cases", tags=["cases"])
