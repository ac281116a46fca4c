"""The RFC 9457 problem document, for the OpenAPI description."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    pointer: str | None = Field(
        default=None, description="JSON pointer to the field in the body you sent."
    )
    parameter: str | None = Field(
        default=None, description="`query:name`, `header:name` or `path:name`."
    )
    detail: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://puente.gob.sv/problems/invalid-input"])
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed.")
    request_id: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For 422: every field at fault."
    )


PROBLEM_MEDIA_TYPE = "application/problem+json"

_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Bad request", "The request cannot be understood"),
    401: ("unauthorized", "Not authenticated", "A bearer access token is required"),
    403: ("forbidden", "Not allowed", "This operation needs the scope cases:write"),
    404: ("not-found", "Not found", "There is no case 6f1c…"),
    409: ("conflict", "Conflict with the current state", "The referral is completed"),
    412: ("precondition-failed", "The resource changed since you read it", "Stale"),
    413: ("payload-too-large", "Request body too large", "Over 1048576 bytes"),
    415: ("unsupported-media-type", "Unsupported media type", "Send application/json"),
    422: ("invalid-input", "The request has invalid fields", "Check: /child/sex"),
    428: ("precondition-required", "If-Match is required", "Send If-Match"),
    429: ("too-many-requests", "Too many requests", "Try again in 12 seconds"),
    500: ("internal-error", "Internal error", "The hub failed; it has been logged"),
    502: ("upstream-error", "A partner system failed", "RNPN answered badly"),
    503: ("upstream-unavailable", "A partner system is unavailable", "RNPN is down"),
    504: ("upstream-timeout", "A partner system did not answer in time", "RNPN"),
}


def problem_example(status: int) -> dict[str, Any]:
    slug, title, detail = _EXAMPLES[status]
    example: dict[str, Any] = {
        "type": f"https://puente.gob.sv/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/v1/cases",
        "request_id": "9b2f0c1e7d3a4b6c8e1f2a3b4c5d6e7f",
    }
    if status == 422:
        example["errors"] = [{"pointer": "/child/sex", "detail": "Input should be 1"}]
    return example


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, with examples."""
    return {status: problem_response_doc(status) for status in statuses}


def problem_response_doc(status: int) -> dict[str, Any]:
    """One problem+json response (the `Problem` schema is added by app.openapi)."""
    return {
        "description": _EXAMPLES[status][1],
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": problem_example(status),
            }
        },
    }


# The errors any authenticated operation can answer.
AUTH_ERRORS = (401, 403, 429)
