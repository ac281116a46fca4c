"""`puente worker`: the process that delivers webhooks.

    Worker.run          the loop: claims while it has room, sends in the background
    Worker.run_once     one round, awaited: claim what is due, send it all, record it
     ├── claim_due      the database half: leases (app.services.deliveries.claim)
     ├── send           URL policy again, then one signed POST to the address it
     │                  judged, never to a second DNS answer (app.notifications)
     └── acknowledge    the database half: the attempt row and the delivery's next step

Each attempt is sent as soon as it is claimed and the loop never waits for one, so a
slow or dead endpoint only holds its own slots (`worker_per_subscription`, enforced
through the leases in the database, across every worker process). The clock and the
random source are injectable so that tests drive retries without sleeping.

No single failure ends the loop: a failed round, a failed overdue check or an attempt
that breaks is logged (its error type only: messages can quote personal data) and the
loop goes on, pausing longer while the failures repeat. An attempt that breaks keeps
its lease until it runs out, and is then claimed again.
"""

import os
import random
import secrets
import signal
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import anyio
import httpx
import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import engine_for
from app.errors import InvalidInput
from app.models.types import utcnow
from app.notifications import urlpolicy
from app.notifications.sender import AttemptResult, make_client, send
from app.notifications.signing import webhook_headers
from app.services import deliveries
from app.services import referrals as referral_service
from app.services.deliveries import Job, Unprepared
from app.services.secretbox import SecretBox
from app.settings import Settings

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

# The pause doubles with each failure in a row, up to this many times the usual one:
# enough not to hammer a database that is down, short enough to resume soon after.
MAX_BACKOFF = 8


def worker_name() -> str:
    """Unique per process, so a lease names who holds it."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        name: str | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        lease: timedelta | None = None,
        resolve: urlpolicy.Resolver | None = None,
    ) -> None:
        self.name = name or worker_name()
        self._engine = engine
        self._settings = settings
        self._client = client
        self._clock = clock
        self._rng = rng or random.Random()
        timeout = settings.webhook_timeout_seconds
        # Longer than a whole attempt (DNS check and POST), or two workers would
        # send it at once; a dead worker's deliveries wait this long.
        self.lease = lease or timedelta(seconds=2 * timeout + 30)
        self._resolve = resolve
        self._box = SecretBox(settings)
        self._in_flight = 0

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim every due delivery (up to the concurrency), send them, record them;
        how many attempts were made."""
        now = now or self._clock()
        jobs = await anyio.to_thread.run_sync(
            self.claim_due, now, self._settings.worker_concurrency
        )
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(self._deliver_guarded, job, now)
        return len(jobs)

    async def run(self, stop: anyio.Event) -> None:
        """Deliver until `stop` is set, then finish the attempts in flight."""
        log.info("Webhook worker started", worker=self.name)
        async with anyio.create_task_group() as group:
            group.start_soon(self._announce_overdue_until, stop)
            failures = 0
            while not stop.is_set():
                claimed = await self._claim_round(group)
                failures = 0 if claimed is not None else failures + 1
                if claimed:
                    await anyio.sleep(0)
                    continue
                poll = self._settings.worker_poll_seconds
                await _wait(stop, _pause(poll, failures))
        log.info("Webhook worker stopped", worker=self.name)

    async def _claim_round(self, group: anyio.abc.TaskGroup) -> int | None:
        """How many deliveries were claimed and started; None if the round failed."""
        try:
            return await self._claim_into(group)
        except Exception as exc:
            log.error(
                "Webhook claim round failed; trying again after a pause",
                worker=self.name,
                error_type=type(exc).__name__,
            )
            return None

    async def _claim_into(self, group: anyio.abc.TaskGroup) -> int:
        room = self._settings.worker_concurrency - self._in_flight
        if room <= 0:
            return 0
        jobs = await anyio.to_thread.run_sync(self.claim_due, self._clock(), room)
        for job in jobs:
            self._in_flight += 1
            group.start_soon(self._deliver_counted, job)
        return len(jobs)

    async def _deliver_counted(self, job: Job) -> None:
        try:
            await self._deliver_guarded(job)
        finally:
            self._in_flight -= 1

    async def _deliver_guarded(self, job: Job, now: datetime | None = None) -> None:
        # Raising here would cancel every other attempt in the task group.
        try:
            await self.deliver(job, now)
        except Exception as exc:
            log.error(
                "Webhook attempt failed unexpectedly; retried once its lease ends",
                delivery_id=str(job.delivery_id),
                subscription_id=str(job.subscription_id),
                attempt=job.attempt,
                error_type=type(exc).__name__,
            )

    async def _announce_overdue_until(self, stop: anyio.Event) -> None:
        # No extra backoff: the usual pause between checks is already minutes long.
        while not stop.is_set():
            await self._overdue_round()
            await _wait(stop, self._settings.overdue_check_seconds)

    async def _overdue_round(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.announce_overdue, self._clock())
        except Exception as exc:
            log.error(
                "Overdue referral check failed; trying again at the next check",
                worker=self.name,
                error_type=type(exc).__name__,
            )

    def announce_overdue(self, now: datetime) -> int:
        """Emit `referral.overdue` for referrals past due (blocking: a thread).

        Safe with several workers: each referral is announced once (see
        `app.services.referrals.mark_overdue`).
        """
        with Session(self._engine, expire_on_commit=False) as db:
            announced = referral_service.mark_overdue(db, referral_service.today(now))
            db.commit()
        if announced:
            log.info("Overdue referrals announced", count=announced)
        return announced

    def claim_due(self, now: datetime, limit: int) -> list[Job]:
        """Lease up to `limit` due deliveries for this worker (blocking: a thread)."""
        with Session(self._engine, expire_on_commit=False) as db:
            due = deliveries.due(
                db,
                now=now,
                limit=limit,
                per_subscription=self._settings.worker_per_subscription,
            )
            db.commit()
            claimed = [self._claim(db, delivery_id, now) for delivery_id in due]
        return [job for job in claimed if job is not None]

    def _claim(self, db: Session, delivery_id: uuid.UUID, now: datetime) -> Job | None:
        try:
            claimed = deliveries.claim(
                db,
                delivery_id,
                worker=self.name,
                now=now,
                lease=self.lease,
                box=self._box,
                rng=self._rng,
            )
            # One transaction per lease: a failure later in the batch keeps these.
            db.commit()
        except Exception as exc:
            # Not raised: the leases already taken this round still have to be sent.
            db.rollback()
            log.error(
                "Webhook claim failed; the delivery stays due",
                delivery_id=str(delivery_id),
                error_type=type(exc).__name__,
            )
            return None
        if isinstance(claimed, Unprepared):
            _log_unprepared(claimed)
            return None
        return claimed

    async def deliver(self, job: Job, now: datetime | None = None) -> str | None:
        """Send one claimed attempt and record what happened."""
        now = now or self._clock()
        result, refused = await self.send(job, now)
        return await anyio.to_thread.run_sync(
            partial(self.acknowledge, job, result, now=now, refused=refused)
        )

    async def send(self, job: Job, now: datetime) -> tuple[AttemptResult, bool]:
        """The URL policy again (DNS may have changed), then one signed POST."""
        target = await self._target(job.url)
        if isinstance(target, str):
            return AttemptResult("retry", None, 0.0, target), True

        headers = webhook_headers(
            job.secrets,
            msg_id=str(job.event_id),
            timestamp=int(now.timestamp()),
            body=job.body,
        )
        result = await send(
            self._client,
            url=job.url,
            headers=headers,
            body=job.body,
            timeout=self._settings.webhook_timeout_seconds,
            clock=lambda: now,
            # The address the policy judged: asking DNS again could answer 127.0.0.1.
            connect_to=target.address,
        )
        return result, False

    async def _target(self, url: str) -> urlpolicy.WebhookTarget | str:
        """Where to send `url`, or why the URL policy refuses it now."""
        check = partial(
            urlpolicy.resolve_webhook_target,
            url,
            development=self._settings.development,
            allowed_hosts=self._settings.webhook_allowed_hosts,
            # Looked up at call time so that tests can stand in for DNS.
            resolve=self._resolve or urlpolicy.resolve_host,
        )
        try:
            with anyio.fail_after(self._settings.webhook_timeout_seconds):
                return await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        except InvalidInput as exc:
            return f"refused by the URL policy: {exc.detail}"[:300]
        except TimeoutError:
            return "refused by the URL policy: the host did not resolve in time"

    def acknowledge(
        self, job: Job, result: AttemptResult, *, now: datetime, refused: bool
    ) -> str | None:
        """Record the attempt and the delivery's next step (blocking: a thread)."""
        with Session(self._engine, expire_on_commit=False) as db:
            status = deliveries.acknowledge(
                db,
                job,
                result,
                worker=self.name,
                now=now,
                rng=self._rng,
                refused=refused,
            )
            db.commit()
        _log_outcome(job, result, status)
        return status


