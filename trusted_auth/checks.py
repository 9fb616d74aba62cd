"""System checks for ``TRUSTED_AUTH``: stable ids, a hint each. Run by ``manage.py check``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.http.request import validate_host
from rest_framework.throttling import SimpleRateThrottle

from trusted_auth.backends import BACKEND as BROWSER_BACKEND
from trusted_auth.conf import DEFAULTS, SETTING_NAME, trusted_auth_settings

# trusted_auth.middleware.BrowserSessionMiddleware, named here so the checks import no views.
BROWSER_MIDDLEWARE = "trusted_auth.middleware.BrowserSessionMiddleware"

_POSITIVE_NUMBERS = (
    "MAX_TOKEN_BYTES",
    "JWKS_CACHE_SECONDS",
    "JWKS_REFETCH_COOLDOWN_SECONDS",
    "JWKS_CONNECT_TIMEOUT_SECONDS",
    "JWKS_TOTAL_TIMEOUT_SECONDS",
    "JWKS_FETCH_WAIT_SECONDS",
    "SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS",
    "JWKS_MAX_BYTES",
    "JWKS_MAX_KEYS",
    "SESSION_JWT_LIFETIME_SECONDS",
    "KEY_PUBLISH_SECONDS",
    "BEARER_KEY_CACHE_SECONDS",
    "BROWSER_SESSION_MINUTES",
    "OAUTH_SESSION_MINUTES",
)


_GENERATE_FERNET_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def _is_fernet_key(value: Any) -> bool:
    try:
        Fernet(value)
    except (ValueError, TypeError):
        return False
    return True


@register(Tags.security, "trusted_auth")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, dict):
        return [Error(f"{SETTING_NAME} must be a dict.", id="trusted_auth.E000")]
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        messages.append(
            Error(
                f"Unknown {SETTING_NAME} keys: {', '.join(unknown)}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="trusted_auth.E001",
            )
        )
    project_id = trusted_auth_settings.PROJECT_ID
    if not isinstance(project_id, str) or not project_id.strip():
        messages.append(
            Error(
                f"{SETTING_NAME}['PROJECT_ID'] is not set.",
                hint="Set it to your project id, e.g. 'project-live-…'; it is the Basic auth user "
                "and the session JWT audience.",
                id="trusted_auth.E002",
            )
        )
    issuer = trusted_auth_settings.ISSUER
    parts = urlsplit(issuer) if isinstance(issuer, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or issuer.endswith("/")
    ):
        messages.append(
            Error(
                f"{SETTING_NAME}['ISSUER'] must be this deployment's public base URL without a "
                "trailing slash.",
                hint="For example 'https://auth.example.com'; the Stytch SDK accepts session JWTs "
                "whose iss is its custom_base_url without the slash.",
                id="trusted_auth.E003",
            )
        )
    kek = trusted_auth_settings.KEY_ENCRYPTION_KEY
    if kek and not _is_fernet_key(kek):
        messages.append(
            Error(
                f"{SETTING_NAME}['KEY_ENCRYPTION_KEY'] is not a Fernet key.",
                hint=f"Generate one with: {_GENERATE_FERNET_KEY}",
                id="trusted_auth.E004",
            )
        )
    messages.extend(_check_kek_fallbacks())
    for name in _POSITIVE_NUMBERS:
        value = getattr(trusted_auth_settings, name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            messages.append(
                Error(
                    f"{SETTING_NAME}['{name}'] must be a positive number.", id="trusted_auth.E005"
                )
            )
    if trusted_auth_settings.CACHE_ALIAS not in settings.CACHES:
        messages.append(
            Error(
                f"{SETTING_NAME}['CACHE_ALIAS'] names no cache in CACHES.", id="trusted_auth.E006"
            )
        )
    key_size = trusted_auth_settings.SIGNING_KEY_SIZE
    if not isinstance(key_size, int) or key_size < 2048:
        messages.append(
            Error(
                f"{SETTING_NAME}['SIGNING_KEY_SIZE'] must be an RSA size of at least 2048 bits.",
                hint="2048 is the default for new keys; 3072 or 4096 for a larger margin.",
                id="trusted_auth.E007",
            )
        )
    if trusted_auth_settings.JWKS_ALLOW_PRIVATE_NETWORKS and not settings.DEBUG:
        messages.append(
            Warning(
                f"{SETTING_NAME}['JWKS_ALLOW_PRIVATE_NETWORKS'] is on outside DEBUG.",
                hint="It lets a profile's JWKS URL reach private and loopback addresses (SSRF); "
                "keep it for tests and local demos.",
                id="trusted_auth.W001",
            )
        )
    if BROWSER_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        messages.append(
            Warning(
                f"{BROWSER_BACKEND} is not in AUTHENTICATION_BACKENDS.",
                hint="The browser flow (browser/exchange) logs users in with it; without it a "
                "browser that exchanged a token is anonymous again on its next request. Add it "
                "after django.contrib.auth.backends.ModelBackend.",
                id="trusted_auth.W010",
            )
        )
    elif BROWSER_MIDDLEWARE not in settings.MIDDLEWARE:
        messages.append(
            Warning(
                f"{BROWSER_MIDDLEWARE} is not in MIDDLEWARE.",
                hint="The browser flow's Django login then outlives its trusted session: a "
                "revoked, expired or idle session stays logged in until the cookie expires. Add "
                "it after django.contrib.sessions.middleware.SessionMiddleware.",
                id="trusted_auth.W008",
            )
        )
    retention = trusted_auth_settings.AUDIT_RETENTION_DAYS
    if retention is not None and (
        not isinstance(retention, int) or isinstance(retention, bool) or retention < 1
    ):
        messages.append(
            Error(
                f"{SETTING_NAME}['AUDIT_RETENTION_DAYS'] must be None or a whole number of days "
                "of at least 1.",
                id="trusted_auth.E008",
            )
        )
    messages.extend(_check_cache_is_shared())
    messages.extend(_check_throttle_rates())
    messages.extend(_check_trusted_proxies())
    return messages


# Cache backends whose contents live in one process: each worker then has its own copy.
PROCESS_LOCAL_CACHE_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def _check_cache_is_shared() -> list[Warning]:
    if settings.DEBUG:
        return []
    alias = trusted_auth_settings.CACHE_ALIAS
    backend = settings.CACHES.get(alias, {}).get("BACKEND") if isinstance(alias, str) else None
    if backend not in PROCESS_LOCAL_CACHE_BACKENDS:
        return []
    return [
        Warning(
            f"{SETTING_NAME}['CACHE_ALIAS'] ({alias!r}) is a process-local cache ({backend}).",
            hint="Rate limits, JWKS caches, refetch cooldowns and remembered JWKS failures are "
            "then kept per worker process, not per deployment. Use a shared cache (Redis) when "
            "more than one process serves requests; replay protection does not depend on it.",
            id="trusted_auth.W002",
        )
    ]


def _check_throttle_rates() -> list[CheckMessage]:
    rates = trusted_auth_settings.THROTTLE_RATES
    if not isinstance(rates, dict):
        return [Error(f"{SETTING_NAME}['THROTTLE_RATES'] must be a dict.", id="trusted_auth.E020")]
    messages: list[CheckMessage] = []
    for scope, rate in rates.items():
        if scope not in DEFAULTS["THROTTLE_RATES"]:
            messages.append(
                Error(
                    f"{SETTING_NAME}['THROTTLE_RATES'] has an unknown scope {scope!r}.",
                    hint=f"Known scopes: {', '.join(sorted(DEFAULTS['THROTTLE_RATES']))}.",
                    id="trusted_auth.E020",
                )
            )
            continue
        try:
            if rate is not None:
                SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
                if int(rate.split("/")[0]) <= 0:
                    raise ValueError(rate)
        except (ValueError, KeyError, AttributeError, TypeError, IndexError):
            messages.append(
                Error(
                    f"{SETTING_NAME}['THROTTLE_RATES'][{scope!r}] is not a rate: {rate!r}.",
                    hint="Write it as 'N/s', 'N/m', 'N/h' or 'N/d', or None to disable the scope.",
                    id="trusted_auth.E020",
                )
            )
    return messages


# How request.META names a header: X-Forwarded-For is HTTP_X_FORWARDED_FOR.
_META_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


def _check_trusted_proxies() -> list[CheckMessage]:
    """The client IP (``internal.http.client_ip``) is read from a header only with both
    settings: a header alone is the client's own writing, a count alone names nothing."""
    count = trusted_auth_settings.TRUSTED_PROXY_COUNT
    header = trusted_auth_settings.CLIENT_IP_HEADER
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return [
            Error(
                f"{SETTING_NAME}['TRUSTED_PROXY_COUNT'] must be a whole number of at least 0.",
                hint="The number of reverse proxies in front of the app that append the address "
                "they saw to CLIENT_IP_HEADER; 0 trusts none and uses REMOTE_ADDR.",
                id="trusted_auth.E009",
            )
        ]
    if count and not (isinstance(header, str) and _META_KEY.fullmatch(header)):
        return [
            Error(
                f"{SETTING_NAME}['TRUSTED_PROXY_COUNT'] is {count} but "
                f"{SETTING_NAME}['CLIENT_IP_HEADER'] names no request header ({header!r}).",
                hint="Name the header as request.META spells it: 'HTTP_X_FORWARDED_FOR' for "
                "X-Forwarded-For. Or set TRUSTED_PROXY_COUNT back to 0 to use REMOTE_ADDR.",
                id="trusted_auth.E010",
            )
        ]
    if header and not count:
        return [
            Warning(
                f"{SETTING_NAME}['CLIENT_IP_HEADER'] is set but "
                f"{SETTING_NAME}['TRUSTED_PROXY_COUNT'] is 0: the header is ignored.",
                hint="Rate limits and audit events use REMOTE_ADDR until TRUSTED_PROXY_COUNT "
                "says how many proxies in front of the app append to the header (1 for one "
                "load balancer); the client is then read that many entries from the right. "
                "Trusting a header no proxy of yours writes would let every client choose "
                "its own address.",
                id="trusted_auth.W003",
            )
        ]
    return []


