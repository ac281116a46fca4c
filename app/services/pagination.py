"""Opaque keyset cursors: the sort key and id of the last row a page ended on.

Opaque to callers (base64url of a JSON array) so the sort key can change without
breaking clients; a cursor that does not decode is the caller's error (422).
"""

import base64
import binascii
import json

from app.errors import InvalidInput


def encode_cursor(*values: str) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> list[str]:
    """The values `encode_cursor` was given, or a 422 naming the `cursor` parameter."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        values = None

    if not _is_strings(values, parts):
        raise bad_cursor()
    return list(values)


def _is_strings(values: object, parts: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == parts
        and all(isinstance(value, str) for value in values)
    )


def bad_cursor() -> InvalidInput:
    """The error for a cursor this listing did not issue."""
    return InvalidInput(
        "The cursor is not one this listing issued; start again without it",
        errors=[{"parameter": "query:cursor", "detail": "invalid cursor"}],
    )
