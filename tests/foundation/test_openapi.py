"""The OpenAPI document is committed, complete, and usable by generated clients."""

import json
from typing import Any

import pytest

from app.openapi import openapi_document
from tests.conftest import ROOT

PUBLIC = {"/livez", "/readyz", "/oauth/token", "/.well-known/jwks.json"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(document, document["components"]["schemas"][name])
    if schema.get("type") == "array" and "items" in schema:
        return _resolve(document, schema["items"])
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        if "$ref" in option:
            return _resolve(document, option)
    return schema


def _has_example(document: dict[str, Any], content: dict[str, Any]) -> bool:
    for media in content.values():
        if "example" in media or "examples" in media:
            return True
        schema = _resolve(document, media.get("schema", {}))
        properties = schema.get("properties", {}).values()
        if "examples" in schema or any("examples" in p for p in properties):
            return True
    return False


def test_the_committed_document_is_the_one_the_app_generates(
    document: dict[str, Any],
) -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == document, "run `make openapi` and commit the result"


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    missing = []
    for path, method, op in _operations(document):
        problems = [
            name
            for name, ok in [
                ("summary", op.get("summary")),
                ("description", op.get("description")),
                ("security", path in PUBLIC or op.get("security")),
                (
                    "error responses",
                    any(c.startswith(("4", "5")) for c in op["responses"]),
                ),
                ("example", _documents_an_example(document, op)),
            ]
            if not ok
        ]
        if problems:
            missing.append(f"{method.upper()} {path}: {', '.join(problems)}")
    assert missing == []


def _documents_an_example(document: dict[str, Any], op: dict[str, Any]) -> bool:
    bodies = [op.get("requestBody", {}).get("content", {})] + [
        response.get("content", {})
        for code, response in op["responses"].items()
        if code.startswith("2")
    ]
    return any(_has_example(document, content) for content in bodies)


def test_error_responses_are_problem_json(document: dict[str, Any]) -> None:
    wrong = [
        f"{method.upper()} {path} {code}"
        for path, method, op in _operations(document)
        for code, response in op["responses"].items()
        if code.startswith(("4", "5"))
        and "application/problem+json" not in response.get("content", {})
    ]
    assert wrong == []
