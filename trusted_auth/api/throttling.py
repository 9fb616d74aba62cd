"""Rate limits: DRF throttles counted in the shared ``CACHE_ALIAS`` cache, one atomic counter
per scope, client and fixed window (DRF's timestamp list loses concurrent writes). A refusal is
a 429, counted but not audited (a flood cannot fill the audit table); a cache outage is a 503:
a limit that cannot count never allows.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from trusted_auth.audit import metrics
from trusted_auth.conf import DEFAULTS, trusted_auth_settings
from trusted_auth.internal.counters import incr_with_expiry
from trusted_auth.internal.http import client_ip


class TrustedAuthThrottle(SimpleRateThrottle):
    """A ``SimpleRateThrottle`` whose rate and cache come from ``TRUSTED_AUTH``."""

    cache_format = "trusted_auth:throttle:%(scope)s:%(ident)s"
    # Refusals of this scope are attests: counted as such in trusted_auth_attests_total.
    counts_as_attest = False

    # Set by SimpleRateThrottle.__init__ from the rate (which DRF's stubs leave undeclared).
    num_requests: int
    duration: int

    def __init__(self) -> None:
        self.cache = caches[trusted_auth_settings.CACHE_ALIAS]
        super().__init__()

    def get_rate(self) -> str | None:
        rates = trusted_auth_settings.THROTTLE_RATES
        return rates.get(self.scope, DEFAULTS["THROTTLE_RATES"].get(self.scope))

    def identity(self, request: Any, view: Any) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = self.identity(request, view)
        return self.cache_format % {"scope": self.scope, "ident": ident} if ident else None

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        count = incr_with_expiry(self.cache, f"{self.key}:{window}", self.duration + 1)
        if count > self.num_requests:
            return self.throttle_failure()
        return True

    def wait(self) -> float:
        """Seconds until the current window closes (``Retry-After``)."""
        return max(0.0, self.window_ends_at - self.now)

    def throttle_failure(self) -> bool:
        metrics.increment(metrics.THROTTLED, scope=self.scope or "")
        if self.counts_as_attest:
            metrics.increment(metrics.ATTESTS, outcome="throttled", error_type="too_many_requests")
        return False


class ClientIPThrottle(TrustedAuthThrottle):
    def identity(self, request: Any, view: Any) -> str | None:
        return client_ip(request)


class AttestIPThrottle(ClientIPThrottle):
    scope = "attest_ip"
    counts_as_attest = True


class AuthenticateIPThrottle(ClientIPThrottle):
    scope = "authenticate_ip"


class BasicAuthFailureThrottle(ClientIPThrottle):
    """Failed HTTP Basic attempts per client IP: a request with the right secret is never
    counted."""

    scope = "basic_auth_failure_ip"


class BrowserIPThrottle(ClientIPThrottle):
    scope = "browser_ip"
    counts_as_attest = True


class AttestProfileThrottle(TrustedAuthThrottle):
    """Per requested ``profile_id``. Checked by the view once the body is parsed (DRF checks
    throttles before the body is read, and a malformed attest must still be audited)."""

    scope = "attest_profile"
    counts_as_attest = True

    def identity(self, request: Any, view: Any) -> str | None:
        profile_id = getattr(view, "throttle_profile_id", None)
        if not isinstance(profile_id, str):
            return None
        # A digest: cache keys stay short and printable whatever a client sends.
        return hashlib.sha256(profile_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class BrowserProfileThrottle(AttestProfileThrottle):
    scope = "browser_profile"


def browser_throttle_wait(request: Any, profile_id: Any) -> float | None:
    """For the browser flow (outside DRF): None when both of its limits allow the request, else
    the seconds to wait. Its own scopes: the server API's attest budget is not spent here."""
    for throttle in (BrowserIPThrottle(), BrowserProfileThrottle()):
        if not throttle.allow_request(request, SimpleNamespace(throttle_profile_id=profile_id)):
            return throttle.wait() or 0.0
    return None
