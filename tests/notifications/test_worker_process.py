"""A real `puente worker` process, killed mid-delivery, and the one that takes over."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest
from sqlmodel import Session, col, select

from app.models import Delivery, DeliveryAttempt
from app.models.types import utcnow
from app.settings import Settings
from tests.conftest import ROOT
from tests.notifications.conftest import new_case, record, subscribe

# Bounds on waiting for another process, so that a hang fails the test; never an
# assertion about speed.
PATIENCE = 30.0


class Receiver:
    """A webhook endpoint on loopback that records every request and holds the
    first one unanswered until `release` is set."""

    def __init__(self) -> None:
        self.webhook_ids: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.webhook_ids.append(self.headers["webhook-id"])
                if len(receiver.webhook_ids) == 1:
                    receiver.held.set()
                    receiver.release.wait(PATIENCE)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the worker that sent it is gone

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(PATIENCE)


@contextmanager
def worker_process(database_url: str, log: IO[str]) -> Iterator[subprocess.Popen[str]]:
    """`puente worker` as an operator starts it; killed at the end if still alive."""
    env = os.environ | {
        "PUENTE_ENVIRONMENT": "development",  # allows http://127.0.0.1
        "PUENTE_DATABASE_URL": database_url,
        "PUENTE_WORKER_POLL_SECONDS": "0.1",
        # Longer than the test holds the first request: the kill must come first.
        "PUENTE_WEBHOOK_TIMEOUT_SECONDS": str(PATIENCE),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(PATIENCE)


def wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}; the workers said:\n{log.read_text()}")
        time.sleep(0.1)


def test_a_delivery_whose_worker_was_killed_is_resent_with_the_same_webhook_id(
    db: Session,
    settings: Settings,
    database_url: str,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    subscription = subscribe(db, settings, "dgme", receiver.url).subscription
    event = record(db, new_case(db, "dgme"))
    log_path = tmp_path / "workers.log"

    def delivery() -> Delivery:
        db.expire_all()
        return db.exec(
            select(Delivery).where(Delivery.subscription_id == subscription.id)
        ).one()

    with log_path.open("w") as log:
        with worker_process(database_url, log) as first:
            wait_for(lambda: receiver.held.wait(0.1), "nothing was sent", log_path)
            first.send_signal(signal.SIGKILL)
            first.wait(PATIENCE)
        receiver.release.set()
        assert delivery().status == "pending"

        # NOTE: the lease (twice the webhook timeout plus 30 s) has no setting of its
        # own; run it out in the database, as the worker tests move their clock.
        leased = delivery()
        leased.locked_until = utcnow() - timedelta(seconds=1)
        db.add(leased)
        db.commit()

        with worker_process(database_url, log) as second:
            wait_for(
                lambda: delivery().status == "delivered", "no redelivery", log_path
            )
            second.send_signal(signal.SIGTERM)
            assert second.wait(PATIENCE) == 0

    assert receiver.webhook_ids == [str(event.id), str(event.id)]
    done = delivery()
    attempts = db.exec(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == done.id)
        .order_by(col(DeliveryAttempt.number))
    ).all()
    assert done.attempts == 2
    assert [(a.number, a.outcome, a.status_code) for a in attempts] == [
        (1, "lost", None),
        (2, "delivered", 200),
    ]
    assert attempts[0].worker != attempts[1].worker
