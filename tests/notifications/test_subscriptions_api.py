import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import InvalidInput
from app.models import Subscription
from app.notifications.backoff import MAX_ATTEMPTS
from app.services import subscriptions
from app.services.pagination import encode_key
from app.settings import Settings
from app.worker import Worker
from tests.conftest import AuthHeaders
from tests.notifications.conftest import (
    HOOK,
    Clock,
    hook_route,
    new_case,
    record,
    run,
)

WRITE = "subscriptions:write"
READ = "events:read"


def create(
    api: TestClient, headers: dict[str, str], **body: object
) -> dict[str, object]:
    response = api.post(
        "/v1/subscriptions", headers=headers, json={"url": HOOK, **body}
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_the_secret_is_shown_once_at_creation(
    api: TestClient, auth: AuthHeaders, db: Session
) -> None:
    headers = auth("dgme", WRITE)

    created = create(api, headers, event_types=["referral.*"])
    listed = api.get("/v1/subscriptions", headers=headers).json()
    read = api.get(f"/v1/subscriptions/{created['id']}", headers=headers).json()

    assert str(created["secret"]).startswith("whsec_")
    assert created["institution_id"] == "dgme"
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in read
    stored = db.get_one(Subscription, uuid.UUID(str(created["id"])))
    assert str(created["secret"]) not in stored.secret_encrypted


def test_another_institution_cannot_see_or_delete_a_subscription(
    api: TestClient, auth: AuthHeaders
) -> None:
    created = create(api, auth("dgme", WRITE))
    other = auth("rree", WRITE)

    assert api.get("/v1/subscriptions", headers=other).json() == []
    path = f"/v1/subscriptions/{created['id']}"
    assert api.get(path, headers=other).status_code == 404
    assert api.delete(path, headers=other).status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.org/puente", "loopback"),
        ("https://10.0.0.7/puente", "private"),
        ("https://intranet.example.org/puente", "private"),
        ("https://meta.example.org/latest", "link-local"),
        ("https://user:pw@hooks.example.org/", "user name"),
    ],
)
def test_an_unsafe_url_is_refused_at_registration(
    api: TestClient, auth: AuthHeaders, url: str, reason: str
) -> None:
    response = api.post(
        "/v1/subscriptions", headers=auth("dgme", WRITE), json={"url": url}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/url"
    assert reason in response.json()["detail"]


def test_loopback_is_refused_in_production_unless_an_admin_allows_the_host(
    settings: Settings, stand_in_dns: dict[str, str]
) -> None:
    stand_in_dns["localhost"] = "127.0.0.1"
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    production = settings.model_copy(
        update={
            "environment": "production",
            "signing_key": key.decode(),
            "secrets_key": Fernet.generate_key().decode(),
        }
    )

    with pytest.raises(InvalidInput, match="loopback"):
        subscriptions.check_url("https://localhost:8443/hook", production)
    allowed = production.model_copy(update={"webhook_allowed_hosts": {"localhost"}})
    subscriptions.check_url("https://localhost:8443/hook", allowed)


def test_the_default_secrets_key_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="PUENTE_SECRETS_KEY"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            signing_key="not the default",
        )


def test_the_format_is_common_or_an_adapter(api: TestClient, auth: AuthHeaders) -> None:
    headers = auth("dgme", WRITE)

    unknown = api.post(
        "/v1/subscriptions", headers=headers, json={"url": HOOK, "format": "telex"}
    )
    native = create(api, headers, format="dgme")

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/format"
    assert native["format"] == "dgme"


def test_rotating_gives_a_new_secret_and_keeps_the_old_one_for_a_while(
    api: TestClient, auth: AuthHeaders
) -> None:
    headers = auth("dgme", WRITE)
    created = create(api, headers)

    response = api.post(f"/v1/subscriptions/{created['id']}/rotate", headers=headers)

    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_until"] is not None


def test_a_deleted_subscription_is_gone_and_gets_no_more_deliveries(
    api: TestClient, auth: AuthHeaders, db: Session
) -> None:
    headers = auth("dgme", WRITE)
    created = create(api, headers)
    path = f"/v1/subscriptions/{created['id']}"

    deleted = api.delete(path, headers=headers)
    assert deleted.status_code == 200
    assert deleted.json()["active"] is False
    record(db, new_case(db, "dgme"))

    assert api.get(path, headers=headers).status_code == 404
    assert api.get("/v1/subscriptions", headers=headers).json() == []


