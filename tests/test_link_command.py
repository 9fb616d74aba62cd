"""``identity_link_required`` names the exact ``identity link`` command for the profile and the
token it refused, and that command, run as written, lets the same token's issuer in (issue 30).

The case a newcomer hits: the demo's user has a link from the demo's issuer; the Quickstart's
profile (another issuer) keys links by ``sub``, so linking by email does not help, only
``--external-id <sub>`` does.
"""

from __future__ import annotations

import re
import shlex
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import IdentityLink, Session, UserIdentity
from trusted_auth.models.identities import ProvisionedBy

from .issuers import ISSUER
from .test_attest_rejections import assert_rejected, post_attest
from .test_b2b import B2B_MAPPING, post_b2b

EMAIL = "ada.lovelace@example.com"
SUB_MAPPING = {"email": "email", "token_id": "jti", "external_user_id": "sub"}
COMMAND = re.compile(r"manage\.py trusted_auth identity link [^\n]*?(?=$|;)")


def linked_elsewhere() -> UserIdentity:
    """The demo's user: JIT-created through another issuer, linked to it by its ``sub``."""
    user = get_user_model().objects.create_user("ada", EMAIL)
    identity = UserIdentity.objects.create(
        django_user=user, email=EMAIL, provisioned_by=ProvisionedBy.JIT
    )
    IdentityLink.objects.create(
        issuer="https://127.0.0.1:8000",
        kind="external_id",
        subject="demo-user",
        identity=identity,
        origin="jit",
    )
    return identity


def the_command(message: str) -> list[str]:
    """The one ``identity link`` command in ``message``, as the shell would split it."""
    found = COMMAND.findall(message)
    assert len(found) == 1, message
    argv = shlex.split(found[0])
    assert argv[:4] == ["manage.py", "trusted_auth", "identity", "link"], argv
    return argv[1:]


def run(argv: list[str]) -> None:
    call_command(*argv, stdout=StringIO(), stderr=StringIO())


def test_a_profile_keyed_by_sub_names_the_external_id_and_the_command_works(
    api, profile_factory, signer, token_factory
):
    identity = linked_elsewhere()
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING)

    response = post_attest(
        api,
        profile.profile_id,
        token_factory(sub="user_123456", email=EMAIL),
        session_duration_minutes=60,
    )
    assert_rejected(response, 403, "identity_link_required")
    argv = the_command(response.json()["error_message"])
    assert argv[3:] == [
        "--email",
        EMAIL,
        "--issuer",
        ISSUER,
        "--external-id",
        "user_123456",
    ]

    run(argv)
    response = post_attest(
        api,
        profile.profile_id,
        token_factory(sub="user_123456", email=EMAIL),
        session_duration_minutes=60,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["user_id"] == identity.user_id
    assert Session.objects.get().user == identity.django_user


def test_the_email_only_command_does_not_help_a_profile_keyed_by_sub(
    api, profile_factory, signer, token_factory
):
    """Why the message must say ``--external-id``: the email link is not the key it looks up."""
    linked_elsewhere()
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING)
    run(["trusted_auth", "identity", "link", "--email", EMAIL, "--issuer", ISSUER])
    response = post_attest(
        api,
        profile.profile_id,
        token_factory(sub="user_123456", email=EMAIL),
        session_duration_minutes=60,
    )
    assert_rejected(response, 403, "identity_link_required")
    assert "--external-id user_123456" in response.json()["error_message"]


def test_a_profile_keyed_by_email_names_no_external_id(api, profile_factory, signer, token_factory):
    get_user_model().objects.create_user("ada", EMAIL, "pw")
    profile = profile_factory(pem_keys=[signer.public_pem])

    response = post_attest(
        api, profile.profile_id, token_factory(email=EMAIL), session_duration_minutes=60
    )
    assert_rejected(response, 403, "identity_link_required")
    argv = the_command(response.json()["error_message"])
    assert argv[3:] == ["--email", EMAIL, "--issuer", ISSUER]

    run(argv)
    response = post_attest(
        api, profile.profile_id, token_factory(email=EMAIL), session_duration_minutes=60
    )
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    "flags", [{"is_staff": True}, {"is_active": False}], ids=["staff", "inactive"]
)
def test_an_account_never_linked_automatically_names_the_same_command(
    api, profile_factory, signer, token_factory, flags
):
    get_user_model().objects.create_user("ada", EMAIL, "pw", **flags)
    profile = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING, link_policy="email"
    )
    response = post_attest(
        api, profile.profile_id, token_factory(sub="s-1", email=EMAIL), session_duration_minutes=60
    )
    assert_rejected(response, 403, "identity_link_required")
    argv = the_command(response.json()["error_message"])
    assert argv[3:] == ["--email", EMAIL, "--issuer", ISSUER, "--external-id", "s-1"]
    run(argv)
    response = post_attest(
        api, profile.profile_id, token_factory(sub="s-1", email=EMAIL), session_duration_minutes=60
    )
    if flags.get("is_active") is False:
        assert_rejected(response, 403, "user_inactive")  # linked; still may not sign in
    else:
        assert response.status_code == 200, response.json()


def test_a_member_is_named_by_its_member_id(api, profile_factory, signer, token_factory):
    organization = create_organization(name="Acme", slug="acme")
    member = create_member(organization=organization, email=EMAIL)
    IdentityLink.objects.create(
        issuer="https://other-issuer.test",
        kind="external_id",
        subject="m-0",
        member=member,
        organization=organization,
        origin="jit",
    )
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        attribute_mapping={**B2B_MAPPING, "external_member_id": "sub"},
    )
    token = token_factory(sub="m-1", email=EMAIL)
    response = post_b2b(
        api, profile.profile_id, token, organization_id=organization.organization_id
    )
    assert_rejected(response, 403, "identity_link_required")
    argv = the_command(response.json()["error_message"])
    assert argv[3:] == ["--member-id", member.member_id, "--issuer", ISSUER, "--external-id", "m-1"]

    run(argv)
    response = post_b2b(
        api,
        profile.profile_id,
        token_factory(sub="m-1", email=EMAIL),
        organization_id=organization.organization_id,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["member_id"] == member.member_id
