"""Fetching a JWKS document safely: our own code around ``requests``, not ``PyJWKClient``.

Rules (DESIGN.md §4): https only; hosts that resolve to non-global addresses are refused unless
``JWKS_ALLOW_PRIVATE_NETWORKS``; no redirects; connect timeout and a total deadline; a body cap
and a key-count cap; unusable keys dropped. The address check runs twice: on the DNS answer
before connecting (for a clear ``invalid_jwks_url``), and on the socket's peer address after
connecting (so DNS rebinding between the two cannot reach a private address).
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import InvalidJwksUrl, JwksUnavailable

from .jwk import unusable_reason
from .netguard import is_public_address


@dataclass
class FetchedJwks:
    keys: list[dict[str, Any]]
    dropped: list[dict[str, str]] = field(default_factory=list)


class PrivateAddressRefused(OSError):
    """Raised from inside the connection when the peer is not a public address."""


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if not trusted_auth_settings.JWKS_ALLOW_PRIVATE_NETWORKS:
            peer = sock.getpeername()[0]
            if not is_public_address(peer):
                sock.close()
                raise PrivateAddressRefused(f"refusing to connect to non-public address {peer}")
        return sock


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": _GuardedHTTPSConnectionPool}


def validate_jwks_url(url: str) -> None:
    """Refuse a URL we will never fetch. Raises ``InvalidJwksUrl``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise InvalidJwksUrl(f"JWKS URL is not a valid URL: {e}") from e
    if parts.scheme != "https":
        raise InvalidJwksUrl("JWKS URL must use https")
    if not host:
        raise InvalidJwksUrl("JWKS URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidJwksUrl("JWKS URL must not carry credentials")
    if trusted_auth_settings.JWKS_ALLOW_PRIVATE_NETWORKS:
        return
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as e:
        raise JwksUnavailable(f"JWKS host {host!r} does not resolve: {e}") from e
    for info in infos:
        address = info[4][0]
        if not is_public_address(address):
            raise InvalidJwksUrl(
                f"JWKS host {host!r} resolves to non-public address {address}; "
                "set TRUSTED_AUTH['JWKS_ALLOW_PRIVATE_NETWORKS'] only for tests and local demos"
            )


def _session() -> requests.Session:
    session = requests.Session()
    # No proxies or netrc from the environment: the peer-address check must see the real peer.
    session.trust_env = False
    session.mount("https://", _GuardedAdapter(max_retries=0))
    session.mount("http://", HTTPAdapter(max_retries=0))
    return session


def _read_capped(response: requests.Response, deadline: float, cap: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise JwksUnavailable(f"JWKS response is larger than {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise JwksUnavailable("JWKS fetch exceeded its total deadline")
        chunk = response.raw.read1(16384, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise JwksUnavailable(f"JWKS response is larger than {cap} bytes")
        chunks.append(chunk)


def parse_jwks(body: bytes) -> FetchedJwks:
    """Parse and filter a JWKS document. Raises ``JwksUnavailable`` on an unusable document."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise JwksUnavailable("JWKS response is not JSON") from e
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksUnavailable("JWKS response has no 'keys' list")
    if len(keys) > trusted_auth_settings.JWKS_MAX_KEYS:
        raise JwksUnavailable(
            f"JWKS has {len(keys)} keys, more than {trusted_auth_settings.JWKS_MAX_KEYS}"
        )
    fetched = FetchedJwks(keys=[])
    for jwk in keys:
        reason = unusable_reason(jwk)
        if reason is None:
            fetched.keys.append(jwk)
        else:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            fetched.dropped.append({"kid": str(kid)[:64] if kid is not None else "", "reason": reason})
    return fetched


def fetch_jwks(url: str) -> FetchedJwks:
    """Fetch, cap and filter the JWKS at ``url``. Raises ``InvalidJwksUrl`` or ``JwksUnavailable``."""
    started = time.monotonic()
    total = float(trusted_auth_settings.JWKS_TOTAL_TIMEOUT_SECONDS)
    deadline = started + total
    validate_jwks_url(url)
    connect_timeout = min(float(trusted_auth_settings.JWKS_CONNECT_TIMEOUT_SECONDS), total)
    verify: Any = trusted_auth_settings.JWKS_CA_BUNDLE or True
    try:
        with _session() as session:
            response = session.get(
                url, allow_redirects=False, stream=True, verify=verify,
                timeout=(connect_timeout, max(0.1, deadline - time.monotonic())),
                headers={"Accept": "application/json"},
            )
            with response:
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise JwksUnavailable("JWKS URL answered with a redirect; redirects are not followed")
                if response.status_code != 200:
                    raise JwksUnavailable(f"JWKS URL answered HTTP {response.status_code}")
                body = _read_capped(response, deadline, int(trusted_auth_settings.JWKS_MAX_BYTES))
    except requests.RequestException as e:
        raise JwksUnavailable(f"JWKS fetch failed: {type(e).__name__}") from e
    except OSError as e:
        raise JwksUnavailable(f"JWKS fetch failed: {e}") from e
    return parse_jwks(body)
