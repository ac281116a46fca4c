"""The `puente` command: serve the hub, migrate, manage clients, import records,
read the audit."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlmodel import Session

from app.db import engine_for, session_scope
from app.errors import ProblemError
from app.schemas.native import BatchResult, LineResult, LineStatus
from app.services import clients as client_service
from app.services import native as native_service
from app.services.seed import load_seed
from app.settings import get_settings

cli = typer.Typer(help="Puente, the interoperability hub.", no_args_is_help=True)
db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
clients_cli = typer.Typer(help="Client credentials.", no_args_is_help=True)
deliveries_cli = typer.Typer(help="Webhook deliveries.", no_args_is_help=True)
audit_cli = typer.Typer(help="The read audit.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(clients_cli, name="clients")
cli.add_typer(deliveries_cli, name="deliveries")
cli.add_typer(audit_cli, name="audit")
console = Console()

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _session() -> Iterator[Session]:
    yield from session_scope(engine_for(get_settings().database_url))


def _show_secret(client_id: str, secret: str) -> None:
    console.print(f"client_id:     {client_id}")
    console.print(f"client_secret: {secret}")
    console.print("[yellow]The secret is shown only now; the hub keeps a hash.[/]")


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION, then load the seed institutions."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, revision)
    with _session() as db:
        count = load_seed(db)
        db.commit()
    console.print(f"Database at {revision}; {count} institutions loaded.")


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the API."""
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@cli.command()
def openapi(output: Path = PROJECT_ROOT / "openapi" / "openapi.json") -> None:
    """Write the OpenAPI document the app generates."""
    from app.openapi import openapi_document

    output.write_text(
        json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    )
    console.print(f"Wrote {output}")


@cli.command("bootstrap-admin")
def bootstrap_admin(name: str = "Puente administrators") -> None:
    """Create the first admin client (for the RREE, which hosts the hub by default)."""
    create_client(institution="rree", name=name, scope=["admin"])


@clients_cli.command("create")
def create_client(
    institution: Annotated[str, typer.Option(help="Institution id, e.g. dgme")],
    name: Annotated[str, typer.Option(help="The system, e.g. 'DGME SII'")],
    scope: Annotated[list[str], typer.Option(help="Repeat for each scope")],
) -> None:
    """Create a client and print its secret once."""
    with _session() as db:
        issued = client_service.create_client(
            db,
            institution_id=institution,
            name=name,
            scopes=scope,
            time_cost=get_settings().password_hash_time_cost,
        )
        db.commit()
    _show_secret(issued.client.id, issued.secret)


@clients_cli.command("list")
def list_clients(institution: str | None = None) -> None:
    """List clients (never their secrets); tab-separated when piped."""
    table = Table("id", "institution", "name", "scopes", "revoked")
    with _session() as db:
        for client in client_service.list_clients(db, institution_id=institution):
            revoked = client.revoked_at.isoformat() if client.revoked_at else ""
            scopes = " ".join(client.scopes)
            table.add_row(
                client.id, client.institution_id, client.name, scopes, revoked
            )
    if console.is_terminal:
        console.print(table)
        return
    for row in zip(*(column.cells for column in table.columns), strict=True):
        print("\t".join(row))  # noqa: T201  (plain output for scripts)


@clients_cli.command("rotate")
def rotate_client(client_id: str) -> None:
    """Give a client a new secret; the old one stops working."""
    with _session() as db:
        issued = client_service.rotate_secret(
            db, client_id, time_cost=get_settings().password_hash_time_cost
        )
        db.commit()
    _show_secret(issued.client.id, issued.secret)


@clients_cli.command("revoke")
def revoke_client(client_id: str) -> None:
    """Revoke a client and every token it holds."""
    with _session() as db:
        client_service.revoke(db, client_id)
        db.commit()
    console.print(f"Revoked {client_id}")


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="One round, then exit")] = False,
) -> None:
    """Deliver webhooks until interrupted (SIGINT or SIGTERM)."""
    import anyio

    from app.worker import run_worker

    anyio.run(partial(run_worker, get_settings(), once=once))


@deliveries_cli.command("list")
def list_deliveries(
    failed: Annotated[bool, typer.Option(help="Only dead-lettered ones")] = False,
    since: Annotated[datetime | None, typer.Option(help="Events since (UTC)")] = None,
    limit: int = 50,
) -> None:
    """List deliveries, newest first, with their last answer."""
    from app.services import deliveries

    table = Table("id", "subscription", "status", "attempts", "last answer", "created")
    with _session() as db:
        rows, _ = deliveries.list_deliveries(
            db,
            status="dead" if failed else None,
            since=_utc(since) if since else None,
            limit=limit,
        )
        for row in rows:
            answer = row.last_error or str(row.last_status_code or "")
            table.add_row(
                str(row.id),
                str(row.subscription_id),
                row.status,
                str(row.attempts),
                answer,
                row.created_at.isoformat(timespec="seconds"),
            )
    console.print(table)


