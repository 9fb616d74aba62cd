"""What every HTTP entry point needs to know about a request, outside the DRF layer.

``client_ip`` and ``request_context`` serve the server API (``api/``) and the browser flow
(``browser.py``) alike, so the browser flow does not depend on the DRF views; ``new_request_id``
and ``error_body`` build the Stytch error envelope for either.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from trusted_auth.audit.events import RequestContext
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.error_catalog import error_url


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
    """The client's address: ``REMOTE_ADDR``, or, behind ``TRUSTED_PROXY_COUNT`` proxies that
    name the client in ``CLIENT_IP_HEADER``, the address the outermost of them saw.

    Each proxy appends the address of its peer to ``X-Forwarded-For``; anything left of those
    entries was written by the client. So with N trusted proxies the client is the N-th entry
    counted from the right (DRF's ``NUM_PROXIES``, allauth's ``TRUSTED_PROXY_COUNT``), and a
    client that writes its own entries only pushes them further left. When the header holds fewer
    than N entries, the request came in through an inner proxy: every entry was appended by one of
    ours, and the leftmost is the address the first of them saw (DRF takes the same one). This
    holds only when the app and every proxy but the outermost are reachable only through the
    proxy in front of them: a client that reaches the app directly writes the whole header.

    No count (0), no header configured or sent, or an entry at that position that is not an IP
    address ("unknown", a script): ``REMOTE_ADDR``. A forged value can thus neither buy a fresh
    rate-limit allowance per request nor reach the audit table's IP column.
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
