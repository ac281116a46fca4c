"""When to try a failed webhook delivery again.

Attempt 1 is the first send. After attempt n fails, attempt n + 1 waits
``SCHEDULE[n - 1]``, scaled by a random factor in [0.8, 1.2) so that deliveries
which failed together (a receiver that was down) do not all return together:

    attempt    2     3    4     5     6    7    8    9     10    11
    waits      30s   2m   10m   30m   1h   3h   6h   12h   24h   24h

That is 70 h 42 min 30 s (about 2.9 days) without jitter, between about 2.4 and
3.5 days with it. When attempt 11 fails, `next_attempt_at` returns None and the
delivery is dead-lettered.

A receiver that answers 429 or 503 with `Retry-After` waits at least that long,
capped at `MAX_RETRY_AFTER` so one header cannot park a delivery for weeks.
"""

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=24)


def next_attempt_at(
    attempt_number: int,
    now: datetime,
    *,
    rng: random.Random,
    retry_after: timedelta | None,
) -> datetime | None:
    """When to make the attempt after `attempt_number` failed; None to dead-letter."""
    if attempt_number < 1:
        raise ValueError("attempt numbers start at 1")
    _require_aware(now)
    if attempt_number >= MAX_ATTEMPTS:
        return None

    delay = SCHEDULE[attempt_number - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds or HTTP-date) as a wait from `now`.

    None when absent or malformed; a date in the past is no wait; a wait longer
    than `MAX_RETRY_AFTER` is cut to it.
    """
    _require_aware(now)
    if value is None or not value.strip():
        return None

    value = value.strip()
    if value.isascii() and value.isdigit():
        # Compare before building a timedelta: a huge number would overflow it.
        return min(int(value), _max_seconds()) * timedelta(seconds=1)
    return _wait_until_date(value, now)


def _wait_until_date(value: str, now: datetime) -> timedelta | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None

    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; "-0000" makes the parser return naive.
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


def _max_seconds() -> int:
    return int(MAX_RETRY_AFTER.total_seconds())


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
