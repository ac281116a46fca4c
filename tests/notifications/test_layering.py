import ast
from pathlib import Path

import pytest

import app.notifications

PACKAGE = Path(app.notifications.__file__).parent
# The worker, routers and database call this layer, never the other way round.
FORBIDDEN = (
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "app.db",
    "app.main",
    "app.models",
    "app.routers",
    "app.services",
)


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_delivery_layer_imports_no_web_framework_and_no_database(
    path: Path,
) -> None:
    offending = {
        module
        for module in imported_modules(path)
        for forbidden in FORBIDDEN
        if module == forbidden or module.startswith(forbidden + ".")
    }

    assert not offending
