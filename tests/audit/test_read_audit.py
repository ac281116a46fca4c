"""The read audit: every answer that shows a child's records says who was shown what."""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models import AuditEntry, Referral
from app.services.pagination import encode_key
from tests.cases.conftest import case_body, child_body
from tests.conftest import Credentials, MakeClient, run_cli
from tests.native.conftest import CARLOS_NUI, fixture
from tests.referrals.conftest import full_consent

CONSULATE = "consulado-tapachula"
SCOPES = ("cases:read", "cases:write", "referrals:read", "referrals:write")
NUI = child_body()["identifiers"][0]["value"]
PERSONAL = ("José Manuel", "Hernández López", NUI, "2012-04-09")
RNPN = "https://rnpn.invalid/api/v1"


class Caller:
    """A client of an institution, with its credentials and bearer headers."""

    def __init__(self, creds: Credentials, token: str) -> None:
        self.client_id = creds.client_id
        self.institution = creds.institution
        self.headers = {"Authorization": f"Bearer {token}"}


Login = Callable[..., Caller]


@pytest.fixture
def login(api: TestClient, make_client: MakeClient) -> Login:
    def make(institution: str, *scopes: str) -> Caller:
        creds = make_client(institution, *scopes)
        response = api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.client_id, creds.secret),
        )
        assert response.status_code == 200, response.text
        return Caller(creds, response.json()["access_token"])

    return make


@pytest.fixture
def consulate(login: Login) -> Caller:
    return login(CONSULATE, *SCOPES)


@pytest.fixture
def admin(login: Login) -> Caller:
    return login(CONSULATE, "admin")


