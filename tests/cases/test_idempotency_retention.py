"""How long an idempotency key keeps its answer: at least 24 hours."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.models import Case, IdempotencyRecord
from tests.cases.conftest import Headers, case_body

KEY = "retention-registro-houston-0001"


def test_a_completed_key_still_replays_after_23_hours(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    headers = consulate | {"Idempotency-Key": KEY}
    first = api.post("/v1/cases", json=case_body(), headers=headers)
    assert first.status_code == 201, first.text
    # As if the first request had been answered 23 hours ago, with the expiry the
    # hub gave it then.
    record = db.exec(
        select(IdempotencyRecord).where(col(IdempotencyRecord.key) == KEY)
    ).one()
    record.created_at -= timedelta(hours=23)
    record.expires_at -= timedelta(hours=23)
    db.add(record)
    db.commit()

    retry = api.post("/v1/cases", json=case_body(), headers=headers)

    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert db.exec(select(func.count()).select_from(Case)).one() == 1
