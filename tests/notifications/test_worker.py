import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
import respx
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from structlog.testing import capture_logs

from app.models import Delivery, DeliveryAttempt, Event, EventRestriction, Subscription
from app.notifications.backoff import MAX_ATTEMPTS
from app.notifications.sender import AttemptResult
from app.services import subscriptions
from app.services.deliveries import Job
from app.settings import Settings
from app.worker import Worker
from tests.notifications.conftest import (
    HOOK,
    OTHER_HOOK,
    PUBLIC_ADDRESS,
    Clock,
    hook_route,
    new_case,
    record,
    run,
    subscribe,
)

MakeWorker = Callable[..., Worker]


def delivery_of(
    db: Session, event: Event, subscription: Subscription | None = None
) -> Delivery:
    db.expire_all()
    query = select(Delivery).where(Delivery.event_position == event.position)
    if subscription is not None:
        query = query.where(Delivery.subscription_id == subscription.id)
    return db.exec(query).one()


def attempts(db: Session, delivery: Delivery) -> list[DeliveryAttempt]:
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery.id)
        .order_by(col(DeliveryAttempt.number))
    )
    return list(db.exec(query))


def headers_of(request: httpx.Request) -> dict[str, str]:
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    return {name: request.headers[name] for name in names}


def test_a_delivery_is_signed_so_standard_webhooks_verifies_it(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    route = hook_route(receiver).respond(204)
    issued = subscribe(db, settings, "dgme")
    case_id = new_case(db, "dgme")
    event = record(db, case_id, "case.updated", fields=["status"])

    assert run(make_worker().run_once()) == 1

    request = route.calls.last.request
    body = json.loads(request.content)
    assert body == {
        "type": "case.updated",
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "id": str(event.id),
            "case_id": str(case_id),
            "case_seq": 1,
            "payload": {"case_id": str(case_id), "fields": ["status"]},
        },
    }
    verified = Webhook(issued.secret).verify(request.content, headers_of(request))
    assert verified["data"]["id"] == request.headers["webhook-id"] == str(event.id)
    with pytest.raises(WebhookVerificationError):
        Webhook(issued.secret).verify(request.content + b" ", headers_of(request))
    assert delivery_of(db, event).status == "delivered"


def test_during_a_rotation_the_old_and_the_new_secret_both_verify(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    route = hook_route(receiver).respond(200)
    old = subscribe(db, settings, "dgme")
    new = subscriptions.rotate_secret(db, old.subscription, settings=settings)
    db.commit()
    record(db, new_case(db, "dgme"))

    run(make_worker().run_once())

    request = route.calls.last.request
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old.secret, new.secret):
        Webhook(secret).verify(request.content, headers_of(request))


def test_after_the_rotation_window_only_the_new_secret_signs(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(200)
    old = subscribe(db, settings, "dgme")
    new = subscriptions.rotate_secret(db, old.subscription, settings=settings)
    db.commit()
    record(db, new_case(db, "dgme"))

    later = clock.advance(timedelta(hours=settings.webhook_rotation_hours, minutes=1))
    run(make_worker().run_once(later))

    request = route.calls.last.request
    assert " " not in request.headers["webhook-signature"]
    # The receiver checks timestamps against its own clock: compare signatures only.
    timestamp = int(request.headers["webhook-timestamp"])
    webhook_id = request.headers["webhook-id"]
    assert (
        Webhook(new.secret).sign(webhook_id, _at(timestamp), request.content.decode())
        == (request.headers["webhook-signature"])
    )


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_a_receiver_down_is_retried_on_schedule_and_then_delivered_once(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver)
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(503)]
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    worker = make_worker()

    run(worker.run_once())
    first_retry = delivery_of(db, event).next_attempt_at
    assert run(worker.run_once(first_retry - timedelta(seconds=1))) == 0

    run(worker.run_once(first_retry))
    second_retry = delivery_of(db, event).next_attempt_at
    # 30 s then 2 min, give or take the 20 % jitter.
    assert timedelta(seconds=24) <= first_retry - clock.now <= timedelta(seconds=36)
    assert timedelta(seconds=96) <= second_retry - first_retry <= timedelta(seconds=144)

    route.side_effect = None
    route.return_value = httpx.Response(200)
    run(worker.run_once(second_retry))
    run(worker.run_once(second_retry + timedelta(days=4)))

    ids = {call.request.headers["webhook-id"] for call in route.calls}
    assert route.call_count == 3
    assert ids == {str(event.id)}
    delivery = delivery_of(db, event)
    assert delivery.status == "delivered"
    outcomes = [(a.outcome, a.status_code) for a in attempts(db, delivery)]
    assert outcomes == [("retry", None), ("retry", 503), ("delivered", 200)]


