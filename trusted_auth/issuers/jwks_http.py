"""Fetching a JWKS document safely: https only, public addresses only (unless
``JWKS_ALLOW_PRIVATE_NETWORKS``), no redirects, a total deadline, size and key-count caps. The
address is checked on the DNS answer and again on the connected peer (no DNS rebinding).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import InvalidJwksUrl, JwksUnavailable
from trusted_auth.internal.jwk import unusable_reason
from trusted_auth.internal.netguard import is_public_address


@dataclass
class FetchedJwks:
    keys: list[dict[str, Any]]
    dropped: list[dict[str, str]] = field(default_factory=list)


_PRIVATE_NETWORKS_HINT = (
    "only for tests and local demos, set TRUSTED_AUTH['JWKS_ALLOW_PRIVATE_NETWORKS'] = True "
    "(in the example project: TRUSTED_AUTH_JWKS_ALLOW_PRIVATE_NETWORKS=true)"
)


def _failure_reason(error: BaseException) -> str | None:
    """What went wrong (TLS handshake, refused connection), with what to do, or None:
    ``requests`` buries the ``ssl`` reason a user needs two or three levels deep."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = f"certificate verify failed: {current.verify_message}"
            return (
                f"TLS {reason}. JWKS hosts are verified against TRUSTED_AUTH['JWKS_CA_BUNDLE'] "
                f"(now {trusted_auth_settings.JWKS_CA_BUNDLE or 'certifi'!r}; "
                "REQUESTS_CA_BUNDLE is not used): for a private CA set it to that CA's PEM file "
                "(in the example project: TRUSTED_AUTH_JWKS_CA_BUNDLE=/path/to/ca.pem)"
            )
        if isinstance(current, ssl.SSLError):
            return f"TLS handshake failed: {current.reason or current}"
        if isinstance(current, PrivateAddressRefused):
            return str(current)
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (is the JWKS host up, and the port right?)"
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(current.args)
    return None


class PrivateAddressRefused(OSError):
    """Raised from inside the connection when the peer is not a public address."""


class _Deadline:
    """Shuts down the connections of one fetch when its total deadline passes: ``requests``
    times out each read only, so a server dripping bytes could hold the fetch lock forever."""

    def __init__(self, seconds: float) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same connection: it stays usable after the TLS layer
        # takes the original socket object over, and shutting it down ends the connection.
        with self._lock:
            self._sockets.append(sock.dup())
            if self._expired:
                sock.shutdown(socket.SHUT_RDWR)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the peer

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


_current_deadline: ContextVar[_Deadline | None] = ContextVar("jwks_fetch_deadline", default=None)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if not trusted_auth_settings.JWKS_ALLOW_PRIVATE_NETWORKS:
            peer = sock.getpeername()[0]
            if not is_public_address(peer):
                sock.close()
                raise PrivateAddressRefused(
                    f"refusing to connect to non-public address {peer}; {_PRIVATE_NETWORKS_HINT}"
                )
        deadline = _current_deadline.get()
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": _GuardedHTTPSConnectionPool}


T = TypeVar("T")


