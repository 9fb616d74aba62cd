"""A deleted user or member must not get a new session (DESIGN.md §5: "deleted members or
identities are refused everywhere"). Deleting one through the API revokes its sessions today;
refusing its *next* attest belongs to the attest resolvers (the lead's rewrite, issues 12/13).
These tests are strict xfails until then: when the resolvers refuse, they pass, the strict
marker fails the run, and the marker is removed."""

from __future__ import annotations

import pytest

from trusted_auth.models import Session
from trusted_auth.services import organizations, users

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xfail(
        strict=True, reason="attest resolvers do not refuse deleted identities yet (lead lane)"
    ),
]


def test_a_deleted_user_gets_no_new_session(api, pem_profile, token_factory):
    identity = users.create_user(email="gone@example.com")
    users.delete_user(identity.user_id)

    response = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(email="gone@example.com"),
            "session_duration_minutes": 60,
        },
        format="json",
    )

    assert response.status_code == 404 and response.json()["error_type"] == "user_not_found"
    assert not Session.objects.exists()


def test_a_deleted_member_gets_no_new_session(api, pem_profile, token_factory):
    organization = organizations.create_organization(name="Gone Org")
    member = organizations.create_member(organization=organization, email="gone@org.example")
    organizations.delete_member(organization, member.member_id)

    response = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(email="gone@org.example"),
            "organization_id": organization.organization_id,
        },
        format="json",
    )

    assert response.status_code == 404 and response.json()["error_type"] == "member_not_found"
    assert not Session.objects.exists()
