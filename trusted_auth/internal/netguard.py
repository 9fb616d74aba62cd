"""Which addresses a JWKS fetch may connect to.

The check runs on the address the socket actually connected to (see ``jwks_http``), so a DNS
answer that changes between lookup and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated (RFC 4291), still parsed
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address))
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    return None


def is_public_address(text: str) -> bool:
    """True when ``text`` is a globally routable unicast address, looking through IPv6 wrappers."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public_address(str(inner))
    if address.is_multicast or address.is_unspecified or address in _SHARED:
        return False
    return address.is_global
