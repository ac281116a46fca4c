"""Helpers shared by the adapter tests: stored cases and native-record comparison."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from app.adapters.base import CaseAdapter
from app.codes import CaseStatus
from app.schemas.cases import CaseCreate, CasePublic, ChildPublic

FIXTURES = Path(__file__).parent.parent / "fixtures"
OPENED_AT = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        return dict(json.load(file))


def store(case: CaseCreate, *, created_at: datetime = OPENED_AT) -> CasePublic:
    """The case as the hub would hand it back after registering it."""
    fields = case.model_dump(exclude={"child", "lead_institution"})
    return CasePublic(
        id=uuid4(),
        status=CaseStatus.OPEN,
        child=ChildPublic(id=uuid4(), **case.child.model_dump()),
        lead_institution=case.lead_institution or "conapina",
        registered_by="dgme",
        created_at=created_at,
        updated_at=created_at,
        version=1,
        **fields,
    )


def mapped_fields(adapter: CaseAdapter[Any], record: dict[str, Any]) -> dict[str, Any]:
    """The native record as its model reads it, without the fields nobody carries."""
    normalized = adapter.parse(record).model_dump(mode="json")
    for pointer in adapter.not_carried:
        *parents, leaf = pointer.strip("/").split("/")
        node = normalized
        for part in parents:
            node = node[part]
        node.pop(leaf, None)
    return normalized


@pytest.fixture(scope="session")
def stored() -> Callable[..., CasePublic]:
    return store


@pytest.fixture(scope="session")
def mapped() -> Callable[[CaseAdapter[Any], dict[str, Any]], dict[str, Any]]:
    return mapped_fields


@pytest.fixture(scope="session")
def fixture_record() -> Callable[[Path], dict[str, Any]]:
    return load
