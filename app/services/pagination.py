"""Keyset pagination: one cursor codec and one page builder for every listing.

A cursor names the row a page ended on by its sort key and id. It is opaque to
callers (base64url of a JSON array) so the sort key can change without breaking
clients; a cursor that does not decode is the caller's error (422).

Each listing orders by (sort key, id), ascending or descending, and reads one row
past its limit: that row's presence is how `page_of` knows another page follows.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Mapped

from app.errors import InvalidInput

# What a listing sorts on before its id: a timestamp, a date or a position.
SortKey = datetime | date | int
Row = TypeVar("Row")
K = TypeVar("K", bound=SortKey)


def encode_key(key: SortKey, row_id: uuid.UUID) -> str:
    """The cursor of the row with this sort key and id."""
    text = str(key) if isinstance(key, int) else key.isoformat()
    return encode_cursor(text, str(row_id))


def decode_time_key(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) of a cursor, or a 422 naming the `cursor` parameter."""
    at, row_id = _decode_key(cursor, datetime.fromisoformat)
    # Timestamps are compared as UTC: a time without its offset names no instant,
    # and one at the edge of the calendar may have no UTC equivalent.
    if at.tzinfo is None:
        raise bad_cursor()
    try:
        return at.astimezone(UTC), row_id
    except OverflowError:
        raise bad_cursor() from None


def decode_date_key(cursor: str) -> tuple[date, uuid.UUID]:
    """The (date, id) of a cursor, or a 422 naming the `cursor` parameter."""
    return _decode_key(cursor, date.fromisoformat)


def decode_position_key(cursor: str) -> tuple[int, uuid.UUID]:
    """The (position, id) of a cursor, or a 422 naming the `cursor` parameter."""
    position, row_id = _decode_key(cursor, int)
    # Beyond a 64-bit column the database driver would fail, not the comparison.
    if not 0 <= position < 2**63:
        raise bad_cursor()
    return position, row_id


def _decode_key(cursor: str, parse: Callable[[str], K]) -> tuple[K, uuid.UUID]:
    raw_key, raw_id = decode_cursor(cursor, parts=2)
    try:
        return parse(raw_key), uuid.UUID(raw_id)
    except ValueError:
        raise bad_cursor() from None


def beyond(
    sort: Mapped[Any],
    row_id: Mapped[uuid.UUID],
    key: tuple[SortKey, uuid.UUID],
    *,
    descending: bool,
) -> ColumnElement[bool]:
    """Rows after `key` in (sort, id) order, spelled without row values for SQLite."""
    at, last_id = key
    if descending:
        return or_(sort < at, and_(sort == at, row_id < last_id))
    return or_(sort > at, and_(sort == at, row_id > last_id))


def page_of(
    rows: list[Row],
    limit: int,
    *,
    key: Callable[[Row], tuple[SortKey, uuid.UUID]],
) -> tuple[list[Row], str | None]:
    """At most `limit` rows, and the next page's cursor when a row past it was read."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_key(*key(rows[limit - 1]))


def encode_cursor(*values: str) -> str:
    """An opaque cursor holding these values."""
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
