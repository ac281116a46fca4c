"""Per-client request limits.

NOTE: counters live in process memory (`limits`' MemoryStorage), so with several
workers each one counts on its own; a shared storage is a one-line change here.
"""

import time
from typing import NoReturn

from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.errors import TooManyRequests


def make_limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(MemoryStorage())


def check_rate(request: Request, limit: str, key: str) -> None:
    """Count one hit for `key`; refuse it when over `limit` (e.g. `30/minute`)."""
    limiter: MovingWindowRateLimiter = request.app.state.limiter
    item = parse(limit)
    if limiter.hit(item, key):
        return
    _refuse(limiter, limit, key)


def refuse_when_spent(request: Request, limit: str, key: str) -> None:
    """Refuse the request if `key` has used up `limit`, without counting it."""
    limiter: MovingWindowRateLimiter = request.app.state.limiter
    if not limiter.test(parse(limit), key):
        _refuse(limiter, limit, key)


def count_hit(request: Request, limit: str, key: str) -> None:
    """Count one hit for `key` against `limit`, refusing nothing now."""
    limiter: MovingWindowRateLimiter = request.app.state.limiter
    limiter.hit(parse(limit), key)


def _refuse(limiter: MovingWindowRateLimiter, limit: str, key: str) -> NoReturn:
    reset_at, _remaining = limiter.get_window_stats(parse(limit), key)
    retry_after = max(1, int(reset_at - time.time()) + 1)
    raise TooManyRequests(f"Over {limit} for this client", retry_after=retry_after)
