from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.errors import InvalidInput
from app.models import Case, Child, Client, IdempotencyRecord
from app.models.types import utcnow
from app.services.idempotency import Created, IdempotentRequest, run_idempotent
from tests.cases.conftest import Headers, case_body, child_body

KEY = "3f0d8c2e-registro-tapachula-0001"


def cases_in(db: Session) -> int:
    return db.exec(select(func.count()).select_from(Case)).one()


def post(api: TestClient, headers: Headers, body: dict[str, Any], key: str) -> Any:
    return api.post("/v1/cases", json=body, headers=headers | {"Idempotency-Key": key})


def client_of(db: Session, institution: str) -> str:
    return db.exec(select(Client.id).where(Client.institution_id == institution)).one()


def marker(client_id: str, *, age: timedelta, **fields: Any) -> IdempotencyRecord:
    created_at = utcnow() - age
    return IdempotencyRecord(
        client_id=client_id,
        key=KEY,
        method="POST",
        path="/v1/cases",
        request_hash="0" * 64,
        created_at=created_at,
        expires_at=created_at + timedelta(hours=24),
        **fields,
    )


def test_a_retry_with_the_same_key_replays_the_first_response(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    first = post(api, consulate, case_body(), KEY)

    retry = post(api, consulate, case_body(), KEY)

    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert cases_in(db) == 1


def test_the_same_key_with_a_different_body_is_refused(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    post(api, consulate, case_body(), KEY)

    response = post(api, consulate, case_body(risk_level="high"), KEY)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "header:Idempotency-Key"
    assert cases_in(db) == 1


def test_a_retry_while_the_first_request_is_running_gets_409(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    db.add(marker(client_of(db, "consulado-tapachula"), age=timedelta(seconds=2)))
    db.commit()

    response = post(api, consulate, case_body(), KEY)

    assert response.status_code == 409
    assert cases_in(db) == 0


def test_a_marker_left_by_a_crashed_request_is_taken_over(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    db.add(marker(client_of(db, "consulado-tapachula"), age=timedelta(minutes=10)))
    db.commit()

    response = post(api, consulate, case_body(), KEY)

    assert response.status_code == 201
    assert cases_in(db) == 1


def test_an_expired_key_may_be_used_again(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    old = marker(
        client_of(db, "consulado-tapachula"),
        age=timedelta(hours=25),
        response_status=201,
        response_body={"id": "from yesterday"},
    )
    db.add(old)
    db.commit()

    response = post(api, consulate, case_body(), KEY)

    assert response.status_code == 201
    assert response.json()["id"] != "from yesterday"


def test_keys_belong_to_one_client(
    api: TestClient, consulate: Headers, dgme: Headers, db: Session
) -> None:
    other_child = case_body(child=child_body(identifiers=[], given_names="Ana"))
    first = post(api, consulate, case_body(), KEY)

    second = post(api, dgme, other_child, KEY)

    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]
    assert cases_in(db) == 2


def test_a_failed_create_frees_its_key_for_a_corrected_retry(
    api: TestClient, consulate: Headers, db: Session
) -> None:
    refused = post(api, consulate, case_body(lead_institution="nobody"), KEY)

    corrected = post(api, consulate, case_body(), KEY)

    assert refused.status_code == 422
    assert corrected.status_code == 201
    assert "idempotent-replayed" not in corrected.headers
    assert cases_in(db) == 1


@pytest.mark.parametrize("key", ["x" * 256, "tab\tinside"])
def test_a_malformed_key_is_refused(
    api: TestClient, consulate: Headers, db: Session, key: str
) -> None:
    response = post(api, consulate, case_body(), key)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "header:Idempotency-Key"
    assert cases_in(db) == 0


def test_a_create_that_fails_midway_leaves_neither_its_rows_nor_the_key(
    db: Session,
) -> None:
    request = IdempotentRequest("a-client", KEY, "POST", "/v1/cases", {"a": 1})

    def create() -> Created:
        db.add(
            Child(
                given_names="A",
                family_names="B",
                match_key="a|b|2012-01-01",
                sex=0,
                birth_date=date(2012, 1, 1),
                nationality="SV",
                mother_tongue="spa",
            )
        )
        db.flush()
        raise InvalidInput("refused after writing", errors=[])

    with pytest.raises(InvalidInput):
        run_idempotent(db, request, create)

    assert db.exec(select(func.count()).select_from(Child)).one() == 0
    assert db.get(IdempotencyRecord, ("a-client", KEY)) is None
