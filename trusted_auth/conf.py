"""The ``TRUSTED_AUTH`` settings dict, read through ``trusted_auth_settings`` where used (it
reloads on ``setting_changed``); ``trusted_auth.checks`` reports misconfiguration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

SETTING_NAME = "TRUSTED_AUTH"

# Each key is described in docs/reference/settings.md (tests/test_docs_reference.py keeps the
# table and this dict in step).
DEFAULTS: dict[str, Any] = {
    "PROJECT_ID": "",  # the HTTP Basic username and the session JWT audience
    "ISSUER": "",  # this deployment's public base URL, no trailing slash: iss of session JWTs
    # Fernet key encrypting signing keys at rest; empty: derived from SECRET_KEY (check W004).
    "KEY_ENCRYPTION_KEY": "",
    "KEY_ENCRYPTION_KEY_FALLBACKS": [],  # former KEKs, newest first, until `keys rewrap`
    "CACHE_ALIAS": "default",  # JWKS cache, refetch cooldowns, rate limits, metrics
    "ADAPTER": "trusted_auth.adapter.DefaultTrustedAuthAdapter",
    "SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS": 5,  # Retry-After of a 503 service_unavailable
    "MAX_TOKEN_BYTES": 8 * 1024,
    # JWKS fetching. A profile's JWKS URL may reach private addresses only with the first (SSRF).
    "JWKS_ALLOW_PRIVATE_NETWORKS": False,
    "JWKS_CACHE_SECONDS": 300,
    "JWKS_REFETCH_COOLDOWN_SECONDS": 30,
    "JWKS_STALE_IF_ERROR_SECONDS": 24 * 3600,
    "JWKS_CONNECT_TIMEOUT_SECONDS": 3.0,
    "JWKS_TOTAL_TIMEOUT_SECONDS": 5.0,
    "JWKS_FETCH_WAIT_SECONDS": 1.0,  # for another worker's fetch of the same JWKS
    "JWKS_MAX_BYTES": 256 * 1024,
    "JWKS_MAX_KEYS": 100,
    "JWKS_CA_BUNDLE": "",  # empty: the certifi store
    # Our session JWTs and signing keys.
    "SESSION_JWT_LIFETIME_SECONDS": 300,
    "SESSION_JWT_REUSE_SECONDS": 30,  # at most half the lifetime; 0: sign on every authenticate
    "SIGNING_KEY_SIZE": 2048,  # RSA bits of new keys
    "KEY_PUBLISH_SECONDS": 3600,  # a `next` key signs only after JWKS caches had time to see it
    # Sessions.
    "SESSION_IDLE_TIMEOUT_SECONDS": None,
    "SESSION_TOUCH_SECONDS": 60,  # 0: write last_accessed_at on every authenticate
    "ROLES": ["stytch_member", "stytch_admin"],  # deprecated: define roles in the RBAC policy
    "BEARER_CHECK_REVOCATION": False,  # one query per request: revocation before the JWT expires
    "BEARER_KEY_CACHE_SECONDS": 60,  # unused; accepted so existing settings pass the checks
    "BROWSER_SESSION_MINUTES": 60 * 24,
    "OAUTH_SESSION_MINUTES": 60,
    # The client IP is read from CLIENT_IP_HEADER only behind TRUSTED_PROXY_COUNT proxies (W003).
    "CLIENT_IP_HEADER": "",
    "TRUSTED_PROXY_COUNT": 0,
    # "N/m" per client IP (*_ip) or requested profile (*_profile), counted in the CACHE_ALIAS
    # cache so they hold across workers; None disables a scope.
    "THROTTLE_RATES": {
        "attest_ip": "600/m",
        "attest_profile": "1200/m",
        "authenticate_ip": "6000/m",
        "browser_ip": "60/m",
        "browser_profile": "1200/m",
        "basic_auth_failure_ip": "30/m",
    },
    "LOG_EMAILS": False,  # False: the attest log line carries a keyed hash of the email
    "METRICS_ENABLED": False,
    "METRICS_BEARER_TOKEN": "",
    "AUDIT_RETENTION_DAYS": None,  # None: keep every event
    "PROFILE_CACHE_SECONDS": 60,  # checked against the profiles generation on every attest
    "ERROR_DOCS_URL": "",  # empty: ISSUER + "/trusted_auth/errors"
}


class TrustedAuthSettings:
    """Attribute access to ``settings.TRUSTED_AUTH`` with defaults, cached until reloaded."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTING_NAME, None)
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in self.defaults:
            raise AttributeError(f"Unknown {SETTING_NAME} setting: {name!r}")
        value = self.user_settings.get(name, self.defaults[name])
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()


trusted_auth_settings = TrustedAuthSettings(DEFAULTS)


def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING_NAME, "SECRET_KEY", "CACHES"):
        trusted_auth_settings.reload()


setting_changed.connect(_reload_on_change)
