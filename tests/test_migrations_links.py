"""Upgrading: the identities made before links existed keep reaching their users, and only
through the issuers that vouched for them (migration 0007)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from trusted_auth.models import IdentityLink, Member, UserIdentity

BEFORE = [("trusted_auth", "0006_identity_links_consumed_tokens")]


@pytest.fixture
def old_state(transactional_db):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("trusted_auth")
    executor.migrate(BEFORE)
    try:
        yield executor.loader.project_state(BEFORE).apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)


def test_old_identities_become_links_and_never_signed_in_ones_stay_claimable(old_state):
    apps = old_state
    User = apps.get_model("auth", "User")
    Identity = apps.get_model("trusted_auth", "UserIdentity")
    Profile = apps.get_model("trusted_auth", "TrustedAuthTokenProfile")
    Event = apps.get_model("trusted_auth", "AuditEvent")
    Organization = apps.get_model("trusted_auth", "Organization")
    OldMember = apps.get_model("trusted_auth", "Member")
    mapping = {"email": "email", "token_id": "jti"}
    Profile.objects.create(
        name="sub",
        issuer="https://a.test",
        audience="x",
        public_key_type="PEM",
        attribute_mapping={**mapping, "external_user_id": "sub"},
    )
    by_email = Profile.objects.create(
        name="email",
        issuer="https://b.test",
        audience="x",
        public_key_type="PEM",
        attribute_mapping=mapping,
    )
    b2b = Profile.objects.create(
        name="b2b",
        issuer="https://c.test",
        audience="x",
        public_key_type="PEM",
        attribute_mapping={**mapping, "external_member_id": "sub", "organization_id": "org"},
    )
    ext = Identity.objects.create(
        django_user=User.objects.create(username="u1", email="one@example.com"),
        user_id="user-1",
        email="one@example.com",
        external_issuer="https://a.test",
        external_id="sub-1",
    )
    Identity.objects.create(
        django_user=User.objects.create(username="u2", email="two@example.com"),
        user_id="user-2",
        email="Two@Example.com",
    )
    Event.objects.create(outcome="success", profile=by_email, user_id="user-2")
    Identity.objects.create(
        django_user=User.objects.create(username="u3", email="three@example.com"),
        user_id="user-3",
        email="three@example.com",
    )
    organization = Organization.objects.create(name="Acme", slug="acme")
    OldMember.objects.create(
        organization=organization, member_id="member-1", email="m@example.com", external_id="m-1"
    )
    Event.objects.create(outcome="success", profile=b2b, user_id="member-1", action="b2b_attest")
    OldMember.objects.create(organization=organization, member_id="member-2", email="n@example.com")

    MigrationExecutor(connection).migrate(
        MigrationExecutor(connection).loader.graph.leaf_nodes("trusted_auth")
    )

    links = {
        (link.issuer, link.kind, link.subject): (link.identity_id and link.identity.user_id)
        or link.member.member_id
        for link in IdentityLink.objects.all()
    }
    assert links == {
        ("https://a.test", "external_id", "sub-1"): "user-1",
        ("https://b.test", "email", "two@example.com"): "user-2",
        ("https://c.test", "external_id", "m-1"): "member-1",
    }
    assert set(IdentityLink.objects.values_list("origin", flat=True)) == {"migration"}
    provisioned = dict(UserIdentity.objects.values_list("user_id", "provisioned_by"))
    assert provisioned == {"user-1": "jit", "user-2": "jit", "user-3": "operator"}
    assert dict(Member.objects.values_list("member_id", "provisioned_by")) == {
        "member-1": "jit",
        "member-2": "operator",
    }
    assert UserIdentity.objects.get(user_id="user-1").external_id == "sub-1"
    assert ext.pk