@deliveries_cli.command("replay")
def replay_deliveries(
    delivery_id: Annotated[str | None, typer.Argument(help="One delivery")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="All dead ones since (UTC)")
    ] = None,
) -> None:
    """Replay one delivery, or every dead one since a time."""
    from app.models.types import utcnow
    from app.services import deliveries

    if (delivery_id is None) == (since is None):
        raise typer.BadParameter("give a delivery id or --since, not both")
    with _session() as db:
        if delivery_id is not None:
            delivery = deliveries.get(db, uuid.UUID(delivery_id))
            deliveries.replay(db, delivery, now=utcnow())
            count = 1
        else:
            count = deliveries.replay_failed(db, since=_utc(since), now=utcnow())
        db.commit()
    console.print(f"Replayed {count} deliveries.")


@audit_cli.command("list")
def list_audit(
    case: Annotated[
        uuid.UUID | None, typer.Option(help="Only reads that showed this case")
    ] = None,
    institution: Annotated[
        str | None, typer.Option(help="Only reads by this institution")
    ] = None,
    limit: int = 50,
) -> None:
    """List who was shown which records, newest first."""
    from app.services import audit

    table = Table("at", "institution", "client", "action", "ids", "request")
    filters = audit.AuditFilters(institution_id=institution, resource_id=case)
    with _session() as db:
        page = audit.list_entries(db, filters, cursor=None, limit=limit)
        for entry in page.items:
            table.add_row(
                entry.at.isoformat(timespec="seconds"),
                entry.institution_id,
                entry.client_id,
                entry.action,
                str(len(entry.resource_ids)),
                entry.request_id or "",
            )
    console.print(table)


def _utc(value: datetime | None) -> datetime:
    # Typer parses dates without a zone; the command line speaks UTC.
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@cli.command("import")
def import_records(
    adapter: Annotated[str, typer.Argument(help="The format: dgme, rree or primero")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="One record a line")
    ],
    institution: Annotated[
        str, typer.Option(help="The institution registering the cases, e.g. dgme")
    ],
) -> None:
    """Register each line of an NDJSON FILE as a case, as POST .../cases:batch does.

    Each line commits on its own; the timeline shows the institution, with the client
    `cli:import`. Exits 1 when any line failed. Safe to run again: a line imported in
    the last 24 hours is replayed, not registered twice, and failed lines are tried
    again. After 24 hours a re-run registers new cases, linked to the same children.
    """
    from app.adapters.registry import get_adapter

    case_adapter = get_adapter(adapter)
    lines = native_service.lines_of(file.read_bytes())
    with _session() as db:
        actor = native_service.import_actor(db, institution)
        registered = native_service.import_lines(db, case_adapter, lines, actor=actor)
        results = _with_progress(registered, total=len(lines), name=file.name)

    _print_import_summary(results)
    if any(result.status is LineStatus.ERROR for result in results):
        raise typer.Exit(1)


def _with_progress(
    results: Iterator[LineResult], *, total: int, name: str
) -> list[LineResult]:
    done = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"Importing {name}", total=total)
        for result in results:
            done.append(result)
            progress.advance(task)
    return done


def _print_import_summary(results: list[LineResult]) -> None:
    # Counts are of this run: a line imported before is counted as replayed only.
    summary = BatchResult.of([result for result in results if not result.replayed])
    replayed = len(results) - len(summary.lines)
    console.print(
        f"created: {summary.created}  linked: {summary.linked}  "
        f"errors: {summary.errors}  replayed: {replayed}"
    )
    for line in summary.lines:
        if line.problem is None:
            continue
        fields = "; ".join(
            f"{error.pointer or '/'}: {error.detail}"
            for error in line.problem.errors or []
        )
        # Details quote native values, which may hold brackets rich reads as markup.
        detail = line.problem.detail + (f" ({fields})" if fields else "")
        console.print(f"[red]line {line.line}:[/] {escape(detail)}", highlight=False)


def main() -> None:
    try:
        cli()
    except ProblemError as exc:
        console.print(f"[red]{exc.title}:[/] {exc.detail}")
        raise SystemExit(1) from None
