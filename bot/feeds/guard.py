"""The private-network guard: feed URLs must not reach loopback, private or internal hosts.

A feed URL is user input; without this, ``/addfeed http://169.254.169.254/…`` would read
cloud metadata and ``http://127.0.0.1:6379/`` would poke local services. The host of the
URL (and of every redirect target) is resolved and every address must be public. After
connecting, the peer address is checked again, so a DNS answer that changes between the
check and the connection (rebinding) cannot get a body read from an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.errors import FetchError, UnsafeURLError

_ALLOWED_SCHEMES = ("http", "https")


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


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``FetchError`` for a non-http(s) URL, ``UnsafeURLError`` for an internal host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise FetchError(
            f"unsupported URL scheme {parts.scheme or '(none)'!r}: only http and https"
        )
    host = parts.hostname
    if not host:
        raise FetchError(f"invalid URL {url!r}: no host")
    if allow_private:
        return
    for address in await _resolve(host, port or (443 if parts.scheme == "https" else 80)):
        if not is_public_address(address):
            raise UnsafeURLError(
                f"refused: {host} resolves to non-public address {address} "
                "(set MEDIABOT_ALLOW_PRIVATE_NETWORKS=true to allow)"
            )


def check_peer(response: httpx.Response, *, allow_private: bool) -> None:
    """After connecting: the address actually connected to must be public too."""
    if allow_private:
        return
    stream: Any = response.extensions.get("network_stream")
    if stream is None:  # not a socket (a test transport): nothing to check
        return
    peer = stream.get_extra_info("server_addr")
    if isinstance(peer, tuple) and peer and not is_public_address(str(peer[0])):
        raise UnsafeURLError(f"refused: connected to non-public address {peer[0]}")


async def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})
