import ast
from pathlib import Path

import pytest

from app.adapters.base import json_pointer
from app.adapters.registry import (
    ADAPTERS,
    REFERRAL_ADAPTERS,
    describe_adapters,
    get_adapter,
    get_referral_adapter,
)
from app.errors import NotFound

ADAPTER_DIR = Path(__file__).parents[2] / "app" / "adapters"
FORBIDDEN = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "app.db", "app.models")
FORBIDDEN += ("app.routers", "app.services", "app.main")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return names


@pytest.mark.parametrize("path", sorted(ADAPTER_DIR.glob("*.py")), ids=lambda p: p.name)
def test_an_adapter_module_imports_no_http_framework_and_no_database(path):
    imports = imported_modules(path)

    assert [m for m in imports if m.startswith(FORBIDDEN)] == []


def test_an_unknown_adapter_is_not_found_with_the_known_ones_listed():
    with pytest.raises(NotFound) as raised:
        get_adapter("conna")

    assert raised.value.extensions["known"] == ["dgme", "primero", "rree"]
    assert "dgme, primero, rree" in raised.value.detail


def test_minsal_is_found_among_the_referral_adapters_only():
    assert get_referral_adapter("minsal") is REFERRAL_ADAPTERS["minsal"]
    with pytest.raises(NotFound):
        get_adapter("minsal")


def test_each_adapter_is_registered_under_its_own_name():
    registered = {**ADAPTERS, **REFERRAL_ADAPTERS}

    assert all(name == adapter.name for name, adapter in registered.items())


def test_every_adapter_describes_itself_with_a_json_schema_of_its_native_record():
    described = {info.name: info for info in describe_adapters()}

    assert set(described) == {"dgme", "rree", "primero", "minsal"}
    assert "fecha_nacimiento" in described["dgme"].native_schema["properties"]
    assert "protection_concerns" in described["primero"].native_schema["properties"]
    assert described["minsal"].kind == "referral"


def test_a_pointer_escapes_slashes_and_tildes_in_field_names():
    assert json_pointer(("a/b", 0, "c~d")) == "/a~1b/0/c~0d"
