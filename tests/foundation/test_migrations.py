"""The migrations build exactly the schema the models declare, and can be undone."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from app.db import make_engine
from tests.conftest import alembic_config, empty_database, migrate


def test_migrations_leave_no_difference_with_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_every_migration_can_be_undone_and_redone(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        migrate(url)
        command.downgrade(alembic_config(url), "base")
        engine = make_engine(url)
        assert inspect(engine).get_table_names() == ["alembic_version"]

        migrate(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
    assert set(SQLModel.metadata.tables) <= tables
