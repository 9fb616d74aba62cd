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


def client_ip(request: Any) -> str | None:
    """The client address: the first entry of ``CLIENT_IP_HEADER`` when set, else REMOTE_ADDR.

    A header value that is not an IP address falls back to REMOTE_ADDR, so a forged one can
    neither dodge a rate limit nor reach the audit table's IP column.
    """
    header = trusted_auth_settings.CLIENT_IP_HEADER
    forwarded = valid_ip(request.META.get(header, "").split(",")[0]) if header else None
    return forwarded or valid_ip(request.META.get("REMOTE_ADDR"))


def request_context(request: Any) -> RequestContext:
    """Who asked (client IP and user agent), as the audit trail records it."""
    return RequestContext(
        ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
