"""The `puente` command: serve the hub, migrate, and manage client credentials."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from app.db import engine_for, session_scope
from app.errors import ProblemError
from app.services import clients as client_service
from app.services.seed import load_seed
from app.settings import get_settings

cli = typer.Typer(help="Puente, the interoperability hub.", no_args_is_help=True)
db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
clients_cli = typer.Typer(help="Client credentials.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(clients_cli, name="clients")
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
            table.add_row(client.id, client.institution_id, client.name, scopes, revoked)
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


def main() -> None:
    try:
        cli()
    except ProblemError as exc:
        console.print(f"[red]{exc.title}:[/] {exc.detail}")
        raise SystemExit(1) from None
