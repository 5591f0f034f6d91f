"""The private-network guard: feed URLs must not reach loopback, private or internal hosts.

A feed URL is user input; without this, ``/addfeed http://169.254.169.254/…`` would read
cloud metadata and ``http://127.0.0.1:6379/`` would poke local services. Two rules make
the check and the connection agree:

- **One parse.** ``parse_url`` reads a URL once, with the HTTP client's own parser, and
  the fetcher hands the client that parsed URL: what was checked is what is requested.
  URLs that parsers read two ways are refused outright: user info (``user@host``), a
  backslash (``http://a:80\\@b/`` is host ``b`` to one parser and ``a`` to another), an
  ``@`` or a space before the path, control characters anywhere.
- **One lookup, at connect time.** ``GuardedBackend`` is the client's network layer: it
  resolves the host once, refuses it if any address is not public, and connects to one of
  exactly those addresses (in the resolver's order, the next when one does not answer).
  A name that answers a public address to a check and an internal one a moment later (DNS
  rebinding) gets no second lookup, so no byte of a request is ever written to an address
  that was not checked. TLS still verifies the certificate against the host name (the
  client sets SNI and Host from the URL, not the address).

A literal address in the URL is checked by ``parse_url`` already, before any connection
(and before a test transport, which has no network layer to guard).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable

import httpcore
import httpx

from bot.errors import FetchError, UnsafeURLError

_ALLOWED_SCHEMES = ("http", "https")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# "http://host/…" or a redirect's "//host/…"; the scheme as RFC 3986 spells it.
_NETWORK_PATH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//")
_ALLOW_HINT = "set MEDIABOT_ALLOW_PRIVATE_NETWORKS=true to allow"


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses.

    An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4
    ``2002:AABB:CCDD::``, Teredo's server and client) is public only if every IPv4 address
    it carries is: ``2002:7f00:1::1`` carries 127.0.0.1.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return all(_is_public(each) for each in (ip, *_embedded_ipv4(ip)))


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback)


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> tuple[ipaddress.IPv4Address, ...]:
    if isinstance(ip, ipaddress.IPv4Address):
        return ()
    embedded = (ip.sixtofour,) if ip.sixtofour is not None else ()
    return embedded + (ip.teredo or ())


def parse_url(url: str, *, allow_private: bool, base: httpx.URL | None = None) -> httpx.URL:
    """``url`` (resolved against ``base``, for a redirect) parsed once for check and request.

    Raises ``FetchError`` for a URL that is not plain http(s) or parses two ways, and
    ``UnsafeURLError`` for a literal non-public address. The fragment is dropped: it is
    never sent."""
    authority = _authority(url)
    if _CONTROL.search(url) or any(c in authority for c in "\\ "):
        raise FetchError(
            f"invalid URL {url!r}: control characters, or a backslash or space before the path"
        )
    if "@" in authority:  # not echoed: user info may hold a password
        raise FetchError("invalid URL: user info (an @ before the path) is not accepted")
    try:
        parsed = base.join(url) if base is not None else httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}") from None
    if parsed.scheme not in _ALLOWED_SCHEMES:
        raise FetchError(
            f"unsupported URL scheme {parsed.scheme or '(none)'!r}: only http and https"
        )
    if not parsed.host:
        raise FetchError(f"invalid URL {url!r}: no host")
    if parsed.userinfo:  # any other spelling of user info that httpx would accept
        raise FetchError("invalid URL: user info (an @ before the path) is not accepted")
    if not allow_private and _is_address(parsed.host) and not is_public_address(parsed.host):
        raise UnsafeURLError(f"refused: non-public address {parsed.host} ({_ALLOW_HINT})")
    return parsed.copy_with(fragment=None)


def _authority(url: str) -> str:
    """What any parser could take for the host part: from ``//`` to the first ``/``.

    ``?`` and ``#`` do not end it here, on purpose: ``http://a:80#@b/`` must not be read as
    host ``a`` by one parser and ``b`` by another. A relative reference (a redirect to a
    path) has none."""
    start = _NETWORK_PATH.match(url)
    if start is None:
        return ""
    end = url.find("/", start.end())
    return url[start.end() : end if end != -1 else len(url)]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """The client's network layer: one lookup, every address checked, connect to one of them."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        if not self._allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise UnsafeURLError(
                        f"refused: {host} resolves to non-public address {address} ({_ALLOW_HINT})"
                    )
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address may answer
        assert failure is not None  # _resolve never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("refused: feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(*, allow_private: bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport with ``GuardedBackend`` as its network layer.

    httpx takes no network backend as a parameter; its connection pool keeps one and hands
    it to every connection it opens, so setting it there guards every connection. A
    future httpx without that attribute fails here, loudly, not open."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    pool = transport._pool
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx's connection pool has changed: cannot guard connections")
    pool._network_backend = GuardedBackend(allow_private=allow_private)
    return transport


async def _resolve(host: str, port: int) -> list[str]:
    """Every address of ``host``, in the resolver's order of preference, each once."""
    if _is_address(host):
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"cannot resolve host {host}: no addresses")
    return addresses
