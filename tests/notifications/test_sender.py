import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
import respx

from app import __version__
from app.notifications.sender import AttemptResult, make_client, send

URL = "https://hooks.example.org/puente"
BODY = b'{"type":"referral.accepted","referral_id":"r_1"}'
HEADERS = {
    "webhook-id": "msg_01",
    "webhook-timestamp": "1740830400",
    "webhook-signature": "v1,c2lnbmF0dXJl",
    "content-type": "application/json",
}
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def attempt(
    client: httpx.AsyncClient | None = None, timeout: float = 5.0
) -> AttemptResult:
    async def once() -> AttemptResult:
        async with client or make_client() as shared:
            return await send(
                shared,
                url=URL,
                headers=HEADERS,
                body=BODY,
                timeout=timeout,
                clock=lambda: NOW,
            )

    # A safety net, not an assertion: a broken deadline fails the test, not the run.
    return asyncio.run(asyncio.wait_for(once(), timeout=30))


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_delivered(receiver: respx.MockRouter, status: int) -> None:
    receiver.post(URL).respond(status)

    result = attempt()

    assert result.outcome == "delivered"
    assert result.status_code == status
    assert result.error is None


def test_the_signed_body_is_posted_as_given_with_our_user_agent(
    receiver: respx.MockRouter,
) -> None:
    route = receiver.post(URL).respond(204)

    attempt(timeout=3.0)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.content == BODY
    assert {name: request.headers[name] for name in HEADERS} == HEADERS
    assert request.headers["user-agent"] == f"Puente-Webhooks/{__version__}"
    assert request.extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), 3.0
    )


def test_a_410_answer_means_the_endpoint_is_gone(receiver: respx.MockRouter) -> None:
    receiver.post(URL).respond(410, text="subscription removed")

    result = attempt()

    assert result.outcome == "gone"
    assert result.status_code == 410


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(
    receiver: respx.MockRouter, status: int
) -> None:
    elsewhere = receiver.post("http://169.254.169.254/").respond(200)
    receiver.post(URL).respond(status, headers={"location": "http://169.254.169.254/"})

    result = attempt()

    assert result.outcome == "retry"
    assert result.status_code == status
    assert result.error == f"HTTP {status}: redirects are not followed"
    assert not elsewhere.called


def test_a_redirect_is_not_followed_even_by_a_client_that_follows_them(
    receiver: respx.MockRouter,
) -> None:
    elsewhere = receiver.post("https://elsewhere.example.org/").respond(200)
    receiver.post(URL).respond(307, headers={"location": str(elsewhere.pattern)})

    result = attempt(httpx.AsyncClient(follow_redirects=True))

    assert result.outcome == "retry"
    assert not elsewhere.called


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500, 502, 504])
def test_other_error_statuses_are_retried_without_echoing_the_body(
    receiver: respx.MockRouter, status: int
) -> None:
    receiver.post(URL).respond(status, text="Traceback: child María López, 2015")

    result = attempt()

    assert result.outcome == "retry"
    assert result.status_code == status
    assert result.error == f"HTTP {status}"
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "120", timedelta(seconds=120)),
        (503, "Sat, 01 Mar 2025 12:05:00 GMT", timedelta(minutes=5)),
        (503, "later", None),
    ],
)
def test_retry_after_is_read_from_429_and_503(
    receiver: respx.MockRouter, status: int, header: str, wait: timedelta | None
) -> None:
    receiver.post(URL).respond(status, headers={"retry-after": header})

    result = attempt()

    assert result.outcome == "retry"
    assert result.retry_after == wait


def test_retry_after_on_other_statuses_is_ignored(receiver: respx.MockRouter) -> None:
    receiver.post(URL).respond(500, headers={"retry-after": "120"})

    assert attempt().retry_after is None


@pytest.mark.parametrize(
    "exception", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.WriteTimeout]
)
def test_a_timeout_is_retried_not_raised(
    receiver: respx.MockRouter, exception: type[httpx.TimeoutException]
) -> None:
    receiver.post(URL).mock(side_effect=exception("timed out"))

    result = attempt()

    assert result.outcome == "retry"
    assert result.status_code is None
    assert result.error == f"timed out ({exception.__name__})"


