"""Every error the API returns is RFC 9457 `application/problem+json`."""

import traceback
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import PROBLEM_BASE, ProblemError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("app.problems")

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
}


def problem_response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **(extensions or {}),
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status, headers=headers, media_type=PROBLEM_JSON)


def _pointer(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Where a validation error sits: a JSON pointer into the body, or a parameter."""
    where, *path = loc
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    if where == "body":
        return "pointer", "/" + "/".join(escaped)
    return "parameter", f"{where}:{'.'.join(str(p) for p in path)}"


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        key, value = _pointer(tuple(error["loc"]))
        out.append({key: value, "detail": error["msg"]})
    return out


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    fields = ", ".join(e.get("pointer") or e["parameter"] for e in errors)
    return problem_response(
        request,
        status=422,
        type_=PROBLEM_BASE + "invalid-input",
        title="The request has invalid fields",
        detail=f"Check these fields: {fields}",
        extensions={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if exc.status_code == 404 and detail == phrase:
        detail = f"There is nothing at {request.url.path}"
    return problem_response(
        request,
        status=exc.status_code,
        type_=PROBLEM_BASE + _SLUGS.get(exc.status_code, "http-error"),
        title=phrase,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


async def _write_conflict(request: Request, exc: Exception) -> JSONResponse:
    """A unique constraint hit by two writers at once: the loser may simply retry."""
    log.warning("concurrent write refused", error_type=type(exc).__name__)
    return problem_response(
        request,
        status=409,
        type_=PROBLEM_BASE + "concurrent-write",
        title="Conflict with a concurrent change",
        detail="Another request changed the same records at the same time; retry.",
        headers={"Retry-After": "1"},
    )


# PostgreSQL's verdicts on two transactions that collided: the loser may retry.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A deadlock or serialization failure is a 409 to retry; anything else a 500."""
    assert isinstance(exc, OperationalError)
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return await _write_conflict(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette runs this handler outside every middleware, after the request id
    # middleware has unbound its id and without its response header: add both here.
    request_id = getattr(request.state, "request_id", None)
    # The frames only: an exception's message may quote a child's data.
    log.error(
        "unhandled error",
        error_type=type(exc).__name__,
        traceback="".join(traceback.format_tb(exc.__traceback__)),
        request_id=request_id,
    )
    return problem_response(
        request,
        status=500,
        type_=PROBLEM_BASE + "internal-error",
        title="Internal error",
        detail="The hub failed to handle this request; it has been logged.",
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json."""
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _write_conflict)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
