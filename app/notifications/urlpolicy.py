"""Which webhook URLs the hub will POST to.

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
"""

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable

import httpx

from app.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""Given a host and port, the IP addresses it resolves to, as strings."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Letters, digits, hyphens (and the underscores some real names carry) between dots;
# httpx would otherwise accept, and percent-encode, a host like "exa mple.org".
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (blocking)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# TODO(notifications): httpx resolves the host again when it connects, so a DNS answer
# that changes between this check and the connection (rebinding) slips through; pin
# the checked address in the worker's transport to close that window.
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
    parsed = _parse(url)
    if parsed.scheme == "http" and not development:
        raise _refused("The webhook URL must use https.")

    host = _normalise_host(parsed.raw_host.decode("ascii"))
    if host in {_normalise_host(allowed) for allowed in allowed_hosts}:
        # NOTE: an allowed host skips the address check, never the TLS requirement.
        if parsed.scheme != "https":
            raise _refused("The webhook URL must use https.")
        return

    addresses = _resolve(host, parsed.port or _DEFAULT_PORTS[parsed.scheme], resolve)
    for address in addresses:
        _check_address(address, development=development)

    if parsed.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise _refused("http is allowed only for loopback hosts in development mode.")


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
