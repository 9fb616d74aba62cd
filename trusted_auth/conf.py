"""The ``TRUSTED_AUTH`` settings dict, read through ``trusted_auth_settings``.

Read a setting where it is used, never into a module constant: the object reloads on
``setting_changed``. Misconfiguration is reported by ``trusted_auth.checks``, not raised here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

SETTING_NAME = "TRUSTED_AUTH"

DEFAULTS: dict[str, Any] = {
    # One deployment is one project: the HTTP Basic username and the session JWT audience.
    "PROJECT_ID": "",
    # Public base URL of this deployment without trailing slash: `iss` of our session JWTs.
    "ISSUER": "",
    # Fernet key (urlsafe base64 of 32 bytes) that encrypts signing keys at rest. Empty: derived
    # from SECRET_KEY with HKDF (check W004 under --deploy), and stored keys follow
    # SECRET_KEY_FALLBACKS through a rotation until `keys rewrap` re-encrypts them.
    "KEY_ENCRYPTION_KEY": "",
    # Former KEY_ENCRYPTION_KEYs, newest first: stored keys still decrypt with them until
    # `manage.py trusted_auth keys rewrap` re-encrypts them under KEY_ENCRYPTION_KEY.
    "KEY_ENCRYPTION_KEY_FALLBACKS": [],
    # Django cache alias used for the JWKS cache, refetch cooldowns, rate limits and metrics.
    "CACHE_ALIAS": "default",
    # Who a token signs in as: a subclass of trusted_auth.adapter.DefaultTrustedAuthAdapter.
    "ADAPTER": "trusted_auth.adapter.DefaultTrustedAuthAdapter",
    # Retry-After (seconds) of a 503 service_unavailable: the database or cache failed or
    # timed out, and the request was refused rather than let through unchecked.
    "SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS": 5,
    # External tokens.
    "MAX_TOKEN_BYTES": 8 * 1024,
    # JWKS fetching.
    "JWKS_ALLOW_PRIVATE_NETWORKS": False,
    "JWKS_CACHE_SECONDS": 300,
    "JWKS_REFETCH_COOLDOWN_SECONDS": 30,
    "JWKS_STALE_IF_ERROR_SECONDS": 24 * 3600,
    "JWKS_CONNECT_TIMEOUT_SECONDS": 3.0,
    "JWKS_TOTAL_TIMEOUT_SECONDS": 5.0,
    # How long an attest waits for another worker's fetch of the same JWKS before it serves
    # the set it has (or answers 503 jwks_unavailable when it has none).
    "JWKS_FETCH_WAIT_SECONDS": 1.0,
    "JWKS_MAX_BYTES": 256 * 1024,
    "JWKS_MAX_KEYS": 100,
    # CA bundle that verifies JWKS hosts; empty: the default (certifi) store.
    "JWKS_CA_BUNDLE": "",
    # Our session JWTs.
    "SESSION_JWT_LIFETIME_SECONDS": 300,
    # authenticate returns the session JWT this worker signed for the same session less than
    # this long ago when no claim but iat/nbf/exp would change (at most half the lifetime).
    # 0: sign on every authenticate.
    "SESSION_JWT_REUSE_SECONDS": 30,
    # RSA size of new signing keys (2048, 3072 or 4096); existing keys keep their size. 2048 is
    # what Stytch, Auth0, Okta and Google sign with.
    "SIGNING_KEY_SIZE": 2048,
    # A key published as `next` signs only after this long (JWKS caches must have seen it).
    "KEY_PUBLISH_SECONDS": 3600,
    # Sessions unused for this long are refused on authenticate; None: no idle timeout.
    "SESSION_IDLE_TIMEOUT_SECONDS": None,
    # authenticate writes a session's last_accessed_at when it is older than this (or a quarter
    # of the idle timeout); in between, authenticate only reads. 0: write it every time.
    "SESSION_TOUCH_SECONDS": 60,
    # B2B roles a token may assign (role_ids); an unknown role is refused, never dropped.
    "ROLES": ["stytch_member", "stytch_admin"],
    # BearerSessionAuthentication: also read the session row for every JWT, so revocation
    # takes effect before the 5-minute JWT expires (one query per request).
    "BEARER_CHECK_REVOCATION": False,
    # Unused (Bearer auth reloads our public keys when the signing_keys generation moves);
    # accepted so existing settings still pass the checks.
    "BEARER_KEY_CACHE_SECONDS": 60,
    # The browser flow (trusted_auth.browser): length of the session it starts.
    "BROWSER_SESSION_MINUTES": 60 * 24,
    # The OAuth token endpoint: length of the session a token exchange or JWT bearer grant
    # starts when the client sends no session_duration_minutes (5 to 527040).
    "OAUTH_SESSION_MINUTES": 60,
    # Client IP for throttles and audit events: REMOTE_ADDR, unless the app sits behind
    # TRUSTED_PROXY_COUNT reverse proxies that each append the address they saw to
    # CLIENT_IP_HEADER (e.g. "HTTP_X_FORWARDED_FOR"); the client is then read from the right of
    # that header. A header without a count is ignored (check W003).
    "CLIENT_IP_HEADER": "",
    "TRUSTED_PROXY_COUNT": 0,
    # Rate limits per scope, "N/s", "N/m", "N/h" or "N/d" (DRF syntax), counted in the
    # CACHE_ALIAS cache so they hold across workers. None disables a scope; a scope left out
    # keeps its default. attest_ip and authenticate_ip are per client IP (TRUSTED_PROXY_COUNT
    # and CLIENT_IP_HEADER apply); attest_profile is per requested profile_id. browser_ip and
    # browser_profile are the same limits for the browser flow, counted apart from the server
    # API's.
    # basic_auth_failure_ip counts failed HTTP Basic attempts per client IP (then 429).
    "THROTTLE_RATES": {
        "attest_ip": "600/m",
        "attest_profile": "1200/m",
        "authenticate_ip": "6000/m",
        "browser_ip": "60/m",
        "browser_profile": "1200/m",
        "basic_auth_failure_ip": "30/m",
    },
    # The structured log line per attest (logger "trusted_auth.attest") names the email in
    # clear only when True; otherwise a keyed hash of it (same email, same hash).
    "LOG_EMAILS": False,
    # GET <mount>/metrics in Prometheus text format; a 404 unless enabled.
    "METRICS_ENABLED": False,
    # When set, /metrics also requires "Authorization: Bearer <this value>".
    "METRICS_BEARER_TOKEN": "",
    # `manage.py trusted_auth audit prune` without --older-than deletes audit events older
    # than this many days. None: keep every event (prune only when asked with --older-than).
    "AUDIT_RETENTION_DAYS": None,
    # Attest keeps a per-process copy of its profile for at most this long, checked against the
    # `profiles` generation counter on every attest (a change is seen at once). 0: no copy.
    "PROFILE_CACHE_SECONDS": 60,
    # Base of every error body's error_url (`#<error_type>` is appended). Empty: the reference
    # this deployment serves itself, ISSUER + "/trusted_auth/errors" (trusted_auth.urls mounts
    # it), so the link is reachable wherever the API is and lists exactly this version's errors.
    "ERROR_DOCS_URL": "",
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
