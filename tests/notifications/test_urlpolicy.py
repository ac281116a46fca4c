import socket
from collections.abc import Iterable

import pytest

from app.errors import InvalidInput
from app.notifications.urlpolicy import (
    Resolver,
    WebhookTarget,
    check_webhook_url,
    resolve_host,
    resolve_webhook_target,
)

NO_HOSTS: frozenset[str] = frozenset()


def dns(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from `table`, failing like getaddrinfo for other names."""

    def resolve(host: str, port: int) -> Iterable[str]:  # noqa: ARG001
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def no_dns(host: str, port: int) -> Iterable[str]:
    raise AssertionError(f"resolver called for {host}:{port}")


PUBLIC_DNS = dns({"hooks.example.org": ["8.8.8.8", "2606:4700::1111"]})


def check(
    url: str,
    *,
    development: bool = False,
    allowed_hosts: frozenset[str] = NO_HOSTS,
    resolve: Resolver = PUBLIC_DNS,
) -> None:
    check_webhook_url(
        url, development=development, allowed_hosts=allowed_hosts, resolve=resolve
    )


def refusal(
    url: str,
    *,
    development: bool = False,
    allowed_hosts: frozenset[str] = NO_HOSTS,
    resolve: Resolver = PUBLIC_DNS,
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check(
            url, development=development, allowed_hosts=allowed_hosts, resolve=resolve
        )
    return caught.value


def test_an_https_url_on_public_addresses_is_accepted() -> None:
    check("https://hooks.example.org/puente/events?x=1")


def test_a_refusal_is_a_422_pointing_at_the_url_field() -> None:
    error = refusal("http://hooks.example.org/")

    assert error.status == 422
    assert error.errors == [{"pointer": "/url", "detail": error.detail}]
    assert "https" in error.detail


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.251",
        "224.0.1.1",
        "240.0.0.1",
        "255.255.255.255",
        "100.64.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "ff0e::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a00:1::1",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    error = refusal(
        "https://internal.example.org/",
        resolve=dns({"internal.example.org": [address]}),
    )

    assert "address" in error.detail


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "169.254.169.254", "[::ffff:169.254.169.254]"]
)
def test_a_non_public_address_literal_is_refused_without_dns(host: str) -> None:
    refusal(f"https://{host}/latest/meta-data/", resolve=no_dns)


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    resolve = dns({"mixed.example.org": ["8.8.8.8", "10.0.0.7"]})

    refusal("https://mixed.example.org/", resolve=resolve)


def test_a_numeric_host_is_judged_by_what_it_resolves_to() -> None:
    # getaddrinfo reads "2130706433" as 127.0.0.1; the policy must not trust the text.
    refusal("https://2130706433/", resolve=dns({"2130706433": ["127.0.0.1"]}))


def test_the_resolver_is_asked_for_the_url_port_or_the_scheme_default() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> Iterable[str]:
        asked.append((host, port))
        return ["8.8.8.8"]

    check("https://Hooks.Example.org./a", resolve=resolve)
    check("https://hooks.example.org:8443/a", resolve=resolve)

    assert asked == [("hooks.example.org", 443), ("hooks.example.org", 8443)]


def test_an_unresolvable_host_is_refused() -> None:
    error = refusal("https://nowhere.example.org/")

    assert "resolved" in error.detail


def test_a_host_resolving_to_nothing_is_refused() -> None:
    refusal("https://empty.example.org/", resolve=dns({"empty.example.org": []}))


@pytest.mark.parametrize(
    "url",
    [
        "https://user@hooks.example.org/",
        "https://user:secret@hooks.example.org/",
        "https://:secret@hooks.example.org/",
    ],
)
def test_a_url_with_credentials_is_refused(url: str) -> None:
    error = refusal(url)

    assert "password" in error.detail


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.org/",
        "file:///etc/passwd",
        "gopher://hooks.example.org/",
        "hooks.example.org/events",
        "https:///events",
        "https://exa mple.org/",
        "",
    ],
)
def test_anything_but_an_http_url_with_a_host_is_refused(url: str) -> None:
    refusal(url, resolve=no_dns)


def test_plain_http_is_refused_in_production_even_to_a_public_host() -> None:
    refusal("http://hooks.example.org/", resolve=no_dns)


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/hook", "http://127.0.0.1:8080/", "http://[::1]/"]
)
def test_plain_http_to_loopback_is_accepted_in_development(url: str) -> None:
    check(url, development=True, resolve=dns({"localhost": ["127.0.0.1", "::1"]}))


def test_plain_http_to_loopback_is_still_refused_in_production() -> None:
    error = refusal("http://127.0.0.1:8080/", resolve=no_dns)

    assert "https" in error.detail


def test_plain_http_to_a_public_host_is_refused_in_development() -> None:
    error = refusal("http://hooks.example.org/", development=True)

    assert "loopback" in error.detail


def test_development_allows_loopback_but_not_private_addresses() -> None:
    resolve = dns({"lan.example.org": ["192.168.0.20"]})

    check("https://127.0.0.1:9000/", development=True, resolve=no_dns)
    refusal("https://lan.example.org/", development=True, resolve=resolve)
    refusal("https://169.254.169.254/", development=True, resolve=no_dns)


def test_an_allowed_host_skips_the_address_check() -> None:
    allowed = frozenset({"partner.internal.gob.sv"})

    check(
        "https://Partner.Internal.gob.sv./hooks", allowed_hosts=allowed, resolve=no_dns
    )
    refusal(
        "https://other.internal.gob.sv/",
        allowed_hosts=allowed,
        resolve=dns({"other.internal.gob.sv": ["10.20.30.40"]}),
    )


def test_an_allowed_host_still_needs_https() -> None:
    allowed = frozenset({"partner.internal.gob.sv"})

    refusal("http://partner.internal.gob.sv/", allowed_hosts=allowed, resolve=no_dns)
    refusal(
        "http://partner.internal.gob.sv/",
        development=True,
        allowed_hosts=allowed,
        resolve=no_dns,
    )


def test_the_system_resolver_returns_address_strings() -> None:
    # A numeric host needs no DNS server, so this runs offline.
    assert set(resolve_host("127.0.0.1", 443)) == {"127.0.0.1"}


def target(
    url: str,
    *,
    development: bool = False,
    allowed_hosts: frozenset[str] = NO_HOSTS,
    resolve: Resolver = PUBLIC_DNS,
) -> WebhookTarget:
    return resolve_webhook_target(
        url, development=development, allowed_hosts=allowed_hosts, resolve=resolve
    )


def test_the_target_carries_the_first_address_the_host_was_judged_by() -> None:
    vetted = target("https://Hooks.Example.org:8443/puente")

    assert vetted == WebhookTarget(
        "https://Hooks.Example.org:8443/puente",
        host="hooks.example.org",
        port=8443,
        address="8.8.8.8",
    )


def test_the_target_of_an_ipv6_only_host_is_its_ipv6_address() -> None:
    vetted = target(
        "https://v6.example.org/", resolve=dns({"v6.example.org": ["2606:4700::1"]})
    )

    assert vetted.address == "2606:4700::1"
    assert vetted.port == 443


def test_an_address_literal_is_its_own_target() -> None:
    vetted = target("http://[::1]:9000/", development=True, resolve=no_dns)

    assert vetted.address == "::1"


def test_an_allowed_host_is_left_to_dns_by_name() -> None:
    allowed = frozenset({"partner.internal.gob.sv"})

    vetted = target(
        "https://partner.internal.gob.sv/hooks", allowed_hosts=allowed, resolve=no_dns
    )

    assert vetted.address is None
    assert vetted.host == "partner.internal.gob.sv"


def test_a_refused_url_has_no_target() -> None:
    with pytest.raises(InvalidInput):
        target("https://meta.example.org/", resolve=dns({"meta.example.org": ["::1"]}))
