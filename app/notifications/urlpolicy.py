"""Which webhook URLs the hub will POST to, and at which address.

A subscriber chooses the URL, so without a policy the hub would be a proxy into its
own network (SSRF). The rule, checked at registration and again before each send
because DNS answers change:

- https only; http only for a loopback host in development mode;
- no userinfo (credentials would be logged and stored with the subscription);
- every address the host resolves to must be public: loopback, private,
  link-local (169.254.169.254, the cloud metadata service), unspecified,
  multicast, reserved and other non-global ranges are refused, also when wrapped
  in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``);
- development mode allows loopback addresses; an admin allow-list of host names
  skips the address check (a partner reachable only on a private network).

Checking a name and then letting the HTTP client resolve it again would leave a
window for DNS rebinding: the second answer could be 127.0.0.1. So the worker asks
`resolve_webhook_target` once and connects to the address it judged
(`WebhookTarget.address`); only allow-listed hosts are left to the client's DNS.
"""

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from app.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""Given a host and port, the IP addresses it resolves to, as strings."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Letters, digits, hyphens (and the underscores some real names carry) between dots;
# httpx would otherwise accept, and percent-encode, a host like "exa mple.org".
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A URL the policy accepted, and the address to connect to for it.

    `address` is one of the addresses the host was judged by; it is None only for
    an allow-listed host, which the admin vouches for by name.
    """

    url: str
    host: str
    port: int
    address: str | None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (blocking)."""
    # AI_ADDRCONFIG: no IPv6 answers on a host without IPv6, since the worker
    # connects to the first answer only and would otherwise fail there for ever.
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG
    )
    return [str(info[4][0]) for info in infos]


def check_webhook_url(
    url: str,
    *,
    development: bool,
    allowed_hosts: frozenset[str],
    resolve: Resolver = resolve_host,
) -> None:
    """Raise `InvalidInput` (pointer ``/url``) unless the hub may deliver to `url`.

    Resolving blocks; from async code run this in a thread.
    """
    resolve_webhook_target(
        url, development=development, allowed_hosts=allowed_hosts, resolve=resolve
    )


def resolve_webhook_target(
    url: str,
    *,
    development: bool,
    allowed_hosts: frozenset[str],
    resolve: Resolver = resolve_host,
) -> WebhookTarget:
    """Resolve `url`'s host once and return it with the address to connect to;
    raise `InvalidInput` (pointer ``/url``) as `check_webhook_url` does.

    Resolving blocks; from async code run this in a thread.
    """
    parsed = _parse(url)
    if parsed.scheme == "http" and not development:
        raise _refused("The webhook URL must use https.")

    host = _normalise_host(parsed.raw_host.decode("ascii"))
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    if host in {_normalise_host(allowed) for allowed in allowed_hosts}:
        # NOTE: an allowed host skips the address check, never the TLS requirement.
        if parsed.scheme != "https":
            raise _refused("The webhook URL must use https.")
        return WebhookTarget(url, host, port, address=None)

    addresses = _resolve(host, port, resolve)
    for address in addresses:
        _check_address(address, development=development)

    if parsed.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise _refused("http is allowed only for loopback hosts in development mode.")
    # The resolver's order already ranks the addresses (RFC 6724): take its first.
    return WebhookTarget(url, host, port, address=str(addresses[0]))


def _parse(url: str) -> httpx.URL:
    # Parse with httpx, the client that will send, so both read the same host.
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _refused("The webhook URL is not a valid URL.") from exc

    if parsed.scheme not in _DEFAULT_PORTS:
        raise _refused("The webhook URL must use https.")
    if not parsed.raw_host:
        raise _refused("The webhook URL has no host.")
    if parsed.userinfo:
        raise _refused("The webhook URL must not contain a user name or password.")
    return parsed


def _normalise_host(host: str) -> str:
    return host.lower().rstrip(".")


def _resolve(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass  # a name, not an address literal: ask the resolver

    if not _HOST_NAME.fullmatch(host):
        raise _refused("The webhook URL's host is not a valid host name.")

    try:
        addresses = [ipaddress.ip_address(a) for a in resolve(host, port)]
    except (OSError, ValueError) as exc:  # socket.gaierror is an OSError
        raise _refused("The webhook URL's host could not be resolved.") from exc

    if not addresses:
        raise _refused("The webhook URL's host could not be resolved.")
    return addresses


def _check_address(address: IPAddress, *, development: bool) -> None:
    category = _non_public_category(_unwrap(address))
    if category is None or (category == "loopback" and development):
        return
    raise _refused(
        f"The webhook URL's host resolves to a {category} address; "
        "only public addresses are allowed."
    )


def _unwrap(address: IPAddress) -> IPAddress:
    # An IPv4 address tunnelled in IPv6 reaches the IPv4 host: judge that one.
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def _non_public_category(address: IPAddress) -> str | None:
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Shared address space (100.64.0.0/10) and the like are none of the above.
        ("non-public", not address.is_global),
    )
    return next((name for name, matches in checks if matches), None)


def _refused(detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"pointer": "/url", "detail": detail}])
