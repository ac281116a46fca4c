import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.models import Case, TimelineEntry
from tests.conftest import run_cli
from tests.native.conftest import FIXTURES, dgme_record


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """Every DGME fixture, a broken line, and the first child again."""
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((FIXTURES / "dgme").glob("*.json"))
    ]
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    lines.insert(2, '{"numero_registro": "SII-2024-009999", "sexo": ')
    lines.append(json.dumps(dgme_record(numero_registro="SII-2024-004999")))
    path = tmp_path / "sii-export.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_importing_a_file_registers_each_line_and_reports_the_failures(
    database_url: str, export: Path, db: Session
) -> None:
    done = run_cli(database_url, "import", "dgme", str(export), "--institution", "dgme")

    assert done.returncode == 1, done.stderr
    assert "created: 4  linked: 1  errors: 1" in done.stdout
    assert "line 3: Line 3 is not valid JSON" in done.stdout
    cases = db.exec(select(Case)).all()
    assert len(cases) == 5
    assert {case.registered_by_id for case in cases} == {"dgme"}
    clients = set(db.exec(select(TimelineEntry.client_id)).all())
    assert clients == {"cli:import"}


def test_importing_as_an_unknown_institution_registers_nothing(
    database_url: str, export: Path, db: Session
) -> None:
    done = run_cli(database_url, "import", "dgme", str(export), "--institution", "sii")

    assert done.returncode == 1
    assert "no active institution 'sii'" in done.stdout
    assert db.exec(select(Case)).all() == []


def test_importing_the_same_file_again_replays_it_and_registers_nothing(
    database_url: str, export: Path, db: Session
) -> None:
    args = ("import", "dgme", str(export), "--institution", "dgme")
    run_cli(database_url, *args)
    first = {case.id for case in db.exec(select(Case)).all()}

    again = run_cli(database_url, *args)

    # The broken line fails again; the five registered ones are answered from before.
    assert again.returncode == 1, again.stderr
    assert "created: 0  linked: 0  errors: 1  replayed: 5" in again.stdout
    assert {case.id for case in db.exec(select(Case)).all()} == first


def test_a_line_added_to_the_file_is_the_only_one_registered_on_a_rerun(
    database_url: str, export: Path, db: Session
) -> None:
    args = ("import", "dgme", str(export), "--institution", "dgme")
    run_cli(database_url, *args)
    added = dgme_record(numero_registro="SII-2024-005000", nui="069876543")
    with export.open("a", encoding="utf-8") as file:
        file.write(json.dumps(added, ensure_ascii=False) + "\n")

    again = run_cli(database_url, *args)

    assert "errors: 1  replayed: 5" in again.stdout
    assert len(db.exec(select(Case)).all()) == 6


def test_another_institution_importing_the_same_file_registers_its_own_cases(
    database_url: str, export: Path, db: Session
) -> None:
    run_cli(database_url, "import", "dgme", str(export), "--institution", "dgme")

    done = run_cli(database_url, "import", "dgme", str(export), "--institution", "pgr")

    assert "replayed: 0" in done.stdout
    registrars = {case.registered_by_id for case in db.exec(select(Case)).all()}
    assert registrars == {"dgme", "pgr"}


def test_a_line_that_moved_in_the_file_is_replayed_not_registered_again(
    database_url: str, tmp_path: Path, db: Session
) -> None:
    first, second = dgme_record(), dgme_record(nombre_completo="Rosa Elena Pérez Díaz")
    export = tmp_path / "moved.ndjson"
    export.write_text(json.dumps(first) + "\n")
    run_cli(database_url, "import", "dgme", str(export), "--institution", "dgme")

    export.write_text(json.dumps(second) + "\n" + json.dumps(first) + "\n")
    again = run_cli(
        database_url, "import", "dgme", str(export), "--institution", "dgme"
    )

    assert again.returncode == 0, again.stdout
    assert len(db.exec(select(Case)).all()) == 2
