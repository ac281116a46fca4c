"""One webhook HTTP attempt, reduced to what the worker records and decides on.

`send(..., connect_to=address)` connects to an address the URL policy already
judged instead of letting httpx resolve the host again (DNS rebinding): the request
goes to the address, while the `Host` header and TLS (SNI and the certificate
check, through httpcore's ``sni_hostname`` extension) keep the URL's host name.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import anyio
import httpx

from app import __version__
from app.notifications.backoff import parse_retry_after

USER_AGENT = f"Puente-Webhooks/{__version__}"

Outcome = Literal["delivered", "gone", "retry"]

# Only these statuses mean "come back later" in RFC 9110; elsewhere we keep our pace.
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_MAX_ERROR_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt did; `error` is short and never echoes the response."""

    outcome: Outcome
    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: timedelta | None = None


def make_client(
    *,
    timeout: float = 10.0,
    max_connections: int = 100,
    proxy: str | None = None,
) -> httpx.AsyncClient:
    """The one client the worker shares across deliveries; close it on shutdown."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(20, max_connections),
            keepalive_expiry=30.0,
        ),
        headers={"user-agent": USER_AGENT},
        proxy=proxy,
        # Ignore the environment: a .netrc would add our credentials to requests
        # sent to third-party URLs, and a stray *_PROXY would reroute them.
        trust_env=False,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def send(
    client: httpx.AsyncClient,
    *,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    clock: Callable[[], datetime] = _utc_now,
    connect_to: str | None = None,
) -> AttemptResult:
    """POST `body` once; network failures become a `retry` result, never an error.

    `timeout` bounds the whole attempt, not each read, so a receiver that trickles
    its answer cannot hold a worker. `connect_to`, an IP address, replaces DNS.
    """
    started = time.perf_counter()
    try:
        request = _build(client, url, headers, body, timeout, connect_to)
        with anyio.fail_after(timeout):
            status, retry_after = await _post(client, request)
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
        return AttemptResult("retry", None, _elapsed_ms(started), _describe(exc))

    latency_ms = _elapsed_ms(started)
    return _classify(status, latency_ms, parse_retry_after(retry_after, clock()))


def _build(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    connect_to: str | None,
) -> httpx.Request:
    target = httpx.URL(url)
    extensions: dict[str, Any] = {}
    if connect_to is not None:
        target, headers, extensions = _pinned(target, headers, connect_to)
    return client.build_request(
        "POST",
        target,
        headers=headers,
        content=body,
        timeout=timeout,
        extensions=extensions,
    )


def _pinned(
    url: httpx.URL, headers: dict[str, str], address: str
) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    # httpx brackets an IPv6 host itself and keeps a non-default port in the URL,
    # and the original netloc is exactly the Host header it would have sent.
    pinned = url.copy_with(host=address)
    # NOTE: httpcore pools connections by scheme, address and port, not by SNI name:
    # a kept-alive connection, verified for one host, would carry the next request
    # to another host on the same address. Closing it makes every name verify.
    headers = {**headers, "host": url.netloc.decode("ascii"), "connection": "close"}
    if url.scheme != "https":
        return pinned, headers, {}
    # httpcore sends this name as SNI and checks the certificate against it.
    return pinned, headers, {"sni_hostname": url.raw_host.decode("ascii")}


async def _post(
    client: httpx.AsyncClient, request: httpx.Request
) -> tuple[int, str | None]:
    # Stream and never read the body: we do not need it, and it may be huge or slow.
    # follow_redirects is per request too, so a client built elsewhere cannot
    # send our signed payload on to a host the URL policy never checked.
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        status = response.status_code
        if status in _RETRY_AFTER_STATUSES:
            return status, response.headers.get("retry-after")
        return status, None
    finally:
        await response.aclose()


def _classify(
    status: int, latency_ms: float, retry_after: timedelta | None
) -> AttemptResult:
    if 200 <= status < 300:
        return AttemptResult("delivered", status, latency_ms)
    if status == 410:
        return AttemptResult("gone", status, latency_ms, "HTTP 410: endpoint is gone")
    if 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed"
        return AttemptResult("retry", status, latency_ms, error)
    return AttemptResult("retry", status, latency_ms, f"HTTP {status}", retry_after)


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return f"timed out ({name})"
    if isinstance(exc, httpx.ConnectError):
        # Connect errors come from the OS or TLS (refused, DNS, certificate), never
        # from the receiver's response, so their text is safe and worth keeping.
        return f"could not connect: {exc}"[:_MAX_ERROR_LENGTH]
    # Other messages (protocol errors) may quote response bytes: name the class only.
    return f"transport error ({name})"


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
