"""ASGI middleware: request ids and the request body size limit."""

import re
import time
import uuid

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_BASE
from app.problems import problem_response

log = structlog.get_logger("app.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Takes `X-Request-ID` (or makes one), echoes it, binds it to every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Request(scope).headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "request handled",
                    method=scope["method"],
                    path=_route_template(scope, status),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )


def _route_template(scope: Scope, status: int) -> str:
    """The matched route's template (`/v1/cases/{case_id}`), never a raw path that a
    caller made up: it can carry personal data, such as a NUI in an identity lookup.

    The documentation routes (`/docs`, `/openapi.json`) record no template; a path
    answered without an error there is one of those fixed paths.
    """
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "(unmatched)"))
    return str(scope["path"]) if status < 400 else "(unmatched)"


class _TooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuses a body over `max_bytes` with 413 before anything parses it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Request(scope).headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                exceeded = True
                raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once over the limit, whatever the app answers (frameworks may turn the
            # interrupted read into a 400) is replaced by the 413 below.
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if exceeded:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope),
            status=413,
            type_=PROBLEM_BASE + "payload-too-large",
            title="Request body too large",
            detail=f"The request body is over the limit of {self.max_bytes} bytes",
            extensions={"max_bytes": self.max_bytes},
        )
        await response(scope, receive, send)