def test_retry_after_from_the_receiver_is_honoured(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    hook_route(receiver).respond(429, headers={"Retry-After": "3600"})
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))

    run(make_worker().run_once())

    assert delivery_of(db, event).next_attempt_at >= clock.now + timedelta(hours=1)


def test_a_worker_killed_between_send_and_ack_resends_with_the_same_id(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(200)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    doomed = make_worker("doomed")

    # The doomed worker claims and sends, then dies before acknowledging.
    (job,) = doomed.claim_due(clock.now, 10)
    run(doomed.send(job, clock.now))
    assert run(make_worker("early").run_once(clock.now + timedelta(seconds=5))) == 0

    after_lease = clock.advance(doomed.lease + timedelta(seconds=1))
    assert run(make_worker("survivor").run_once(after_lease)) == 1

    ids = [call.request.headers["webhook-id"] for call in route.calls]
    assert ids == [str(event.id), str(event.id)]
    delivery = delivery_of(db, event)
    assert delivery.status == "delivered"
    assert [a.outcome for a in attempts(db, delivery)] == ["lost", "delivered"]


def test_a_late_acknowledgement_does_not_override_the_worker_that_took_over(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    hook_route(receiver).respond(500)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    slow, fast = make_worker("slow"), make_worker("fast")

    (job,) = slow.claim_due(clock.now, 10)
    after_lease = clock.advance(slow.lease + timedelta(seconds=1))
    (taken,) = fast.claim_due(after_lease, 10)
    result, refused = run(slow.send(job, after_lease))

    assert slow.acknowledge(job, result, now=after_lease, refused=refused) is None
    assert delivery_of(db, event).locked_by == "fast"
    assert taken.event_id == job.event_id


def test_two_workers_at_once_never_send_the_same_attempt(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(200)
    subscribe(db, settings, "dgme")
    # Ten cases, so per-case order does not serialise them.
    events = [record(db, new_case(db, "dgme")) for _ in range(10)]
    workers = [make_worker(f"worker-{n}") for n in range(2)]

    async def both() -> list[int]:
        return list(await asyncio.gather(*(w.run_once(clock.now) for w in workers)))

    while sum(run(both())):
        pass

    ids = sorted(call.request.headers["webhook-id"] for call in route.calls)
    assert ids == sorted(str(e.id) for e in events)


def test_a_410_answer_disables_the_subscription(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(410)
    issued = subscribe(db, settings, "dgme")
    case_id = new_case(db, "dgme")
    first, second = record(db, case_id), record(db, case_id)

    run(make_worker().run_once())
    run(make_worker().run_once(clock.advance(timedelta(days=1))))

    db.expire_all()
    subscription = db.get_one(Subscription, issued.subscription.id)
    assert not subscription.active
    assert subscription.disabled_reason == "The endpoint answered 410 Gone"
    assert route.call_count == 1
    assert delivery_of(db, first).status == "cancelled"
    assert delivery_of(db, second).status == "cancelled"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    hook_route(receiver).respond(307, headers={"Location": "http://10.0.0.7/steal"})
    elsewhere = receiver.post("http://10.0.0.7/steal").respond(200)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))

    run(make_worker().run_once())

    delivery = delivery_of(db, event)
    assert delivery.status == "pending"
    assert delivery.last_status_code == 307
    assert "redirects are not followed" in (delivery.last_error or "")
    assert not elsewhere.called


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_send(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    stand_in_dns: dict[str, str],
) -> None:
    route = hook_route(receiver).respond(200)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    stand_in_dns["hooks.example.org"] = "169.254.169.254"

    run(make_worker().run_once())

    assert not route.called
    delivery = delivery_of(db, event)
    (attempt,) = attempts(db, delivery)
    assert attempt.outcome == "refused"
    assert "link-local" in (attempt.error or "")
    assert delivery.status == "pending"


def test_after_the_last_attempt_the_delivery_is_dead_and_its_owner_told(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    failing = hook_route(receiver).respond(500)
    notified = hook_route(receiver, OTHER_HOOK).respond(200)
    failed = subscribe(db, settings, "dgme")
    subscribe(db, settings, "dgme", OTHER_HOOK, ["delivery.*"])
    subscribe(db, settings, "rree", "https://rree.example.org/hook")
    hook_route(receiver, "https://rree.example.org/hook").respond(200)
    case_id = new_case(db, "dgme", "rree")
    event = record(db, case_id)
    worker = make_worker()

    for _ in range(MAX_ATTEMPTS):
        run(worker.run_once())
        retry_at = delivery_of(db, event, failed.subscription).next_attempt_at
        clock.now = max(clock.now, retry_at)
    run(worker.run_once(clock.advance(timedelta(days=5))))

    assert failing.call_count == MAX_ATTEMPTS
    assert delivery_of(db, event, failed.subscription).status == "dead"
    notice = db.exec(select(Event).where(Event.type == "delivery.dead_lettered")).one()
    assert notice.case_id == case_id
    assert notice.payload["subscription_id"] == str(failed.subscription.id)
    assert notice.payload["event_id"] == str(event.id)
    restriction = db.exec(select(EventRestriction)).one()
    assert restriction.institution_id == "dgme"
    # To the owner's other subscription only: not to the dead one, not to RREE.
    assert notified.call_count == 1
    assert json.loads(notified.calls.last.request.content)["type"] == (
        "delivery.dead_lettered"
    )


def test_a_case_goes_out_in_order_while_other_cases_do_not_wait(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    route = hook_route(receiver).respond(200)
    subscribe(db, settings, "dgme")
    blocked_case, other_case = new_case(db, "dgme"), new_case(db, "dgme")
    first = record(db, blocked_case)
    second = record(db, blocked_case)
    other = record(db, other_case)
    route.side_effect = lambda request: httpx.Response(
        500 if request.headers["webhook-id"] == str(first.id) else 200
    )

    run(make_worker().run_once())

    sent = [call.request.headers["webhook-id"] for call in route.calls]
    assert sorted(sent) == sorted([str(first.id), str(other.id)])
    assert delivery_of(db, second).attempts == 0

    route.side_effect = None
    run(make_worker().run_once(delivery_of(db, first).next_attempt_at))
    run(make_worker().run_once(clock.advance(timedelta(hours=1))))
    sent = [call.request.headers["webhook-id"] for call in route.calls]
    assert sent[2:] == [str(first.id), str(second.id)]


def test_a_busy_subscription_gets_no_more_than_its_share_of_a_round(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    hook_route(receiver).respond(200)
    quiet = hook_route(receiver, OTHER_HOOK).respond(200)
    subscribe(db, settings, "dgme")
    subscribe(db, settings, "rree", OTHER_HOOK)
    for _ in range(settings.worker_per_subscription + 3):
        record(db, new_case(db, "dgme"))
    record(db, new_case(db, "rree"))

    jobs = make_worker().claim_due(clock.now, 100)

    by_url = [job.url for job in jobs]
    assert by_url.count(HOOK) == settings.worker_per_subscription
    assert by_url.count(OTHER_HOOK) == 1
    assert not quiet.called


def test_a_backlog_on_one_subscription_does_not_crowd_out_another(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    hook_route(receiver).respond(200)
    subscribe(db, settings, "dgme")
    subscribe(db, settings, "rree", OTHER_HOOK)
    for _ in range(12):
        record(db, new_case(db, "dgme"))
    record(db, new_case(db, "rree"))

    jobs = make_worker().claim_due(clock.now, 2)

    assert sorted(job.url for job in jobs) == sorted([HOOK, OTHER_HOOK])


def test_a_dns_answer_that_changes_after_the_check_cannot_redirect_the_post(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    route = hook_route(receiver).respond(204)
    loopback = receiver.post("https://127.0.0.1/puente").respond(200)
    by_name = receiver.post(HOOK).respond(200)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    answers = iter([PUBLIC_ADDRESS])
    asked: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        # Public when the policy asks, loopback for anyone who asks after it.
        asked.append(host)
        return [next(answers, "127.0.0.1")]

    run(make_worker(resolve=rebinding).run_once())

    assert asked == ["hooks.example.org"]
    assert not loopback.called
    assert not by_name.called
    request = route.calls.last.request
    assert request.url.host == PUBLIC_ADDRESS
    assert request.headers["host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert delivery_of(db, event).status == "delivered"


def test_an_allow_listed_private_host_is_still_delivered_by_name(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
) -> None:
    settings.webhook_allowed_hosts = frozenset({"intranet.example.org"})
    url = "https://intranet.example.org/hook"
    route = receiver.post(url).respond(204)
    subscribe(db, settings, "dgme", url)
    event = record(db, new_case(db, "dgme"))

    run(make_worker().run_once())

    # The admin vouches for the name, so the client resolves it (to 10.0.0.7).
    request = route.calls.last.request
    assert request.url.host == "intranet.example.org"
    assert "sni_hostname" not in request.extensions
    assert delivery_of(db, event).status == "delivered"


def test_a_loopback_endpoint_in_development_gets_the_post_at_the_checked_address(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    stand_in_dns: dict[str, str],
) -> None:
    stand_in_dns["localhost"] = "127.0.0.1"
    url = "http://localhost:8080/hook"
    route = receiver.post(
        "http://127.0.0.1:8080/hook", headers={"host": "localhost:8080"}
    ).respond(204)
    subscribe(db, settings, "dgme", url)
    event = record(db, new_case(db, "dgme"))

    run(make_worker().run_once())

    assert route.called
    assert "sni_hostname" not in route.calls.last.request.extensions
    assert delivery_of(db, event).status == "delivered"


def test_a_410_after_the_lease_was_lost_leaves_the_subscription_alone(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    hook_route(receiver).respond(410)
    issued = subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    slow, fast = make_worker("slow"), make_worker("fast")

    (job,) = slow.claim_due(clock.now, 10)
    after_lease = clock.advance(slow.lease + timedelta(seconds=1))
    fast.claim_due(after_lease, 10)
    result, refused = run(slow.send(job, after_lease))

    assert slow.acknowledge(job, result, now=after_lease, refused=refused) is None
    db.expire_all()
    assert db.get_one(Subscription, issued.subscription.id).active
    assert delivery_of(db, event).locked_by == "fast"


def test_a_subscription_whose_secret_cannot_be_decrypted_does_not_stop_another(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    broken_route = hook_route(receiver).respond(200)
    healthy_route = hook_route(receiver, OTHER_HOOK).respond(200)
    broken = subscribe(db, settings, "dgme").subscription
    healthy = subscribe(db, settings, "rree", OTHER_HOOK).subscription
    # As if PUENTE_SECRETS_KEY had changed under this one subscription.
    broken.secret_encrypted = "sealed-with-a-key-the-hub-no-longer-has"
    db.add(broken)
    db.commit()
    event = record(db, new_case(db, "dgme", "rree"))

    with capture_logs() as logs:
        assert run(make_worker().run_once()) == 1

    assert healthy_route.call_count == 1
    assert not broken_route.called
    assert delivery_of(db, event, healthy).status == "delivered"
    stuck = delivery_of(db, event, broken)
    assert (stuck.status, stuck.locked_by) == ("pending", None)
    assert stuck.next_attempt_at > clock.now
    (attempt,) = attempts(db, stuck)
    assert attempt.outcome == "retry"
    assert attempt.error == "the attempt could not be prepared: RuntimeError"
    assert any(entry.get("error_type") == "RuntimeError" for entry in logs)


def test_a_delivery_that_cannot_be_prepared_is_dead_lettered_on_schedule(
    db: Session,
    settings: Settings,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    issued = subscribe(db, settings, "dgme")
    issued.subscription.secret_encrypted = "sealed-with-a-key-the-hub-no-longer-has"
    db.add(issued.subscription)
    db.commit()
    event = record(db, new_case(db, "dgme"))
    worker = make_worker()

    for _ in range(MAX_ATTEMPTS):
        assert worker.claim_due(clock.now, 10) == []
        clock.now = max(clock.now, delivery_of(db, event).next_attempt_at)

    assert delivery_of(db, event).status == "dead"
    assert len(attempts(db, delivery_of(db, event))) == MAX_ATTEMPTS


def _stop_on_arrival(stop: anyio.Event) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_request: httpx.Request) -> httpx.Response:
        stop.set()
        return httpx.Response(200)

    return answer


async def _run_until_received(worker: Worker, route: respx.Route) -> None:
    """Run the worker loop until `route` receives a POST, then let it wind down."""
    stop = anyio.Event()
    route.side_effect = _stop_on_arrival(stop)
    await worker.run(stop)


def test_a_failing_overdue_check_does_not_stop_deliveries(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = hook_route(receiver)
    subscribe(db, settings, "dgme")
    event = record(db, new_case(db, "dgme"))
    worker = make_worker()

    def database_down(_now: datetime) -> int:
        raise OperationalError("SELECT referrals", {}, Exception("connection lost"))

    monkeypatch.setattr(worker, "announce_overdue", database_down)
    with capture_logs() as logs:
        run(_run_until_received(worker, route))

    assert delivery_of(db, event).status == "delivered"
    failures = [entry for entry in logs if entry["log_level"] == "error"]
    assert failures
    assert {entry["error_type"] for entry in failures} == {"OperationalError"}


def test_an_attempt_that_fails_unexpectedly_does_not_cancel_the_others(
    db: Session,
    settings: Settings,
    receiver: respx.MockRouter,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    healthy_route = hook_route(receiver, OTHER_HOOK)
    subscribe(db, settings, "dgme")
    healthy = subscribe(db, settings, "rree", OTHER_HOOK).subscription
    event = record(db, new_case(db, "dgme", "rree"))
    worker = make_worker()
    send = worker.send

    async def send_or_fail(job: Job, now: datetime) -> tuple[AttemptResult, bool]:
        if job.url == HOOK:
            raise ValueError("a bug in the sender")
        return await send(job, now)

    monkeypatch.setattr(worker, "send", send_or_fail)
    run(_run_until_received(worker, healthy_route))

    assert delivery_of(db, event, healthy).status == "delivered"
