"""What every HTTP entry point (the DRF views and the browser flow) needs about a request: the
client IP, the audit context, a request id and the Stytch error envelope.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.error_catalog import error_url


@dataclass
class RequestContext:
    """Who asked: the client address and user agent, as the entry point saw them."""

    ip_address: str | None = None
    user_agent: str = ""


def new_request_id() -> str:
    """A fresh Stytch-style ``request_id``."""
    return f"request-id-{uuid.uuid4()}"


def error_body(status_code: int, error_type: str, message: str, request_id: str) -> dict:
    """The Stytch error envelope ``{status_code, request_id, error_type, error_message,
    error_url}``."""
    return {
        "status_code": status_code,
        "request_id": request_id,
        "error_type": error_type,
        "error_message": message,
        "error_url": error_url(error_type),
    }


def valid_ip(value: Any) -> str | None:
    """``value`` as a normalised IP address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None


def _forwarded_address(entry: str) -> str | None:
    """One entry of a forwarding header as an address: ``203.0.113.9``, ``2001:db8::1``, or
    either with the port some load balancers append (``203.0.113.9:61234``,
    ``[2001:db8::1]:443``); None when it is none of these."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        return valid_ip(entry[1 : entry.index("]")])
    if entry.count(":") == 1:
        entry = entry.split(":")[0]
    return valid_ip(entry)


def client_ip(request: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` proxies the N-th
    entry of ``CLIENT_IP_HEADER`` counted from the right (DRF's ``NUM_PROXIES``): entries further
    left are the client's own writing. Fewer entries than proxies: the leftmost, which one of
    ours appended. An entry that is not an IP address: ``REMOTE_ADDR``, so a forged value can
    neither dodge a rate limit nor reach the audit table.
    """
    header = trusted_auth_settings.CLIENT_IP_HEADER
    count = trusted_auth_settings.TRUSTED_PROXY_COUNT
    trusted = isinstance(count, int) and count > 0 and isinstance(header, str) and header
    value = request.META.get(header, "") if trusted else ""
    if isinstance(value, str) and value.strip():
        entries = value.split(",")
        forwarded = _forwarded_address(entries[-min(count, len(entries))])
        if forwarded is not None:
            return forwarded
    return valid_ip(request.META.get("REMOTE_ADDR"))


def request_context(request: Any) -> RequestContext:
    """Who asked (client IP and user agent), as the audit trail records it."""
    return RequestContext(
        ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