def _check_kek_fallbacks() -> list[CheckMessage]:
    fallbacks = trusted_auth_settings.KEY_ENCRYPTION_KEY_FALLBACKS
    name = f"{SETTING_NAME}['KEY_ENCRYPTION_KEY_FALLBACKS']"
    if not isinstance(fallbacks, list | tuple):
        return [Error(f"{name} must be a list of Fernet keys.", id="trusted_auth.E004")]
    return [
        Error(
            f"{name}[{index}] is not a Fernet key.",
            hint="List the Fernet keys that encrypted keys may still be stored under, newest "
            "first.",
            id="trusted_auth.E004",
        )
        for index, key in enumerate(fallbacks)
        if not _is_fernet_key(key)
    ]


@register(Tags.security, "trusted_auth", deploy=True)
def check_deploy_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py check --deploy``: what a production deployment should not run with."""
    if trusted_auth_settings.KEY_ENCRYPTION_KEY:
        return []
    return [
        Warning(
            f"{SETTING_NAME}['KEY_ENCRYPTION_KEY'] is not set: the key that encrypts the "
            "session signing keys at rest is derived from SECRET_KEY.",
            hint="Whoever learns SECRET_KEY can then decrypt the signing keys stored in the "
            "database. Set KEY_ENCRYPTION_KEY to a Fernet key kept apart from SECRET_KEY "
            f"({_GENERATE_FERNET_KEY}), then run `manage.py trusted_auth keys rewrap`.",
            id="trusted_auth.W004",
        )
    ]


# What Django allows when DEBUG is on and ALLOWED_HOSTS is empty (its documented default).
_DEBUG_LOCAL_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


@register(Tags.security, "trusted_auth", deploy=True)
def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py check --deploy``: ``ISSUER`` as clients and the SDKs will use it."""
    issuer = trusted_auth_settings.ISSUER
    if not isinstance(issuer, str) or not issuer:
        return []  # E003
    messages: list[CheckMessage] = []
    parts = urlsplit(issuer)
    if parts.scheme != "https":
        messages.append(
            Warning(
                f"{SETTING_NAME}['ISSUER'] is not an https URL: {issuer!r}.",
                hint="The Stytch SDKs accept only an https custom_base_url, and "
                "authenticate_jwt_local accepts only session JWTs whose iss is that base URL: "
                "serve this deployment over HTTPS and set ISSUER to its https:// base URL.",
                id="trusted_auth.W005",
            )
        )
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, as ALLOWED_HOSTS writes it
    allowed = settings.ALLOWED_HOSTS or (_DEBUG_LOCAL_HOSTS if settings.DEBUG else [])
    if host and not validate_host(host, allowed):  # the rule HttpRequest.get_host() applies
        messages.append(
            Warning(
                f"The host of {SETTING_NAME}['ISSUER'] ({host!r}) is not in ALLOWED_HOSTS.",
                hint="Clients call this deployment at ISSUER, and Django answers 400 "
                "(DisallowedHost) to a host not in ALLOWED_HOSTS. Add the host to ALLOWED_HOSTS, "
                "or set ISSUER to the public base URL clients use.",
                id="trusted_auth.W006",
            )
        )
    if issuer.endswith("/"):
        messages.append(
            Warning(
                f"{SETTING_NAME}['ISSUER'] ends in '/': {issuer!r}.",
                hint="The SDKs strip the trailing slash of their base URL before they compare it "
                "with the session JWT's iss, so authenticate_jwt_local returns None for every "
                "session JWT. Remove the slash.",
                id="trusted_auth.W007",
            )
        )
    return messages
