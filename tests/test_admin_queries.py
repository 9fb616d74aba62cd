"""Admin pages stay within a fixed number of queries with 10,000 sessions and 10,000 audit
events (rows made with bulk_create, so the test stays quick)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from trusted_auth.models import (
    AuditEvent,
    Member,
    Organization,
    ProfilePublicKey,
    Session,
    UserIdentity,
)

from .issuers import SigningPair

ROWS = 10_000
# Today 6 or 7 per page: session and user, the page's count and rows, filter choices, inlines;
# a member's page adds 3 (the RBAC policy and its organization's roles, and the generation read
# again inside the admin's transaction: the process cache keeps copies only once that commits,
# which in a test it never does).
# What matters is that none of them grows with the number of rows (a page shows 100).
MAX_QUERIES = 13


@pytest.fixture
def many_rows(db, profile_factory):
    profile = profile_factory(pem_keys=[SigningPair.ec().public_pem for _ in range(5)])
    other = profile_factory(name="Other", pem_keys=[SigningPair.ec().public_pem])
    django_user = get_user_model().objects.create_user("ada", "ada@example.com")
    identity = UserIdentity.objects.create(django_user=django_user, email="ada@example.com")
    organization = Organization.objects.create(name="Acme", slug="acme")
    members = Member.objects.bulk_create(
        [Member(organization=organization, email=f"m{i}@acme.com") for i in range(100)]
    )
    now = timezone.now()
    sessions = []
    for i in range(ROWS):
        member = members[i % len(members)] if i % 2 else None
        sessions.append(
            Session(
                token_digest=f"{i:064x}",
                user=None if member else django_user,
                member=member,
                organization=organization if member else None,
                profile=profile if i % 3 else other,
                expires_at=now + timedelta(hours=1 if i % 4 else -1),
                revoked_at=now if i % 5 == 0 else None,
                authentication_factors=[{"type": "trusted_auth_token"}],
            )
        )
    Session.objects.bulk_create(sessions, batch_size=1000)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                outcome="failure" if i % 3 else "success",
                error_type="jwt_invalid_claims" if i % 3 else "",
                profile=profile if i % 2 else other,
                token_id=f"jti-{i}",
                subject=f"sub-{i}",
                user_id=identity.user_id,
                ip_address="203.0.113.7",
            )
            for i in range(ROWS)
        ],
        batch_size=1000,
    )
    return {
        "profile": profile,
        "identity": identity,
        "organization": organization,
        "member": members[1],
    }


def test_admin_pages_make_a_bounded_number_of_queries(
    admin_client, many_rows, django_assert_max_num_queries
):
    profile, organization = many_rows["profile"], many_rows["organization"]
    assert Session.objects.count() == ROWS and AuditEvent.objects.count() == ROWS
    sessions = reverse("admin:trusted_auth_session_changelist")
    events = reverse("admin:trusted_auth_auditevent_changelist")
    pages = [
        sessions,
        sessions + "?state=live",
        sessions + f"?profile__id__exact={profile.pk}&organization__id__exact={organization.pk}",
        sessions + "?q=ada%40example.com",
        sessions + f"?member__id__exact={many_rows['member'].pk}",
        events,
        events + f"?outcome__exact=failure&profile__id__exact={profile.pk}",
        events
        + "?error_type=jwt_invalid_claims&"
        + urlencode({"created_at__gte": "2000-01-01 00:00:00+00:00"}),
        events + "?q=jti-42",
        reverse("admin:trusted_auth_trustedauthtokenprofile_changelist"),
        reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[profile.pk]),
        reverse("admin:trusted_auth_organization_change", args=[organization.pk]),
        reverse("admin:trusted_auth_member_change", args=[many_rows["member"].pk]),
        reverse("admin:trusted_auth_member_changelist"),
        reverse("admin:trusted_auth_useridentity_change", args=[many_rows["identity"].pk]),
    ]
    for url in pages:
        with django_assert_max_num_queries(MAX_QUERIES, info=url):
            response = admin_client.get(url)
        assert response.status_code == 200, url
    # The inlines show the latest rows, not all 10,000.
    page = admin_client.get(
        reverse("admin:trusted_auth_organization_change", args=[organization.pk])
    ).content.decode()
    assert page.count("/admin/trusted_auth/session/") <= 25
    assert ProfilePublicKey.objects.filter(profile=profile).count() == 5
