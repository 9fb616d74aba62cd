"""Rate limits for the attest and authenticate endpoints: DRF throttles over the shared cache.

The counts live in the ``CACHE_ALIAS`` cache, so a limit holds across workers when the cache is
shared (Redis). DRF parses the rates and answers the refusals; the counting is ours: a fixed
window, one counter per scope, client and window, raised with the cache's atomic ``incr``.
DRF's own ``SimpleRateThrottle`` keeps a list of every request's timestamp in the window and
reads and writes it whole per request: at 6000/min from one backend that is a 50 KB pickle
each way, and concurrent requests overwrite each other's writes. A fixed window costs two cache
calls whatever the rate and never lets more than the limit through within a window; a client
may spend two windows' worth around the boundary between them. A throttled request is
answered ``429 too_many_requests`` with ``Retry-After`` (see ``envelope.py``), counted in the
metrics, and not audited: an attacker flooding the endpoint must not be able to fill the audit
table.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from trusted_auth.conf import DEFAULTS, trusted_auth_settings
from trusted_auth.services import metrics


def _ip_or_none(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None


def client_ip(request: Any) -> str | None:
    """The client address: the first entry of ``CLIENT_IP_HEADER`` when set, else REMOTE_ADDR.

    Only a well-formed IP address counts: a forged header value ("unknown", a script) falls back
    to REMOTE_ADDR, so it can neither dodge a rate limit with a fresh string per request nor
    reach the audit table's IP column (which PostgreSQL would refuse with an error).
    """
    header = trusted_auth_settings.CLIENT_IP_HEADER
    forwarded = _ip_or_none(request.META.get(header, "").split(",")[0]) if header else None
    return forwarded or _ip_or_none(request.META.get("REMOTE_ADDR"))


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
        counter = f"{self.key}:{window}"
        # add() creates the counter only if missing; incr() is atomic on Redis and in local memory.
        self.cache.add(counter, 0, timeout=self.duration + 1)
        try:
            count = self.cache.incr(counter)
        except ValueError:  # evicted between add() and incr(): this request opens the window
            self.cache.set(counter, count := 1, timeout=self.duration + 1)
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


@dataclass
class _ProfileHolder:
    throttle_profile_id: Any


def attest_throttle_wait(request: Any, profile_id: Any) -> float | None:
    """For attest paths outside DRF (the browser flow): None when both attest limits allow the
    request, else the seconds to wait. Same scopes and counts as the API's attest."""
    for throttle in (AttestIPThrottle(), AttestProfileThrottle()):
        if not throttle.allow_request(request, _ProfileHolder(profile_id)):
            return throttle.wait() or 0.0
    return None
