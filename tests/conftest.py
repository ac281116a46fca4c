"""Test harness: a real database built by the migrations, and real tokens.

Set PUENTE_TEST_DATABASE_URL to a PostgreSQL server URL (a database the tests may
create databases from) to run the same suite on PostgreSQL; SQLite otherwise.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from app.db import make_engine
from app.main import create_app
from app.services import clients as client_service
from app.services.seed import load_seed
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KEEP_TABLES = {"institution", "routing_rule", "alembic_version"}


def _create_postgres_database(server_url: str) -> str:
    url = make_url(server_url)
    name = f"puente_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`puente ARGS` in its own process, as an admin runs it, on `database_url`."""
    env = {**os.environ, "PUENTE_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def migrate(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["database_url"] = database_url
    return config


@contextmanager
def empty_database(directory: Path) -> Iterator[str]:
    """A new, empty database on the server under test (SQLite or PostgreSQL)."""
    server = os.environ.get("PUENTE_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
        return
    url = _create_postgres_database(server)
    try:
        yield url
    finally:
        _drop_postgres_database(server, url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with Session(engine) as db:
        load_seed(db)
        db.commit()
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with only the seed data (institutions, routing rules)."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: Engine = request.getfixturevalue("engine")
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                conn.execute(table.delete())


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        password_hash_time_cost=1,
        token_rate_limit="1000/minute",
        rate_limit="10000/minute",
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    app = create_app(settings)
    app.state.engine = engine
    return app


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    institution: str


MakeClient = Callable[..., Credentials]
AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def make_client(engine: Engine) -> MakeClient:
    """Create a client for an institution, as an admin would."""

    def make(institution: str, *scopes: str) -> Credentials:
        with Session(engine, expire_on_commit=False) as db:
            issued = client_service.create_client(
                db,
                institution_id=institution,
                name=f"{institution} test system",
                scopes=list(scopes),
                time_cost=1,
            )
            db.commit()
        return Credentials(issued.client.id, issued.secret, institution)

    return make


@pytest.fixture
def auth(api: TestClient, make_client: MakeClient) -> AuthHeaders:
    """Bearer headers for a fresh client of `institution` holding `scopes`."""

    def headers(institution: str, *scopes: str) -> dict[str, str]:
        creds = make_client(institution, *scopes)
        response = api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.client_id, creds.secret),
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers
