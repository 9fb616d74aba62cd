#!/usr/bin/env python
"""Admin and authenticate timings at a million sessions on PostgreSQL (issue 13).

    .ci/pg-redis start /tmp/pg            # prints DATABASE_URL=… CACHE_URL=…
    env $(.ci/pg-redis start /tmp/pg) .venv/bin/python bench/scale_1m.py [--sessions 1000000]
    .ci/pg-redis stop /tmp/pg

Fills the database named by DATABASE_URL (PostgreSQL only: the point is the query plans at
scale) with ``--sessions`` sessions over ``--users`` users and as many audit events, with
``INSERT … SELECT generate_series`` so filling takes seconds, then prints, per page, the median
and worst of ``--repeat`` GETs of every admin session and audit list, filter and search path
(target: each under 200 ms), the median and p95 of ``POST /v1/sessions/authenticate``, and
the time of ``sessions clear-expired`` and ``audit prune`` over the expired and old rows.
It reports numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("TRUSTED_AUTH_SIGNING_KEY_SIZE", "2048")
os.environ.setdefault("TRUSTED_AUTH_THROTTLE_RATES", "attest_ip=none,authenticate_ip=none")


def fill(sessions: int, users: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM trusted_auth_session")
        if cursor.fetchone()[0] >= sessions:
            print(f"already filled: {sessions} sessions or more", flush=True)
            return
        started = time.monotonic()
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench-' || n, '', '', 'bench-' || n || '@example.com',
                   false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [users],
        )
        cursor.execute(
            """
            INSERT INTO trusted_auth_useridentity (django_user_id, user_id, email,
                external_issuer, external_id, name, status, created_at)
            SELECT id, 'user-' || md5(id::text), email, '', '', '{}', 'active', now()
            FROM auth_user WHERE username LIKE 'bench-%%'
            """
        )
        cursor.execute("SELECT id FROM trusted_auth_trustedauthtokenprofile ORDER BY id LIMIT 1")
        profile_pk = cursor.fetchone()[0]
        cursor.execute("SELECT min(id), max(id) FROM auth_user WHERE username LIKE 'bench-%%'")
        low, high = cursor.fetchone()
        # A quarter expired, a tenth revoked, the rest live; started over the last 30 days.
        cursor.execute(
            """
            INSERT INTO trusted_auth_session (session_id, token_digest, user_id, profile_id,
                authentication_factors, custom_claims, roles, ip_address, user_agent,
                started_at, last_accessed_at, expires_at, revoked_at)
            SELECT 'session-bench-' || n, md5(n::text) || md5((n + 1)::text),
                   %s + (n %% (%s - %s + 1)), %s, '[]', '{}', '[]', '10.0.0.1', 'bench',
                   now() - (n %% 43200) * interval '1 minute',
                   now() - (n %% 43200) * interval '1 minute',
                   CASE WHEN n %% 4 = 0 THEN now() - interval '1 hour'
                        ELSE now() + interval '30 days' END,
                   CASE WHEN n %% 10 = 0 THEN now() ELSE NULL END
            FROM generate_series(1, %s) AS n
            """,
            [low, high, low, profile_pk, sessions],
        )
        cursor.execute(
            """
            INSERT INTO trusted_auth_auditevent (created_at, action, outcome, error_type,
                error_message, profile_id, requested_profile_id, token_id, subject, user_id,
                organization_id, session_id, ip_address, user_agent)
            SELECT now() - (n %% 525600) * interval '1 minute', 'attest',
                   CASE WHEN n %% 5 = 0 THEN 'failure' ELSE 'success' END,
                   CASE WHEN n %% 5 = 0 THEN 'jwt_invalid_audience' ELSE '' END, '',
                   %s, '', 'jti-' || n, 'sub-' || (n %% 50000), '', '', 'session-bench-' || n,
                   '10.0.0.1', 'bench'
            FROM generate_series(1, %s) AS n
            """,
            [profile_pk, sessions],
        )
        cursor.execute("ANALYZE")
    print(f"filled {sessions} sessions and audit events in {time.monotonic() - started:.1f} s")


def timed(call, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{name:<58} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--authenticate-calls", type=int, default=200)
    parser.add_argument("--skip-cleanup", action="store_true", help="keep the expired rows")
    options = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from trusted_auth.audit.maintenance import prune_audit_events
    from trusted_auth.models import Session, TrustedAuthTokenProfile
    from trusted_auth.sessions.lifecycle import clear_expired_sessions
    from trusted_auth.sessions.secrets import create_secret
    from trusted_auth.sessions.sessions import start_session

    if connection.vendor != "postgresql":
        sys.exit("bench/scale_1m.py needs DATABASE_URL=postgres://… (see its docstring)")
    call_command("migrate", verbosity=0)
    if not TrustedAuthTokenProfile.objects.exists():
        TrustedAuthTokenProfile.objects.create(
            name="bench",
            issuer="https://issuer.bench",
            audience="bench",
            public_key_type=TrustedAuthTokenProfile.KeyType.JWK,
            jwks_url="https://issuer.bench/jwks.json",
            attribute_mapping={"email": "email", "token_id": "jti"},
        )
    fill(options.sessions, options.users)

    admin_user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin_user)
    profile = TrustedAuthTokenProfile.objects.order_by("id").first()
    some = Session.objects.order_by().filter(user__isnull=False).first()
    email = some.user.trusted_auth_identity.email
    pages = {
        "sessions: list": "/admin/trusted_auth/session/",
        "sessions: page 50": "/admin/trusted_auth/session/?p=50",
        "sessions: state=live": "/admin/trusted_auth/session/?state=live",
        "sessions: state=expired": "/admin/trusted_auth/session/?state=expired",
        "sessions: state=revoked": "/admin/trusted_auth/session/?state=revoked",
        "sessions: profile filter": f"/admin/trusted_auth/session/?profile__id__exact={profile.pk}",
        "sessions: search exact session id": f"/admin/trusted_auth/session/?q={some.session_id}",
        "sessions: search email": f"/admin/trusted_auth/session/?q={email}",
        "sessions: one session": f"/admin/trusted_auth/session/{some.pk}/change/",
        "audit: list": "/admin/trusted_auth/auditevent/",
        "audit: outcome=failure": "/admin/trusted_auth/auditevent/?outcome__exact=failure",
        "audit: error type": "/admin/trusted_auth/auditevent/?error_type=jwt_invalid_audience",
        "audit: profile filter": f"/admin/trusted_auth/auditevent/?profile__id__exact={profile.pk}",
        "audit: search subject": "/admin/trusted_auth/auditevent/?q=sub-4242",
        "audit: past 7 days": "/admin/trusted_auth/auditevent/?created_at__gte="
        + time.strftime("%Y-%m-%d+00:00:00%%2B00:00", time.gmtime(time.time() - 7 * 86400)),
    }
    print(
        f"\nadmin pages ({Session.objects.count()} sessions), {options.repeat} GETs each "
        "(whole page; then the SQL part of one GET: what the indexes decide):"
    )
    for name, url in pages.items():
        status = client.get(url).status_code  # warm
        if status != 200:
            print(f"{name:<58} HTTP {status}")
            continue
        report(name, timed(lambda url=url: client.get(url), options.repeat))
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"{'':<58} SQL    {sql_ms:7.1f} ms in {len(queries)} queries", flush=True)

    secret = create_secret("bench scale").clear_text
    project_id = os.environ.get("TRUSTED_AUTH_PROJECT_ID", "project-test-example")
    credentials = base64.b64encode(f"{project_id}:{secret}".encode()).decode()
    _, session_token = start_session(
        profile=profile,
        token_id="bench",
        minutes=60,
        custom_claims=None,
        roles=[],
        ip_address=None,
        user_agent="bench",
        user=some.user,
    )
    api = Client(HTTP_AUTHORIZATION=f"Basic {credentials}")

    def authenticate() -> None:
        response = api.post(
            "/v1/sessions/authenticate",
            {"session_token": session_token},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content

    authenticate()
    print()
    report(
        f"authenticate by session token ({options.authenticate_calls} calls)",
        timed(authenticate, options.authenticate_calls),
    )
    if options.skip_cleanup:
        return
    print()
    began = time.monotonic()
    deleted = clear_expired_sessions(batch_size=1000)
    print(f"sessions clear-expired: {deleted} rows in {time.monotonic() - began:.1f} s")
    began = time.monotonic()
    pruned = prune_audit_events(older_than_days=180, batch_size=1000)
    print(f"audit prune --older-than 180: {pruned} rows in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
