"""``manage.py trusted_auth doctor``: would the Stytch SDKs verify our session JWTs?

It does what ``authenticate_jwt_local`` does in a client (PyJWT's ``PyJWKClient`` on our JWKS URL,
the default trust store, the SDK's ``jwt.decode`` arguments), where the SDK would only return
``None``. It stops at the first failing check, which names what to fix; exit status 1 then.
"""

from __future__ import annotations

import argparse
import ssl
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.core.management.base import CommandError
from django.utils import timezone

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.management.cli import CommandIO, add_action
from trusted_auth.models import Session
from trusted_auth.sessions.session_jwt import issue_session_jwt

FETCH_TIMEOUT_SECONDS = 10
MOUNT = "path('', include('trusted_auth.urls'))"
TRUST_HINT = (
    "point SSL_CERT_FILE (urllib: PyJWKClient, authenticate_jwt_local) and REQUESTS_CA_BUNDLE "
    "(requests: every other SDK call) at your CA's certificate on each client, "
    "NODE_EXTRA_CA_CERTS for the Node SDK"
)


class CheckFailed(Exception):
    """One check failed: what was found, and what to change."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


@dataclass
class Doctor:
    issuer: str
    project_id: str
    base_url: str  # the SDK's custom_base_url, with the slash the SDK adds

    @property
    def jwks_url(self) -> str:
        # The SDK's ApiBase.url_for: urljoin with a rooted path, so a base URL's path is dropped.
        project = urllib.parse.quote(self.project_id, safe="")
        return urllib.parse.urljoin(self.base_url, f"/v1/sessions/jwks/{project}")

    def check_issuer(self) -> str:
        parts = urllib.parse.urlsplit(self.issuer)
        if parts.scheme != "https" or not parts.hostname:
            raise CheckFailed(
                f"ISSUER {self.issuer!r} is not an https URL",
                "The SDKs refuse a custom_base_url that is not https, and the session JWTs' iss "
                "must be that base URL: serve this deployment over HTTPS and set "
                "TRUSTED_AUTH['ISSUER'] to its https:// base URL (`manage.py demo` shows one "
                "way for local work: a local CA and Gunicorn's certfile/keyfile).",
            )
        if self.issuer.endswith("/"):
            raise CheckFailed(
                f"ISSUER {self.issuer!r} ends in '/'",
                f"Set TRUSTED_AUTH['ISSUER'] to {self.issuer.rstrip('/')!r}: the SDKs strip the "
                "slash of their base URL before comparing it with iss.",
            )
        return f"{self.issuer} is an https base URL"

    def check_base_url(self) -> str:
        if not self.base_url.startswith("https://"):
            raise CheckFailed(
                f"the SDK's base URL {self.base_url!r} is not https",
                "The SDKs raise on a custom_base_url that is not https: give them "
                f"custom_base_url={self.issuer + '/'!r}.",
            )
        expected_iss = self.base_url.rstrip("/")
        if expected_iss != self.issuer:
            raise CheckFailed(
                f"an SDK with custom_base_url={self.base_url!r} accepts only session JWTs whose "
                f"iss is {expected_iss!r}, and ours carry ISSUER {self.issuer!r}: "
                "authenticate_jwt_local returns None for every one",
                f"Construct the SDK with custom_base_url={self.issuer + '/'!r}, or set "
                f"TRUSTED_AUTH['ISSUER'] = {expected_iss!r} if that is the public base URL.",
            )
        return f"an SDK with custom_base_url={self.base_url!r} expects iss {self.issuer!r}"

    def fetch_jwks(self, client: jwt.PyJWKClient) -> str:
        host = urllib.parse.urlsplit(self.jwks_url).netloc
        try:
            keys = client.get_jwk_set().keys
        except jwt.PyJWKClientConnectionError as e:
            raise _fetch_failed(e.__cause__, host, self.jwks_url, self.project_id) from e
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as e:
            raise CheckFailed(
                f"{self.jwks_url} answered, but not with a JWKS ({e})",
                f"Something else than this deployment answers at {host}: mount trusted_auth's "
                f"URLs at the root of ISSUER's host ({MOUNT}) and point ISSUER at it.",
            ) from e
        return f"fetched {self.jwks_url} over verified TLS: {len(keys)} key(s)"

    def verify(self, client: jwt.PyJWKClient, token: str, kid: str) -> str:
        try:
            signing_key = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError as e:
            raise CheckFailed(
                f"the JWKS at {self.jwks_url} does not publish our signing key {kid!r}",
                "ISSUER reaches a deployment with other keys (another database or server): set "
                "TRUSTED_AUTH['ISSUER'] to the public base URL of this one.",
            ) from e
        try:
            # jwt_helpers._authenticate_jwt_local of the stytch SDK: it turns on every verify_*
            # option, which are PyJWT's defaults.
            jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                options={"require": ["aud", "iss", "exp", "iat", "nbf"]},
                audience=self.project_id,
                issuer=[f"stytch.com/{self.project_id}", self.base_url.rstrip("/")],
                leeway=0,
            )
        except jwt.ImmatureSignatureError as e:
            raise CheckFailed(
                f"a session JWT signed now is not yet valid here ({e})",
                "This machine's clock is behind the signer's: run NTP on both.",
            ) from e
        except jwt.PyJWTError as e:
            raise CheckFailed(
                f"the SDK's verification refuses a fresh session JWT: {e}",
                "Run the checks above again; if they pass, this is a bug: please report it.",
            ) from e
        return (
            f"a fresh session JWT (kid {kid}) verifies as authenticate_jwt_local verifies it: "
            f"RS256, iss {self.issuer}, aud {self.project_id}"
        )


def _fetch_failed(error: BaseException | None, host: str, url: str, project_id: str) -> CheckFailed:
    """What a failed JWKS fetch means for a client, by its cause (urllib's own exceptions)."""
    reason = getattr(error, "reason", error)
    if isinstance(error, urllib.error.HTTPError):
        if 300 <= error.code < 400:
            return CheckFailed(
                f"{url} answered a redirect (HTTP {error.code}); PyJWKClient does not follow it",
                "Set ISSUER to the URL that answers directly (no http→https or slash "
                "redirect in front of the API).",
            )
        if error.code == 404:
            return CheckFailed(
                f"{url} answered HTTP 404",
                f"The SDKs call /v1/… at the root of the base URL's host: mount trusted_auth's "
                f"URLs there ({MOUNT}), and check that the deployment at {host} has "
                f"PROJECT_ID {project_id!r}.",
            )
        if error.code == 400:
            return CheckFailed(
                f"{url} answered HTTP 400",
                f"Add {urllib.parse.urlsplit(url).hostname!r} to ALLOWED_HOSTS of the deployment "
                "at ISSUER (Django refuses a Host it does not allow with a 400).",
            )
        return CheckFailed(
            f"{url} answered HTTP {error.code}",
            "Look at that server's log: the JWKS endpoint needs no credentials.",
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        return CheckFailed(
            f"TLS to {host} is not trusted here: {reason.verify_message}",
            "The SDKs verify the certificate as this check did: use a certificate from a CA "
            f"the clients trust, or {TRUST_HINT}.",
        )
    if isinstance(reason, ssl.SSLError):
        return CheckFailed(
            f"no TLS connection to {host}: {reason}",
            f"Serve HTTPS at {host} (an http server on that port answers without TLS).",
        )
    return CheckFailed(
        f"{host} is not reachable from here: {reason}",
        "Start the server, and set TRUSTED_AUTH['ISSUER'] to the base URL clients reach it at "
        "(the host and port they connect to, as they write it).",
    )


def _fresh_session_jwt() -> tuple[str, str]:
    """A session JWT signed now by our current key (created on first need) for a session that
    is never saved; and its kid."""
    now = timezone.now()
    token = issue_session_jwt(
        Session(started_at=now, last_accessed_at=now, expires_at=now + timedelta(minutes=5)),
        subject="user-trusted-auth-doctor",
    )
    return token, jwt.get_unverified_header(token)["kid"]


def doctor(options: dict[str, Any], io: CommandIO) -> None:
    issuer = str(trusted_auth_settings.ISSUER)
    base_url = options["base_url"] or issuer
    base_url = base_url if base_url.endswith("/") else base_url + "/"  # as the SDKs do
    check = Doctor(issuer, str(trusted_auth_settings.PROJECT_ID), base_url)
    report: dict[str, Any] = {
        "passed": False,
        "issuer": issuer,
        "base_url": base_url,
        "jwks_url": check.jwks_url,
        "checks": [],
    }
    client = jwt.PyJWKClient(check.jwks_url, timeout=FETCH_TIMEOUT_SECONDS)
    steps = [
        ("issuer", check.check_issuer),
        ("base_url", check.check_base_url),
        ("jwks_fetch", lambda: check.fetch_jwks(client)),
        ("session_jwt", lambda: check.verify(client, *_fresh_session_jwt())),
    ]
    for name, step in steps:
        started = time.monotonic()
        try:
            detail = step()
        except CheckFailed as failed:
            report["checks"].append(
                {"check": name, "passed": False, "detail": failed.detail, "fix": failed.fix}
            )
            io.emit(report)
            raise CommandError(f"the {name} check fails: {failed.detail}. {failed.fix}") from None
        report["checks"].append({"check": name, "passed": True, "detail": detail})
        io.note(f"  PASS  {name}: {detail} ({time.monotonic() - started:.2f} s)", level=2)
    report["passed"] = True
    io.emit(report)
    io.note("The SDKs will verify this deployment's session JWTs (authenticate_jwt_local).")


def add_group(groups: argparse._SubParsersAction) -> None:
    parser = add_action(
        groups,
        "doctor",
        doctor,
        help="check that the SDKs can fetch our JWKS through ISSUER and verify our session JWTs",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the custom_base_url your SDK clients are given (default: ISSUER + '/')",
    )
