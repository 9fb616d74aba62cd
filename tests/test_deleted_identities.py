"""A deleted user or member must not get a new session (DESIGN.md §5: "deleted members or
identities are refused everywhere"): deleting one through the API revokes its sessions, and the
attest resolvers refuse its next token."""

from __future__ import annotations

import pytest

from trusted_auth.identities import organizations, users
from trusted_auth.models import Session

pytestmark = pytest.mark.django_db


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
