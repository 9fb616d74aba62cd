"""What the admin's Overview page shows (attests and failures over 24 hours, live sessions,
signing keys, JWKS health), in a number of queries that does not grow with the data.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from trusted_auth.issuers import jwks_health
from trusted_auth.issuers.issuer_keys import cached_keysets, is_fresh
from trusted_auth.issuers.rejection_hints import duration
from trusted_auth.models import AuditEvent, Session, SigningKey, TrustedAuthTokenProfile

HOURS = 24
TOP_FAILURES = 10


@dataclass(frozen=True)
class HourOfAttests:
    start: dt.datetime
    success: int
    failure: int


@dataclass(frozen=True)
class FailureReason:
    profile_name: str
    profile_id: str
    error_type: str
    count: int


@dataclass(frozen=True)
class LiveSessionsAt:
    at: dt.datetime
    count: int


@dataclass(frozen=True)
class JwksProfileHealth:
    profile_id: str
    name: str
    jwks_url: str
    keys: int | None
    fetched_at: dt.datetime | None
    age_seconds: float | None
    fresh: bool
    last_error: str
    last_failure_at: dt.datetime | None
    failing: bool

    @property
    def age(self) -> str:
        return duration(self.age_seconds) if self.age_seconds is not None else ""

    @property
    def status(self) -> str:
        if self.fetched_at is None:
            return "failing" if self.failing else "not fetched yet"
        if self.failing:
            return "failing (serving the last good set)"
        return "fresh" if self.fresh else "stale (refetched on next use)"


@dataclass
class Overview:
    now: dt.datetime
    hours: list[HourOfAttests] = field(default_factory=list)
    failures: list[FailureReason] = field(default_factory=list)
    live_sessions: list[LiveSessionsAt] = field(default_factory=list)
    signing_keys: list[SigningKey] = field(default_factory=list)
    jwks_profiles: list[JwksProfileHealth] = field(default_factory=list)

    @property
    def attests(self) -> int:
        return sum(h.success + h.failure for h in self.hours)

    @property
    def failed_attests(self) -> int:
        return sum(h.failure for h in self.hours)

    @property
    def failing_jwks_profiles(self) -> int:
        return sum(1 for p in self.jwks_profiles if p.failing)

    @property
    def live_now(self) -> int:
        return self.live_sessions[-1].count if self.live_sessions else 0


def _attests_per_hour(first_hour: dt.datetime) -> list[HourOfAttests]:
    rows = (
        AuditEvent.objects.filter(created_at__gte=first_hour)
        .annotate(hour=TruncHour("created_at", tzinfo=dt.UTC))
        .values("hour", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[dt.datetime, str], int] = {}
    for row in rows:
        hour = row["hour"]
        if timezone.is_naive(hour):
            hour = timezone.make_aware(hour, dt.UTC)
        counts[(hour.astimezone(dt.UTC), row["outcome"])] = row["n"]
    starts = [first_hour + dt.timedelta(hours=i) for i in range(HOURS)]
    return [
        HourOfAttests(
            start=start,
            success=counts.get((start, AuditEvent.Outcome.SUCCESS), 0),
            failure=counts.get((start, AuditEvent.Outcome.FAILURE), 0),
        )
        for start in starts
    ]


def _failure_reasons(since: dt.datetime) -> list[FailureReason]:
    rows = (
        AuditEvent.objects.filter(created_at__gte=since, outcome=AuditEvent.Outcome.FAILURE)
        # A deleted or unknown profile still counts, under the id that was asked for.
        .annotate(reference=Coalesce("profile__profile_id", "requested_profile_id"))
        .values("reference", "profile__name", "error_type")
        .annotate(n=Count("id"))
        .order_by("-n", "error_type")[:TOP_FAILURES]
    )
    return [
        FailureReason(
            profile_name=row["profile__name"] or "(no such profile)",
            profile_id=row["reference"] or "",
            error_type=row["error_type"] or "unknown",
            count=row["n"],
        )
        for row in rows
    ]


def _live_sessions(moments: list[dt.datetime]) -> list[LiveSessionsAt]:
    def live_at(moment: dt.datetime) -> Q:
        return Q(started_at__lte=moment, expires_at__gt=moment) & (
            Q(revoked_at__isnull=True) | Q(revoked_at__gt=moment)
        )

    counts = Session.objects.filter(
        expires_at__gt=moments[0], started_at__lte=moments[-1]
    ).aggregate(
        **{f"at{i}": Count("id", filter=live_at(moment)) for i, moment in enumerate(moments)}
    )
    return [LiveSessionsAt(at=m, count=counts[f"at{i}"] or 0) for i, m in enumerate(moments)]


def _jwks_profiles(now: float) -> list[JwksProfileHealth]:
    profiles = list(
        TrustedAuthTokenProfile.objects.filter(
            public_key_type=TrustedAuthTokenProfile.KeyType.JWK
        ).order_by("name")
    )
    if not profiles:
        return []
    keysets = cached_keysets(profiles)
    health = jwks_health.health_of(p.profile_id for p in profiles)
    result = []
    for profile in profiles:
        keyset = keysets.get(profile.profile_id)
        record = health[profile.profile_id]
        fetched_at = keyset.fetched_at if keyset else None
        result.append(
            JwksProfileHealth(
                profile_id=profile.profile_id,
                name=profile.name,
                jwks_url=profile.jwks_url,
                keys=len(keyset.keys) if keyset else None,
                fetched_at=dt.datetime.fromtimestamp(fetched_at, dt.UTC) if fetched_at else None,
                age_seconds=now - fetched_at if fetched_at else None,
                fresh=bool(keyset and fetched_at and is_fresh(keyset, now)),
                last_error=record.last_error if record.last_failure_at else "",
                last_failure_at=dt.datetime.fromtimestamp(record.last_failure_at, dt.UTC)
                if record.last_failure_at
                else None,
                failing=record.failing,
            )
        )
    return result


def build_overview(now: dt.datetime | None = None) -> Overview:
    """Everything the Overview page shows, for the 24 hours up to ``now``."""
    now = now or timezone.now()
    now = now.astimezone(dt.UTC)
    # 24 hourly buckets, the last one the hour in progress; live sessions at the end of each.
    first_hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=HOURS - 1)
    moments = [first_hour + dt.timedelta(hours=i) for i in range(1, HOURS)] + [now]
    return Overview(
        now=now,
        hours=_attests_per_hour(first_hour),
        failures=_failure_reasons(first_hour),
        live_sessions=_live_sessions(moments),
        signing_keys=list(
            SigningKey.objects.only(
                "kid", "state", "key_size", "algorithm", "created_at", "activated_at"
            ).order_by("-created_at")[:20]
        ),
        jwks_profiles=_jwks_profiles(time.time()),
    )
