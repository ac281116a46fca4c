import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.notifications.backoff import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    SCHEDULE,
    next_attempt_at,
    parse_retry_after,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FixedRandom(random.Random):
    """Always draws `value`, so the jitter factor is known: 0.8 + 0.4 * value."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


NO_JITTER = FixedRandom(0.5)


@pytest.mark.parametrize(
    ("failed_attempt", "wait"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=10)),
        (4, timedelta(minutes=30)),
        (5, timedelta(hours=1)),
        (6, timedelta(hours=3)),
        (7, timedelta(hours=6)),
        (8, timedelta(hours=12)),
        (9, timedelta(hours=24)),
        (10, timedelta(hours=24)),
    ],
)
def test_each_failed_attempt_waits_its_step_of_the_schedule(
    failed_attempt: int, wait: timedelta
) -> None:
    when = next_attempt_at(failed_attempt, NOW, rng=NO_JITTER, retry_after=None)

    assert when == NOW + wait


def test_the_schedule_spans_about_three_days_over_eleven_attempts() -> None:
    assert MAX_ATTEMPTS == 11
    assert sum(SCHEDULE, timedelta()) == timedelta(hours=70, minutes=42, seconds=30)


def test_after_the_last_attempt_the_delivery_is_dead_lettered() -> None:
    assert next_attempt_at(MAX_ATTEMPTS, NOW, rng=NO_JITTER, retry_after=None) is None
    assert (
        next_attempt_at(MAX_ATTEMPTS + 3, NOW, rng=NO_JITTER, retry_after=None) is None
    )


def test_replaying_the_whole_schedule_ends_between_two_and_four_days_later() -> None:
    rng = random.Random(5)
    clock, attempt = NOW, 1

    while (
        when := next_attempt_at(attempt, clock, rng=rng, retry_after=None)
    ) is not None:
        assert when > clock
        clock, attempt = when, attempt + 1

    assert attempt == MAX_ATTEMPTS
    assert timedelta(days=2) < clock - NOW < timedelta(days=4)


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.8), (0.999999, 1.2)])
def test_jitter_stays_within_twenty_percent_of_the_step(
    draw: float, factor: float
) -> None:
    when = next_attempt_at(6, NOW, rng=FixedRandom(draw), retry_after=None)

    assert when is not None
    assert (when - NOW) / timedelta(hours=3) == pytest.approx(factor, abs=1e-5)


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    times = {
        next_attempt_at(3, NOW, rng=random.Random(seed), retry_after=None)
        for seed in range(20)
    }

    assert len(times) == 20


def test_a_longer_retry_after_wins_over_the_schedule() -> None:
    when = next_attempt_at(1, NOW, rng=NO_JITTER, retry_after=timedelta(minutes=5))

    assert when == NOW + timedelta(minutes=5)


def test_a_shorter_retry_after_does_not_speed_up_the_schedule() -> None:
    when = next_attempt_at(5, NOW, rng=NO_JITTER, retry_after=timedelta(seconds=10))

    assert when == NOW + timedelta(hours=1)


def test_retry_after_is_capped() -> None:
    when = next_attempt_at(1, NOW, rng=NO_JITTER, retry_after=timedelta(days=30))

    assert when == NOW + MAX_RETRY_AFTER


def test_retry_after_does_not_extend_the_number_of_attempts() -> None:
    wait = timedelta(minutes=5)

    assert next_attempt_at(MAX_ATTEMPTS, NOW, rng=NO_JITTER, retry_after=wait) is None


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempt_numbers_start_at_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        next_attempt_at(attempt, NOW, rng=NO_JITTER, retry_after=None)


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_attempt_at(1, datetime(2025, 3, 1), rng=NO_JITTER, retry_after=None)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("99999999999999999999999", MAX_RETRY_AFTER),
        ("Sat, 01 Mar 2025 12:10:00 GMT", timedelta(minutes=10)),
        ("Sat, 01 Mar 2025 12:10:00 -0000", timedelta(minutes=10)),
        ("Sat, 01 Mar 2025 11:00:00 GMT", timedelta(0)),
        ("Mon, 01 Dec 2025 12:00:00 GMT", MAX_RETRY_AFTER),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(
    header: str, wait: timedelta
) -> None:
    assert parse_retry_after(header, NOW) == wait


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "-5", "1.5", "١٢٠"])
def test_a_missing_or_malformed_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None


def test_an_http_date_is_compared_with_a_clock_in_any_time_zone() -> None:
    now = NOW.astimezone(timezone(timedelta(hours=-6)))  # San Salvador

    assert parse_retry_after("Sat, 01 Mar 2025 12:01:00 GMT", now) == timedelta(
        minutes=1
    )