def _run_by(deadline: float, work: Callable[[], T], expired: str) -> T:
    """``work()`` in a helper thread, waited for until ``deadline`` (``time.monotonic()``), then
    ``JwksUnavailable(expired)``: a name lookup cannot be interrupted, and ``requests`` bounds each
    socket operation, not the exchange. The thread ends on its own (the resolver's timeout, or
    ``_Deadline`` shutting its sockets down); its result is dropped."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as e:  # noqa: BLE001 - handed to the waiting caller as it is
            outcome.append((False, e))

    thread = threading.Thread(target=run, name="trusted_auth-jwks", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        raise JwksUnavailable(expired)
    finished, value = outcome[0]
    if finished:
        return value
    raise value


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, from the operating system's resolver: the one place a
    JWKS (or discovery) host's name is looked up for the address check. It may block as long as
    the resolver likes; ``validate_jwks_url`` bounds it. Tests replace it to play a slow DNS."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def validate_jwks_url(url: str, *, what: str = "JWKS", deadline: float | None = None) -> None:
    """Refuse a URL we will never fetch. Raises ``InvalidJwksUrl``; ``what`` names the document
    in messages (``JWKS``, ``OIDC discovery``). The host's name is resolved (to check its
    addresses) by ``deadline`` (``time.monotonic()``; default: ``JWKS_TOTAL_TIMEOUT_SECONDS``
    from now), else ``JwksUnavailable``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise InvalidJwksUrl(f"{what} URL is not a valid URL: {e}") from e
    if parts.scheme != "https":
        raise InvalidJwksUrl(f"{what} URL must use https")
    if not host:
        raise InvalidJwksUrl(f"{what} URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidJwksUrl(f"{what} URL must not carry credentials")
    if trusted_auth_settings.JWKS_ALLOW_PRIVATE_NETWORKS:
        return
    total = float(trusted_auth_settings.JWKS_TOTAL_TIMEOUT_SECONDS)
    try:
        addresses = _run_by(
            time.monotonic() + total if deadline is None else deadline,
            lambda: resolve(host, port or 443),
            f"{what} host {host!r} did not resolve within the total deadline "
            f"(JWKS_TOTAL_TIMEOUT_SECONDS = {total:g})",
        )
    except (OSError, UnicodeError) as e:
        raise JwksUnavailable(f"{what} host {host!r} does not resolve: {e}") from e
    for address in addresses:
        if not is_public_address(address):
            raise InvalidJwksUrl(
                f"{what} host {host!r} resolves to non-public address {address}; "
                + _PRIVATE_NETWORKS_HINT
            )


def _session() -> requests.Session:
    session = requests.Session()
    # No proxies or netrc from the environment: the peer-address check must see the real peer.
    session.trust_env = False
    session.mount("https://", _GuardedAdapter(max_retries=0))
    session.mount("http://", HTTPAdapter(max_retries=0))
    return session


def _read_capped(
    response: requests.Response, deadline: float, cap: int, what: str = "JWKS"
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise JwksUnavailable(f"{what} response is larger than {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise JwksUnavailable(f"{what} fetch exceeded its total deadline")
        chunk = response.raw.read1(16384, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise JwksUnavailable(f"{what} response is larger than {cap} bytes")
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
            fetched.dropped.append(
                {"kid": str(kid)[:64] if kid is not None else "", "reason": reason}
            )
    return fetched


def fetch_jwks(url: str) -> FetchedJwks:
    """Fetch, cap and filter the JWKS at ``url``; raises ``InvalidJwksUrl``/``JwksUnavailable``."""
    return parse_jwks(fetch_capped(url))


def fetch_capped(url: str, *, what: str = "JWKS", cap: int | None = None) -> bytes:
    """The body of one GET of ``url`` under every rule of the JWKS fetch (https, public peers
    unless allowed, no redirects, total deadline with name resolution, ``cap`` bytes, default
    ``JWKS_MAX_BYTES``), for JWKS and OIDC discovery alike. Raises ``InvalidJwksUrl`` or
    ``JwksUnavailable``."""
    deadline = time.monotonic() + float(trusted_auth_settings.JWKS_TOTAL_TIMEOUT_SECONDS)
    validate_jwks_url(url, what=what, deadline=deadline)
    return _run_by(
        deadline,
        lambda: _get_capped(url, what, cap, deadline),
        f"{what} fetch exceeded its total deadline",
    )


def _get_capped(url: str, what: str, cap: int | None, deadline: float) -> bytes:
    """The GET of ``fetch_capped``, run by ``_run_by``: urllib3 resolves the name again to
    connect, within the same deadline, and the peer check covers an answer that changed."""
    connect_timeout = max(
        0.1,
        min(float(trusted_auth_settings.JWKS_CONNECT_TIMEOUT_SECONDS), deadline - time.monotonic()),
    )
    verify: Any = trusted_auth_settings.JWKS_CA_BUNDLE or True
    watchdog = _Deadline(deadline - time.monotonic())
    token = _current_deadline.set(watchdog)
    try:
        with watchdog, _session() as session:
            response = session.get(
                url,
                allow_redirects=False,
                stream=True,
                verify=verify,
                timeout=(connect_timeout, max(0.1, deadline - time.monotonic())),
                headers={"Accept": "application/json"},
            )
            with response:
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise JwksUnavailable(
                        f"{what} URL answered with a redirect; redirects are not followed"
                    )
                if response.status_code != 200:
                    raise JwksUnavailable(f"{what} URL answered HTTP {response.status_code}")
                limit = int(trusted_auth_settings.JWKS_MAX_BYTES) if cap is None else cap
                body = _read_capped(response, deadline, limit, what)
    except (requests.RequestException, Urllib3Error, OSError) as e:
        # Reading the streamed body raises urllib3's own errors (truncated body, read timeout).
        if time.monotonic() >= deadline:
            raise JwksUnavailable(f"{what} fetch exceeded its total deadline") from e
        reason = _failure_reason(e)
        if reason is not None:
            raise JwksUnavailable(f"{what} fetch failed: {reason}") from e
        if isinstance(e, requests.RequestException | Urllib3Error):
            raise JwksUnavailable(f"{what} fetch failed: {type(e).__name__}") from e
        raise JwksUnavailable(f"{what} fetch failed: {e}") from e
    finally:
        _current_deadline.reset(token)
    return body
