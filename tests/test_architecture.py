"""The layering the README draws, checked: a layer never reaches up to the ones above.

routers  ->  services  ->  models, adapters, notifications, schemas
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
FRAMEWORK = ("fastapi", "starlette")
DATABASE = ("sqlalchemy", "sqlmodel", "app.db", "app.models")

ABOVE_SERVICES = ("app.routers", "app.main", "app.deps")

RULES = {
    "services": FRAMEWORK + ABOVE_SERVICES,
    "models": FRAMEWORK + ("app.routers", "app.services", "app.adapters"),
    "adapters": FRAMEWORK + DATABASE + ABOVE_SERVICES + ("app.services",),
    "notifications": FRAMEWORK + DATABASE + ABOVE_SERVICES + ("app.services",),
    "schemas": FRAMEWORK + DATABASE + ABOVE_SERVICES + ("app.services",),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(APP.parent)} imports {name}"
        for path in sorted((APP / package).rglob("*.py"))
        for name in sorted(_imports(path))
        if name.startswith(forbidden)
    ]


@pytest.mark.parametrize("package", RULES)
def test_a_layer_does_not_import_the_layers_above_it(package: str) -> None:
    assert _violations(package, RULES[package]) == []
