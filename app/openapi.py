"""The OpenAPI document, as served at /openapi.json and committed to `openapi/`.

FastAPI documents validation errors with its own JSON body; the hub answers every
error as RFC 9457 problem+json, so the document is corrected to say so.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.schemas.problems import Problem, problem_response_doc

_METHODS = {"get", "post", "put", "patch", "delete"}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _correct_errors(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    if "422" in responses and "application/json" in responses["422"].get("content", {}):
        responses["422"] = problem_response_doc(422)
    responses.setdefault("500", problem_response_doc(500))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's document with problem+json errors; cached on the app."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_problem_schemas())
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in _METHODS:
                _correct_errors(operation)
    app.openapi_schema = document
    return document


def openapi_document() -> dict[str, Any]:
    """The document for default settings: it must not depend on the environment."""
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(_env_file=None, database_url="sqlite://")
    return build_openapi(create_app(settings))