def _dead_delivery(
    api: TestClient,
    headers: dict[str, str],
    db: Session,
    worker: Worker,
    clock: Clock,
) -> str:
    subscription = create(api, headers)
    record(db, new_case(db, "dgme"))
    for _ in range(MAX_ATTEMPTS):
        run(worker.run_once())
        clock.advance(timedelta(days=1))
    return str(subscription["id"])


def test_the_owner_lists_deliveries_with_attempts_and_replays_a_dead_one(
    api: TestClient,
    auth: AuthHeaders,
    db: Session,
    receiver: respx.MockRouter,
    make_worker: Callable[..., Worker],
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(500)
    headers = auth("dgme", WRITE, READ)
    worker = make_worker()
    subscription_id = _dead_delivery(api, headers, db, worker, clock)

    page = api.get(
        f"/v1/subscriptions/{subscription_id}/deliveries",
        headers=headers,
        params={"status": "dead"},
    ).json()
    (dead,) = page["items"]
    assert len(dead["attempt_history"]) == MAX_ATTEMPTS
    assert dead["attempt_history"][0]["status_code"] == 500

    replay = api.post(
        f"/v1/subscriptions/{subscription_id}/deliveries/{dead['id']}/replay",
        headers=headers,
    )
    assert replay.status_code == 200
    assert replay.json()["status"] == "pending"
    route.return_value = httpx.Response(200)
    run(worker.run_once(clock.advance(timedelta(seconds=1))))

    again = api.get(
        f"/v1/subscriptions/{subscription_id}/deliveries", headers=headers
    ).json()
    assert again["items"][0]["status"] == "delivered"
    assert route.calls.last.request.headers["webhook-id"] == dead["event_id"]


def test_replaying_a_pending_delivery_is_a_conflict(
    api: TestClient,
    auth: AuthHeaders,
    db: Session,
) -> None:
    headers = auth("dgme", WRITE, READ)
    created = create(api, headers)
    record(db, new_case(db, "dgme"))
    base = f"/v1/subscriptions/{created['id']}/deliveries"
    (pending,) = api.get(base, headers=headers).json()["items"]

    response = api.post(f"{base}/{pending['id']}/replay", headers=headers)

    assert response.status_code == 409


def test_admins_list_dead_deliveries_and_replay_all_failed_since_a_time(
    api: TestClient,
    auth: AuthHeaders,
    db: Session,
    receiver: respx.MockRouter,
    make_worker: Callable[..., Worker],
    clock: Clock,
) -> None:
    hook_route(receiver).respond(500)
    start = clock.now - timedelta(minutes=1)
    _dead_delivery(api, auth("dgme", WRITE), db, make_worker(), clock)
    admin = auth("rree", "admin")

    dead = api.get(
        "/v1/admin/deliveries",
        headers=admin,
        params={"status": "dead", "since": start.isoformat()},
    )
    replayed = api.post(
        "/v1/admin/deliveries/replay",
        headers=admin,
        json={"since": start.isoformat()},
    )
    pending = api.get(
        "/v1/admin/deliveries", headers=admin, params={"status": "pending"}
    )

    assert dead.status_code == 200
    assert len(dead.json()["items"]) == 1
    assert replayed.json() == {"replayed": 1}
    assert [d["id"] for d in pending.json()["items"]] == [dead.json()["items"][0]["id"]]
    assert api.get("/v1/admin/deliveries", headers=auth("dgme", READ)).status_code == (
        403
    )


def test_delivery_listings_page_with_a_cursor(
    api: TestClient, auth: AuthHeaders, db: Session
) -> None:
    headers = auth("dgme", WRITE, READ)
    created = create(api, headers)
    case_id = new_case(db, "dgme")
    for _ in range(3):
        record(db, case_id)
    path = f"/v1/subscriptions/{created['id']}/deliveries"

    first = api.get(path, headers=headers, params={"limit": 2}).json()
    rest = api.get(
        path, headers=headers, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    ids = [d["id"] for d in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    assert rest["next_cursor"] is None


LAST_ID = uuid.UUID("0b6f3c1e-5d2a-4c8e-9f1a-2b3c4d5e6f70")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_key(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), LAST_ID),
        encode_key(2**63, LAST_ID),
    ],
    ids=["garbage", "time for position", "past a 64-bit column"],
)
def test_a_cursor_the_delivery_listing_did_not_issue_is_422(
    cursor: str, api: TestClient, auth: AuthHeaders
) -> None:
    headers = auth("dgme", WRITE, READ)
    path = f"/v1/subscriptions/{create(api, headers)['id']}/deliveries"

    response = api.get(path, headers=headers, params={"cursor": cursor})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["parameter"] == "query:cursor"