def _pause(seconds: float, failures: int) -> float:
    """The usual pause, doubled for each failure in a row, up to `MAX_BACKOFF` times."""
    return seconds * min(1 << min(failures, 16), MAX_BACKOFF)


async def _wait(stop: anyio.Event, seconds: float) -> None:
    with anyio.move_on_after(seconds):
        await stop.wait()


def _log_unprepared(claimed: Unprepared) -> None:
    log.error(
        "Webhook attempt could not be prepared; recorded as a failed attempt",
        delivery_id=str(claimed.delivery_id),
        subscription_id=str(claimed.subscription_id),
        attempt=claimed.attempt,
        status=claimed.status,
        error_type=claimed.error_type,
    )


def _log_outcome(job: Job, result: AttemptResult, status: str | None) -> None:
    bound = log.bind(
        delivery_id=str(job.delivery_id),
        subscription_id=str(job.subscription_id),
        attempt=job.attempt,
        status_code=result.status_code,
        latency_ms=round(result.latency_ms, 1),
    )
    if status is None:
        bound.warning("Webhook lease lost; another worker owns the delivery")
    elif status == "delivered":
        bound.info("Webhook delivered")
    elif status == "dead":
        bound.warning(
            "Webhook dead-lettered after the last attempt", error=result.error
        )
    elif status == "cancelled":
        bound.warning("Webhook endpoint is gone; subscription disabled")
    else:
        bound.info("Webhook attempt failed; retrying later", error=result.error)


async def run_worker(settings: Settings, *, once: bool = False) -> None:
    """The `puente worker` process: one shared HTTP client for every delivery."""
    engine = engine_for(settings.database_url)
    async with make_client(timeout=settings.webhook_timeout_seconds) as client:
        worker = Worker(engine, settings, client)
        if once:
            await worker.run_once()
            return
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signal, stop)
            await worker.run(stop)
            group.cancel_scope.cancel()


async def _stop_on_signal(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stop.set()
            return
