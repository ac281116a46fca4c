"""Webhook throughput and latency through the worker, next to raw httpx (not a test).

    .venv/bin/python bench/bench_webhooks.py [--events 500] [--paced 100]

Starts a local receiver (uvicorn on 127.0.0.1, in a thread) and a fresh SQLite
database (or the empty database --database-url names), then measures, in one run:

- raw: one shared httpx client POSTing the same signed bodies, 50 at a time;
- drain: a backlog of --events committed events delivered by one worker;
- paced: --paced events committed one by one at --rate per second while the
  worker runs; latency is from each commit to its receipt.

Bounded: every phase stops after --timeout seconds.
"""

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import anyio
import httpx
import uvicorn
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import make_engine
from app.logging import configure_logging
from app.models import Case, CaseAccess, Child
from app.notifications.sender import make_client
from app.notifications.signing import new_secret, webhook_headers
from app.services import events, subscriptions
from app.services.seed import load_seed
from app.settings import Settings
from app.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
RECEIVED: dict[str, float] = {}


async def receiver(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    """A minimal ASGI receiver: notes when each webhook-id arrived, answers 204."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = dict(scope["headers"])
    RECEIVED.setdefault(headers.get(b"webhook-id", b"").decode(), time.perf_counter())
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def start_receiver() -> tuple[uvicorn.Server, int]:
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, port


def prepare_database(url: str) -> Engine:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    engine = make_engine(url)
    with Session(engine) as db:
        load_seed(db)
        db.commit()
    return engine


def new_case(db: Session) -> uuid.UUID:
    child = Child(
        given_names="Bench",
        family_names="Child",
        match_key=f"bench {uuid.uuid4().hex}",
        sex=1,
        birth_date=date(2012, 5, 1),
        nationality="SV",
        mother_tongue="spa",
    )
    db.add(child)
    db.flush()
    case = Case(child_id=child.id, lead_institution_id="dgme", registered_by_id="dgme")
    db.add(case)
    db.flush()
    db.add(CaseAccess(case_id=case.id, institution_id="dgme", reason="lead"))
    return case.id


def commit_event(engine: Engine) -> tuple[str, float]:
    """One case and its event in one transaction; the event id and commit time."""
    with Session(engine, expire_on_commit=False) as db:
        case_id = new_case(db)
        event = events.record(db, type="case.created", case_id=case_id, payload={})
        db.commit()
        return str(event.id), time.perf_counter()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def raw_httpx(
    url: str, count: int, timeout: float, *, parallel: int = 50, rate: float = 0
) -> tuple[float, list[float]]:
    """Deliveries per second and per-request latency (ms) posting directly; with
    `rate`, one request at a time at that pace."""
    secret = new_secret()
    body = b'{"type":"case.created","data":{}}'
    latencies: list[float] = []
    limiter = anyio.Semaphore(parallel)

    async def post(client: httpx.AsyncClient) -> None:
        async with limiter:
            msg_id = str(uuid.uuid4())
            headers = webhook_headers(
                [secret], msg_id=msg_id, timestamp=int(time.time()), body=body
            )
            started = time.perf_counter()
            await client.post(url, content=body, headers=headers)
            latencies.append((RECEIVED[msg_id] - started) * 1000)

    started = time.perf_counter()
    with anyio.fail_after(timeout):
        async with make_client() as client, anyio.create_task_group() as group:
            for _ in range(count):
                if rate:
                    await post(client)
                    await anyio.sleep(1 / rate)
                else:
                    group.start_soon(post, client)
    return count / (time.perf_counter() - started), latencies


async def through_worker(
    engine: Engine,
    settings: Settings,
    *,
    backlog: int,
    paced: int,
    rate: float,
    timeout: float,
) -> tuple[float, list[float], list[float]]:
    """Drain rate (deliveries/s) of a backlog, then commit-to-receipt latencies (ms)
    for the backlog and for events committed at a steady pace."""
    committed = [
        await anyio.to_thread.run_sync(commit_event, engine) for _ in range(backlog)
    ]
    async with make_client() as client:
        worker = Worker(engine, settings, client, name="bench")
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run, stop)
            started = time.perf_counter()
            await wait_for(committed, timeout)
            drain_rate = backlog / (time.perf_counter() - started)

            paced_events = []
            for _ in range(paced):
                paced_events.append(
                    await anyio.to_thread.run_sync(commit_event, engine)
                )
                await anyio.sleep(1 / rate)
            await wait_for(paced_events, timeout)
            stop.set()
    return drain_rate, latencies(committed), latencies(paced_events)


async def wait_for(committed: list[tuple[str, float]], timeout: float) -> None:
    with anyio.move_on_after(timeout):
        while not all(event_id in RECEIVED for event_id, _ in committed):
            await anyio.sleep(0.005)


def latencies(committed: list[tuple[str, float]]) -> list[float]:
    return [
        (RECEIVED[event_id] - at) * 1000
        for event_id, at in committed
        if event_id in RECEIVED
    ]


def report(name: str, rate: float, values: list[float], expected: int) -> None:
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    # A command-line report: printing is its job.
    print(  # noqa: T201
        f"{name:<24} {rate:>9.1f}/s   p50 {p50:>8.1f} ms   p99 {p99:>8.1f} ms"
        f"   received {len(values)}/{expected}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--paced", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    database_url = args.database_url or (
        f"sqlite:///{tempfile.mkdtemp(prefix='puente-bench-')}/bench.db"
    )
    engine = prepare_database(database_url)
    server, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        worker_poll_seconds=0.01,
        worker_concurrency=50,
        worker_per_subscription=50,
        log_level="WARNING",
    )
    with Session(engine) as db:
        subscriptions.create(
            db,
            institution_id="dgme",
            url=url,
            event_types=[],
            format="common",
            settings=settings,
        )
        db.commit()

    configure_logging(level="WARNING")
    raw_rate, raw_latency = anyio.run(raw_httpx, url, args.events, args.timeout)
    _, raw_paced_latency = anyio.run(
        lambda: raw_httpx(url, args.paced, args.timeout, parallel=1, rate=args.rate)
    )
    drain_rate, drain_latency, paced_latency = anyio.run(
        lambda: through_worker(
            engine,
            settings,
            backlog=args.events,
            paced=args.paced,
            rate=args.rate,
            timeout=args.timeout,
        )
    )
    server.should_exit = True

    header = f"database: {engine.dialect.name}; receiver: uvicorn on 127.0.0.1:{port}"
    print(header)  # noqa: T201
    report("raw httpx, 50 in flight", raw_rate, raw_latency, args.events)
    report("worker, backlog", drain_rate, drain_latency, args.events)
    report(f"raw httpx, {args.rate:g}/s", args.rate, raw_paced_latency, args.paced)
    report(f"worker, {args.rate:g}/s", args.rate, paced_latency, args.paced)
    latency_ratio = statistics.median(paced_latency) / statistics.median(
        raw_paced_latency
    )
    print(  # noqa: T201
        f"worker/raw: throughput {drain_rate / raw_rate:.2f}x, "
        f"p50 latency at {args.rate:g}/s {latency_ratio:.1f}x "
        "(worker latency is from commit to receipt, raw from send to receipt)"
    )


if __name__ == "__main__":
    main()
