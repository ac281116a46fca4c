"""One error base for the whole hub, rendered as RFC 9457 problem details.

    ProblemError                 any expected failure; carries its HTTP status
     ├── BadRequest              400
     ├── Unauthorized            401 (with WWW-Authenticate)
     ├── Forbidden               403
     ├── NotFound                404
     ├── Conflict                409
     ├── PreconditionFailed      412
     ├── PayloadTooLarge         413
     ├── UnsupportedMediaType    415
     ├── InvalidInput            422, with the fields at fault as JSON pointers
     ├── PreconditionRequired    428: the write needs If-Match with the version read
     ├── TooManyRequests         429 (with Retry-After)
     └── UpstreamError           502/503/504: a partner system failed us

Services and adapters raise these; only `app.problems` turns them into responses.
"""

from typing import Any, ClassVar

PROBLEM_BASE = "https://puente.gob.sv/problems/"


class ProblemError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


class BadRequest(ProblemError):
    pass


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Not authenticated"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(
            detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            **extensions,
        )


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PreconditionFailed(ProblemError):
    status = 412
    slug = "precondition-failed"
    title = "The resource changed since you read it"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class InvalidInput(ProblemError):
    """422 naming each field at fault.

    `errors` is a list of ``{"pointer": "/child/birth_date", "detail": "..."}``; the
    pointer is a JSON pointer into the body the caller sent, in the caller's own field
    names (an adapter's errors point at the institution's native fields).
    """

    status = 422
    slug = "invalid-input"
    title = "The request has invalid fields"

    def __init__(self, detail: str, errors: list[dict[str, Any]], **ext: Any) -> None:
        super().__init__(detail, errors=errors, **ext)
        self.errors = errors


class PreconditionRequired(ProblemError):
    status = 428
    slug = "precondition-required"
    title = "Send the version you read"


class TooManyRequests(ProblemError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class UpstreamError(ProblemError):
    """A partner system (RNPN, a webhook receiver) failed; not the caller's fault."""

    status = 502
    slug = "upstream-error"
    title = "A partner system did not answer as expected"


class UpstreamUnavailable(UpstreamError):
    status = 503
    slug = "upstream-unavailable"
    title = "A partner system is unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    slug = "upstream-timeout"
    title = "A partner system did not answer in time"


class OAuthError(ProblemError):
    """RFC 6749 §5.2 token errors, with `error` and `error_description` members."""

    slug = "oauth-error"
    title = "The token request was refused"

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="puente"'
        super().__init__(
            description, headers=headers, error=error, error_description=description
        )
        self.status = status  # type: ignore[misc]