def register(api: TestClient, caller: Caller, **changes: Any) -> str:
    body = case_body(consent=full_consent(), **changes)
    response = api.post("/v1/cases", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def entries(engine: Engine, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as db:
        query = select(AuditEntry).order_by(col(AuditEntry.at))
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(db.exec(query))


def test_reading_a_case_records_who_read_it_and_nothing_personal(
    api: TestClient, engine: Engine, consulate: Caller
) -> None:
    case_id = register(api, consulate)

    response = api.get(
        f"/v1/cases/{case_id}",
        headers={**consulate.headers, "X-Request-ID": "read-audit-1"},
    )

    assert response.status_code == 200
    [entry] = entries(engine)
    assert (entry.action, entry.resource_type, entry.resource_ids) == (
        "case.read",
        "case",
        [case_id],
    )
    assert (entry.client_id, entry.institution_id, entry.request_id) == (
        consulate.client_id,
        CONSULATE,
        "read-audit-1",
    )
    row = entry.model_dump_json()
    assert not [value for value in PERSONAL if value in row]


def test_a_listing_records_the_ids_it_returned(
    api: TestClient, engine: Engine, consulate: Caller
) -> None:
    first = register(api, consulate)
    second = register(api, consulate, child=child_body(identifiers=[]))
    register(api, consulate, child=child_body(identifiers=[], given_names="Ana"))

    response = api.get("/v1/cases?limit=2", headers=consulate.headers)

    assert [case["id"] for case in response.json()["items"]] == [first, second]
    [entry] = entries(engine, "case.list")
    assert entry.resource_ids == [first, second]


def test_a_refused_read_records_nothing(
    api: TestClient, engine: Engine, consulate: Caller, login: Login
) -> None:
    """A case another institution may not see answers 404 and leaves no entry: it
    showed nothing, and its transaction is rolled back (the request log keeps it)."""
    case_id = register(api, consulate)
    outsider = login("minsal", *SCOPES)

    response = api.get(f"/v1/cases/{case_id}", headers=outsider.headers)

    assert response.status_code == 404
    assert entries(engine) == []


@pytest.fixture
def referral_id(api: TestClient, consulate: Caller) -> str:
    case_id = register(api, consulate)
    body = {"case_id": case_id, "service": "family_tracing", "reason": "Needs it"}
    response = api.post(
        "/v1/referrals",
        json={**body, "to_institution": "conapina"},
        headers=consulate.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/v1/cases/{case_id}/timeline", "case.timeline"),
        ("/v1/native/dgme/cases/{case_id}", "case.native_read"),
        ("/v1/referrals/{referral_id}", "referral.read"),
        ("/v1/referrals/outbox", "referral.list"),
        ("/v1/native/minsal/referrals/{referral_id}", "referral.native_read"),
    ],
)
def test_every_read_of_a_child_s_records_is_recorded(
    api: TestClient,
    engine: Engine,
    consulate: Caller,
    referral_id: str,
    path: str,
    action: str,
) -> None:
    with Session(engine) as db:
        referral = db.get(Referral, uuid.UUID(referral_id))
        assert referral is not None
        case_id = str(referral.case_id)
    shown = referral_id if action.startswith("referral") else case_id

    response = api.get(
        path.format(case_id=case_id, referral_id=referral_id),
        headers=consulate.headers,
    )

    assert response.status_code == 200, response.text
    [entry] = entries(engine, action)
    assert (entry.client_id, entry.resource_ids) == (consulate.client_id, [shown])


@pytest.mark.parametrize(("answer", "found"), [(200, True), (404, False)])
def test_an_identity_lookup_records_the_identifier_type_but_not_its_value(
    api: TestClient, engine: Engine, login: Login, answer: int, found: bool
) -> None:
    caller = login("consulado-houston", "identity:read")
    with respx.mock(assert_all_mocked=True) as registry:
        registry.get(f"{RNPN}/personas/nui/{CARLOS_NUI}").respond(
            answer, json=fixture("rnpn", "persona_nui") if found else None
        )

        response = api.get(
            f"/v1/identity/rnpn/nui/{CARLOS_NUI}", headers=caller.headers
        )

    assert response.status_code == answer
    [entry] = entries(engine)
    assert (entry.action, entry.resource_ids, entry.detail) == (
        "identity.lookup",
        [],
        {"identifier_type": "nui", "found": found},
    )
    assert entry.request_id is not None
    row = entry.model_dump_json()
    assert CARLOS_NUI not in row
    assert "Carlos" not in row


@pytest.mark.parametrize(
    ("registry_answer", "status"),
    [
        (httpx.Response(500), 503),
        (httpx.Response(403), 502),
        (httpx.ReadTimeout("the registry is too slow"), 504),
    ],
)
def test_a_lookup_the_registry_failed_is_recorded_as_neither_found_nor_not(
    api: TestClient,
    engine: Engine,
    login: Login,
    registry_answer: httpx.Response | Exception,
    status: int,
) -> None:
    caller = login("consulado-houston", "identity:read")
    with respx.mock(assert_all_mocked=True) as registry:
        registry.get(f"{RNPN}/personas/nui/{CARLOS_NUI}").mock(
            side_effect=[registry_answer]
        )

        response = api.get(
            f"/v1/identity/rnpn/nui/{CARLOS_NUI}", headers=caller.headers
        )

    assert response.status_code == status
    [entry] = entries(engine)
    assert (entry.action, entry.client_id, entry.detail) == (
        "identity.lookup",
        caller.client_id,
        {"identifier_type": "nui", "found": None},
    )
    assert CARLOS_NUI not in entry.model_dump_json()


def test_the_admin_endpoint_lists_the_reads_that_showed_a_case(
    api: TestClient, consulate: Caller, admin: Caller
) -> None:
    case_id = register(api, consulate)
    other_id = register(api, consulate, child=child_body(identifiers=[]))
    api.get(f"/v1/cases/{case_id}", headers=consulate.headers)
    api.get(f"/v1/cases/{other_id}", headers=consulate.headers)
    api.get("/v1/cases", headers=consulate.headers)

    response = api.get(
        "/v1/admin/audit", params={"resource_id": case_id}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["action"] for item in items] == ["case.list", "case.read"]
    assert all(case_id in item["resource_ids"] for item in items)
    assert {item["client_id"] for item in items} == {consulate.client_id}


def test_the_admin_endpoint_pages_newest_first_by_action(
    api: TestClient, consulate: Caller, admin: Caller
) -> None:
    case_id = register(api, consulate)
    for _ in range(3):
        api.get(f"/v1/cases/{case_id}", headers=consulate.headers)
    api.get("/v1/cases", headers=consulate.headers)

    query = {"action": "case.read", "institution": CONSULATE, "limit": 2}
    first = api.get("/v1/admin/audit", params=query, headers=admin.headers).json()
    rest = api.get(
        "/v1/admin/audit",
        params={**query, "cursor": first["next_cursor"]},
        headers=admin.headers,
    ).json()

    items = first["items"] + rest["items"]
    assert len({item["id"] for item in items}) == 3
    assert {item["action"] for item in items} == {"case.read"}
    times = [item["at"] for item in items]
    assert times == sorted(times, reverse=True)
    assert rest["next_cursor"] is None


LAST_ID = uuid.UUID("0b6f3c1e-5d2a-4c8e-9f1a-2b3c4d5e6f70")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_key(datetime(2026, 12, 1, 9, 30), LAST_ID),
        encode_key(7, LAST_ID),
    ],
    ids=["garbage", "naive time", "position for time"],
)
def test_a_cursor_the_audit_listing_did_not_issue_is_422(
    cursor: str, api: TestClient, admin: Caller
) -> None:
    response = api.get(
        "/v1/admin/audit", params={"cursor": cursor}, headers=admin.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["parameter"] == "query:cursor"


def test_a_client_without_the_admin_scope_may_not_read_the_audit(
    api: TestClient, consulate: Caller
) -> None:
    response = api.get("/v1/admin/audit", headers=consulate.headers)

    assert response.status_code == 403


def test_the_command_line_lists_the_reads_of_a_case(
    api: TestClient, database_url: str, consulate: Caller
) -> None:
    case_id = register(api, consulate)
    api.get(f"/v1/cases/{case_id}", headers=consulate.headers)

    done = run_cli(database_url, "audit", "list", "--case", case_id)

    assert done.returncode == 0, done.stderr
    assert "case.read" in done.stdout
    assert consulate.client_id in done.stdout


def test_a_read_that_cannot_be_recorded_fails_instead_of_answering(
    api: TestClient, consulate: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = register(api, consulate)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the audit table is unavailable")

    monkeypatch.setattr("app.services.audit.record_read", broken)
    response = api.get(f"/v1/cases/{case_id}", headers=consulate.headers)

    assert response.status_code == 500
    assert "José Manuel" not in response.text
