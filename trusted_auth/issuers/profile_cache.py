"""The profile an attest verifies against, kept per process and checked against the database.

Every attest reads its profile (and a PEM profile's keys). Profiles change rarely, so each
process keeps the rows it read together with the ``profiles`` generation counter at that moment
(``internal/generations.py``). An attest reads the counter (one query per request, shared with
the other caches that consult it) and uses its copy only while the counter is unchanged. Every
save or delete of a profile or of a PEM key bumps the counter in the same transaction, so a
removed key, JIT switched off, a new mapping or a deleted profile takes effect on the next
attest in every worker, whatever the cache backend (the CLI in another process included).
``PROFILE_CACHE_SECONDS`` also bounds a copy's age; ``0`` turns the copy off.

Failure mode: the counter lives in the database, which the attest needs anyway; when it cannot
be read the attest fails with 503, never with a stale profile. The copy is only a read cache:
the instance returned is shared by the threads of a process and must not be modified.
"""

from __future__ import annotations

import time
from typing import Any

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.internal import generations
from trusted_auth.internal.lru import TaggedLru
from trusted_auth.issuers.profile_lookup import get_profile
from trusted_auth.models import TrustedAuthTokenProfile

# A handful of profiles is normal; the bound keeps a flood of made-up ids (which are never
# stored: get_profile raises for them) and many real profiles from growing the process.
MAX_CACHED_PROFILES = 256

# profile_id -> profile, tagged with the generation it was read at, aged on the monotonic clock
_copies: TaggedLru[str, TrustedAuthTokenProfile] = TaggedLru(MAX_CACHED_PROFILES)


def profile_for_attest(profile_id: Any) -> TrustedAuthTokenProfile:
    """``get_profile(profile_id)``, served from this process's copy while the ``profiles``
    generation is unchanged and the copy is younger than ``PROFILE_CACHE_SECONDS``."""
    lifetime = trusted_auth_settings.PROFILE_CACHE_SECONDS
    if not lifetime or not isinstance(profile_id, str) or not profile_id:
        return get_profile(profile_id)
    # The counter first, the rows second: a change committed between the two reads leaves a
    # copy newer than its counter (refilled once more), never an old copy under a new counter.
    generation = generations.value(generations.PROFILES)
    now = time.monotonic()
    profile = _copies.get(profile_id, generation, now=now, max_age=lifetime)
    if profile is None:
        profile = get_profile(profile_id)
        _copies.put(profile_id, generation, profile, now=now)
    return profile


def clear() -> None:
    """Forget every copy in this process (tests; the counter makes it unnecessary otherwise)."""
    _copies.clear()
