"""The private-network guard's address test, including IPv4 carried inside IPv6."""

from __future__ import annotations

import pytest

from bot.feeds.guard import is_public_address

CASES = [
    ("ipv4-public", "93.184.216.34", True),
    ("ipv4-loopback", "127.0.0.1", False),
    ("ipv4-private", "10.1.2.3", False),
    ("ipv4-metadata", "169.254.169.254", False),
    ("ipv6-public", "2606:4700:4700::1111", True),
    ("ipv6-loopback", "::1", False),
    ("ipv6-link-local-with-zone", "fe80::1%eth0", False),
    ("ipv4-mapped-private", "::ffff:192.168.0.1", False),
    ("ipv4-mapped-public", "::ffff:93.184.216.34", True),
    ("nat64-of-loopback", "64:ff9b::7f00:1", False),
    ("6to4-of-public", "2002:808:808::1", True),
    ("6to4-of-loopback", "2002:7f00:1::1", False),
    ("6to4-of-private", "2002:a00:1::1", False),
    ("6to4-of-metadata", "2002:a9fe:a9fe::1", False),
    ("6to4-of-shared-cgnat", "2002:6440:1::1", False),
    ("6to4-of-unspecified", "2002::1", False),
    # Teredo: 2001:0:<server>:<flags>:<port>:<client XOR ffff:ffff>
    ("teredo-server-loopback", "2001:0:7f00:1:8000:63bf:f7f7:f7f7", False),
    ("teredo-client-private", "2001:0:808:808:8000:63bf:f5ff:fffe", False),
    ("teredo-both-public", "2001:0:808:808:8000:63bf:f7f7:f7f7", False),
    ("not-an-address", "example.com", False),
]


@pytest.mark.parametrize(
    ("address", "public"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public
