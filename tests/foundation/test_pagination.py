"""The keyset cursor codec and page builder every listing shares."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.errors import InvalidInput
from app.services.pagination import (
    decode_date_key,
    decode_position_key,
    decode_time_key,
    encode_cursor,
    encode_key,
    page_of,
)

ROW_ID = uuid.UUID("0b6f3c1e-5d2a-4c8e-9f1a-2b3c4d5e6f70")
SAN_SALVADOR = timezone(timedelta(hours=-6))


def test_each_key_comes_back_as_it_was_encoded() -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=SAN_SALVADOR)

    assert decode_time_key(encode_key(at, ROW_ID)) == (at, ROW_ID)
    assert decode_date_key(encode_key(date(2026, 12, 1), ROW_ID)) == (
        date(2026, 12, 1),
        ROW_ID,
    )
    assert decode_position_key(encode_key(42, ROW_ID)) == (42, ROW_ID)


@pytest.mark.parametrize(
    ("decode", "cursor"),
    [
        (decode_time_key, encode_key(datetime(2026, 12, 1, 9, 30), ROW_ID)),
        (decode_time_key, encode_cursor("0001-01-01T00:00:00+05:00", str(ROW_ID))),
        (decode_time_key, encode_cursor("2026-12-01T09:30:00+00:00", "7")),
        (decode_date_key, encode_cursor("yesterday", str(ROW_ID))),
        (decode_position_key, encode_key(-1, ROW_ID)),
        (decode_position_key, encode_key(2**63, ROW_ID)),
        (decode_position_key, encode_cursor("1", str(ROW_ID), "extra")),
        (decode_position_key, "%%%"),
    ],
    ids=[
        "naive time",
        "no UTC equivalent",
        "bad id",
        "not a date",
        "negative position",
        "position past 64 bits",
        "three parts",
        "not base64",
    ],
)
def test_a_malformed_cursor_is_422_naming_the_cursor(
    decode: Callable[[str], object], cursor: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode(cursor)

    assert refused.value.extensions["errors"][0]["parameter"] == "query:cursor"


def test_a_page_has_a_cursor_only_when_a_row_past_the_limit_was_read() -> None:
    rows = [(datetime(2026, 12, day, tzinfo=UTC), uuid.uuid4()) for day in (1, 2, 3)]

    full, more = page_of(rows, 2, key=lambda row: row)
    last, end = page_of(rows, 3, key=lambda row: row)

    assert (full, decode_time_key(more or "")) == (rows[:2], rows[1])
    assert (last, end) == (rows, None)