def test_a_refused_connection_is_retried_with_the_reason(
    receiver: respx.MockRouter,
) -> None:
    receiver.post(URL).mock(side_effect=httpx.ConnectError("[Errno 111] refused"))

    result = attempt()

    assert result.outcome == "retry"
    assert result.status_code is None
    assert result.error == "could not connect: [Errno 111] refused"


@pytest.mark.parametrize(
    "exception", [httpx.RemoteProtocolError, httpx.ReadError, httpx.ProxyError]
)
def test_other_transport_errors_are_retried_without_their_message(
    receiver: respx.MockRouter, exception: type[httpx.TransportError]
) -> None:
    # Protocol errors can quote the bytes the receiver sent.
    receiver.post(URL).mock(side_effect=exception("illegal header b'Maria Lopez'"))

    result = attempt()

    assert result.outcome == "retry"
    assert result.error == f"transport error ({exception.__name__})"


def test_a_receiver_that_never_answers_is_cut_off_at_the_timeout(
    receiver: respx.MockRouter,
) -> None:
    async def never_answers(request: httpx.Request) -> httpx.Response:  # noqa: ARG001
        await anyio.Event().wait()
        raise AssertionError("unreachable")

    receiver.post(URL).mock(side_effect=never_answers)

    result = attempt(timeout=0.01)

    assert result.outcome == "retry"
    assert result.error == "timed out (TimeoutError)"


def test_the_shared_client_has_explicit_timeouts_and_follows_no_redirects() -> None:
    client = make_client(timeout=7.5)

    assert client.follow_redirects is False
    assert client.timeout == httpx.Timeout(7.5)
    assert client.headers["user-agent"] == f"Puente-Webhooks/{__version__}"
    assert client.trust_env is False
    asyncio.run(client.aclose())


def attempt_at(url: str, address: str) -> httpx.Request:
    """Send to `url` connecting to `address`; the request as the receiver saw it."""
    with respx.mock(assert_all_called=False) as router:
        route = router.post().respond(204)

        async def once() -> AttemptResult:
            async with make_client() as client:
                return await send(
                    client,
                    url=url,
                    headers=HEADERS,
                    body=BODY,
                    timeout=5.0,
                    connect_to=address,
                )

        assert asyncio.run(asyncio.wait_for(once(), timeout=30)).outcome == "delivered"
    return route.calls.last.request


def test_a_pinned_send_goes_to_the_address_with_the_host_name_kept_for_tls() -> None:
    request = attempt_at(URL, "93.184.215.14")

    assert str(request.url) == "https://93.184.215.14/puente"
    assert request.headers["host"] == "hooks.example.org"
    # httpcore sends this name as SNI and verifies the certificate against it.
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert request.content == BODY


def test_a_pinned_connection_is_not_kept_for_another_host_on_the_same_address() -> None:
    request = attempt_at(URL, "93.184.215.14")

    assert request.headers.get_list("connection") == ["close"]


def test_an_ipv6_address_is_bracketed_and_a_non_default_port_stays_in_host() -> None:
    request = attempt_at("https://hooks.example.org:8443/puente?x=1", "2606:4700::1")

    assert str(request.url) == "https://[2606:4700::1]:8443/puente?x=1"
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"


def test_plain_http_to_a_pinned_loopback_address_has_no_tls_name() -> None:
    request = attempt_at("http://localhost:8080/hook", "127.0.0.1")

    assert str(request.url) == "http://127.0.0.1:8080/hook"
    assert request.headers["host"] == "localhost:8080"
    assert "sni_hostname" not in request.extensions


def test_without_an_address_the_url_is_sent_by_name(receiver: respx.MockRouter) -> None:
    route = receiver.post(URL).respond(204)

    attempt()

    request = route.calls.last.request
    assert request.headers["host"] == "hooks.example.org"
    assert "sni_hostname" not in request.extensions
    assert request.headers["connection"] == "keep-alive"
