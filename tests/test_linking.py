"""Who a verified token signs in as (issue 12; docs/concepts.md "Who a token signs in as").

The decision table: the issuer's link state × the kind of account that already has the token's
email × the profile's link policy × whether the token proves the email verified → what the
client sees and which rows exist. Then each abuse the issue reports, as a test that fails on the
code before links existed, the adapter seam and the Django backend.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from trusted_auth.adapter import DefaultTrustedAuthAdapter
from trusted_auth.errors import TrustedAuthError
from trusted_auth.identities.links import LinkKey, UserAccounts, linked_identity_query
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import AuditEvent, IdentityLink, Member, Session, UserIdentity
from trusted_auth.models.identities import ProvisionedBy

from .issuers import DROP, SigningPair
from .test_attest_rejections import assert_rejected, post_attest
from .test_b2b import B2B_MAPPING, post_b2b
from .test_cli import run_failing
from .test_session_lookup import values

EMAIL = "ada@example.com"
SUB_MAPPING = {"email": "email", "token_id": "jti", "external_user_id": "sub"}
OTHER_ISSUER = "https://other-issuer.test"

# --- the decision table --------------------------------------------------------------------

# What already has the token's email when this issuer has no link to anyone with it.
KINDS = ("nobody", "plain", "other_issuer", "pre_provisioned", "staff", "superuser", "inactive")
POLICIES = ("none", "verified_email", "email")
# The outcome per (policy, email verified): "created" (JIT made a new account), "same" (the
# existing account, now linked), or the error_type refused with.
LINK = "identity_link_required"
TABLE: dict[str, dict[tuple[str, bool], str]] = {
    "nobody": {(policy, verified): "created" for policy in POLICIES for verified in (True, False)},
    "plain": {
        ("none", True): LINK,
        ("none", False): LINK,
        ("verified_email", True): "same",
        ("verified_email", False): LINK,
        ("email", True): "same",
        ("email", False): "same",
    },
    "other_issuer": {
        ("none", True): LINK,
        ("none", False): LINK,
        ("verified_email", True): "same",
        ("verified_email", False): LINK,
        ("email", True): "same",
        ("email", False): "same",
    },
    "pre_provisioned": {
        (policy, verified): "same" for policy in POLICIES for verified in (True, False)
    },
    "staff": {(policy, verified): LINK for policy in POLICIES for verified in (True, False)},
    "superuser": {(policy, verified): LINK for policy in POLICIES for verified in (True, False)},
    "inactive": {(policy, verified): LINK for policy in POLICIES for verified in (True, False)},
}
ROWS = [
    pytest.param(kind, policy, verified, TABLE[kind][policy, verified], id=f"{kind}-{policy}-{v}")
    for kind in KINDS
    for policy in POLICIES
    for verified, v in ((True, "verified"), (False, "unverified"))
]


def make_existing(kind: str):
    """An account with ``EMAIL`` of the given kind, or None for ``nobody``."""
    users = get_user_model().objects
    if kind == "nobody":
        return None
    if kind == "pre_provisioned":
        user = users.create_user("ada-op", EMAIL)
        return UserIdentity.objects.create(
            django_user=user, email=EMAIL, provisioned_by=ProvisionedBy.OPERATOR
        )
    if kind == "other_issuer":
        user = users.create_user("ada-b", EMAIL)
        identity = UserIdentity.objects.create(
            django_user=user, email=EMAIL, provisioned_by=ProvisionedBy.JIT
        )
        IdentityLink.objects.create(
            issuer=OTHER_ISSUER, kind="external_id", subject="b-1", identity=identity, origin="jit"
        )
        return identity
    flags = {
        "plain": {},
        "staff": {"is_staff": True},
        "superuser": {"is_staff": True, "is_superuser": True},
        "inactive": {"is_active": False},
    }[kind]
    return users.create_user(f"ada-{kind}", EMAIL.upper(), **flags)


def user_of(existing):
    return getattr(existing, "django_user", existing)


@pytest.mark.parametrize(("kind", "policy", "verified", "outcome"), ROWS)
def test_decision_table_for_an_issuer_with_no_link(
    api, profile_factory, signer, token_factory, kind, policy, verified, outcome
):
    existing = make_existing(kind)
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        attribute_mapping=SUB_MAPPING,
        can_jit_provision=True,
        link_policy=policy,
    )
    users_before = get_user_model().objects.count()
    claims = {"sub": "a-1", "email_verified": True if verified else DROP}
    response = post_attest(
        api, profile.profile_id, token_factory(**claims), session_duration_minutes=60
    )
    if outcome in ("created", "same"):
        assert response.status_code == 200, response.json()
        identity = UserIdentity.objects.get(user_id=response.json()["user_id"])
        if outcome == "same":
            assert identity.django_user == user_of(existing)
            assert get_user_model().objects.count() == users_before
        else:
            assert get_user_model().objects.count() == users_before + 1
        link = identity.links.get(issuer=profile.issuer)
        assert (link.kind, link.subject) == ("external_id", "a-1")
        expected_origin = {"created": "jit", "same": "claimed"}[outcome]
        if kind in ("plain", "other_issuer"):
            expected_origin = "policy"
        assert link.origin == expected_origin
        assert Session.objects.get().user == identity.django_user
    else:
        assert_rejected(response, 403, outcome)
        assert get_user_model().objects.count() == users_before
        assert not IdentityLink.objects.filter(issuer=profile.issuer).exists()


@pytest.mark.parametrize("kind", ["plain", "staff", "superuser"])
@pytest.mark.parametrize("policy", POLICIES)
def test_a_linked_account_is_reached_under_every_policy(
    api, profile_factory, signer, token_factory, kind, policy
):
    """Once this issuer is linked (here by an operator, the only way for staff), the link
    decides, whatever the policy."""
    profile = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING, link_policy=policy
    )
    user = make_existing(kind)
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL)
    IdentityLink.objects.create(
        issuer=profile.issuer,
        kind="external_id",
        subject="a-1",
        identity=identity,
        origin="operator",
    )
    response = post_attest(
        api, profile.profile_id, token_factory(sub="a-1", email="new@example.com")
    )
    assert response.status_code == 200, response.json()
    assert response.json()["user_id"] == identity.user_id


def test_a_linked_inactive_user_is_refused(api, profile_factory, signer, token_factory):
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING)
    user = make_existing("inactive")
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL)
    IdentityLink.objects.create(
        issuer=profile.issuer, kind="external_id", subject="a-1", identity=identity, origin="jit"
    )
    response = post_attest(api, profile.profile_id, token_factory(sub="a-1"))
    assert_rejected(response, 403, "user_inactive", "inactive")


def test_no_account_and_no_jit_is_user_not_found(api, profile_factory, signer, token_factory):
    profile = profile_factory(pem_keys=[signer.public_pem], link_policy="email")
    assert_rejected(post_attest(api, profile.profile_id, token_factory()), 404, "user_not_found")


def test_a_pre_provisioned_identity_with_an_external_id_is_claimed_only_by_that_id(
    api, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING)
    user = get_user_model().objects.create_user("ada-op", EMAIL)
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL, external_id="crm-7")
    wrong = post_attest(api, profile.profile_id, token_factory(sub="someone-else"))
    assert_rejected(wrong, 403, LINK)
    right = post_attest(api, profile.profile_id, token_factory(sub="crm-7"))
    assert right.status_code == 200, right.json()
    assert right.json()["user_id"] == identity.user_id
    # Claimed: a second issuer now meets a linked identity, and the policy decides.
    other = SigningPair.rsa()
    second = profile_factory(
        pem_keys=[other.public_pem], issuer=OTHER_ISSUER, attribute_mapping=SUB_MAPPING
    )
    again = post_attest(
        api, second.profile_id, token_factory(key=other, iss=OTHER_ISSUER, sub="crm-7")
    )
    assert_rejected(again, 403, LINK)


def test_an_email_keyed_profile_links_by_issuer_and_email(
    api, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)
    first = post_attest(api, profile.profile_id, token_factory(email="Ada@Example.com"))
    assert first.status_code == 200, first.json()
    link = IdentityLink.objects.get()
    assert (link.issuer, link.kind, link.subject) == (profile.issuer, "email", EMAIL)
    second = post_attest(api, profile.profile_id, token_factory(email=EMAIL))
    assert second.json()["user_id"] == first.json()["user_id"]


# --- the abuses issue 12 reports -----------------------------------------------------------


def test_case_1_a_superusers_email_does_not_sign_in_as_the_superuser(
    api, profile_factory, signer, token_factory
):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    for policy in POLICIES:
        profile = profile_factory(
            pem_keys=[signer.public_pem], link_policy=policy, name=f"p-{policy}"
        )
        response = post_attest(
            api,
            profile.profile_id,
            token_factory(email="root@example.com", email_verified=True),
            session_duration_minutes=60,
        )
        assert_rejected(response, 403, LINK, "staff or superuser")
    assert not UserIdentity.objects.filter(django_user=admin).exists()


def test_case_1_the_browser_flow_cannot_open_the_admin_for_a_superuser_email(
    profile_factory, signer, token_factory
):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    profile = profile_factory(pem_keys=[signer.public_pem], link_policy="email")
    browser = Client(enforce_csrf_checks=False)
    response = browser.post(
        "/browser/exchange",
        {"profile_id": profile.profile_id, "token": token_factory(email="root@example.com")},
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error_type"] == LINK
    assert browser.get("/admin/").status_code == 302  # to the login page


def test_case_2_another_issuer_cannot_take_over_an_account_by_email(
    api, profile_factory, signer, token_factory
):
    """nOAuth: issuer B presents the victim's email with its own subject."""
    profile_a = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING, can_jit_provision=True
    )
    victim = post_attest(api, profile_a.profile_id, token_factory(sub="victim-at-a")).json()
    other = SigningPair.rsa()
    profile_b = profile_factory(
        pem_keys=[other.public_pem],
        issuer=OTHER_ISSUER,
        name="B",
        attribute_mapping=SUB_MAPPING,
        can_jit_provision=True,
    )
    response = post_attest(
        api,
        profile_b.profile_id,
        token_factory(key=other, iss=OTHER_ISSUER, sub="attacker-at-b"),
        session_duration_minutes=60,
    )
    event = assert_rejected(response, 403, LINK)
    assert event.user_id == ""
    assert "user_id" not in response.json()
    assert not Session.objects.filter(user__trusted_auth_identity__user_id=victim["user_id"])


def test_case_3_an_inactive_user_can_neither_attest_nor_use_its_live_session(
    api, profile_factory, signer, token_factory, settings
):
    profile = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)
    started = post_attest(
        api, profile.profile_id, token_factory(), session_duration_minutes=60
    ).json()
    user = get_user_model().objects.get()
    user.is_active = False
    user.save()
    refused = post_attest(api, profile.profile_id, token_factory(), session_duration_minutes=60)
    assert_rejected(refused, 403, "user_inactive", sessions=1)
    authenticate = api.post(
        "/v1/sessions/authenticate", {"session_token": started["session_token"]}, format="json"
    )
    assert authenticate.status_code == 404 and authenticate.json()["error_type"] == (
        "session_not_found"
    )
    listed = api.get("/v1/sessions", {"user_id": started["user_id"]}).json()
    assert listed["sessions"] == []
    bearer = APIClient()
    for credential in (started["session_token"], started["session_jwt"]):
        bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
        assert bearer.get("/example/whoami").status_code == 401
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BEARER_CHECK_REVOCATION": True}
    assert bearer.get("/example/whoami").status_code == 401


def test_case_4_a_deleted_member_or_identity_cannot_attest(
    api, profile_factory, signer, token_factory
):
    organization = create_organization(name="Acme")
    member = create_member(organization=organization, email=EMAIL)
    b2b = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=B2B_MAPPING, name="b2b")
    token = token_factory(org=organization.organization_id)
    started = post_b2b(api, b2b.profile_id, token).json()
    member.status = "deleted"
    member.save()
    refused = post_b2b(api, b2b.profile_id, token_factory(org=organization.organization_id))
    assert_rejected(refused, 404, "member_not_found", "deleted", sessions=1)
    authenticate = api.post(
        "/v1/b2b/sessions/authenticate", {"session_token": started["session_token"]}, format="json"
    )
    assert authenticate.status_code == 404

    consumer = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True, name="c")
    assert post_attest(api, consumer.profile_id, token_factory()).status_code == 200
    UserIdentity.objects.update(status="deleted")
    assert_rejected(
        post_attest(api, consumer.profile_id, token_factory()),
        404,
        "user_not_found",
        "deleted",
        sessions=1,
    )


@pytest.mark.parametrize(
    ("flag", "accepted"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (False, False),
        ("false", False),
        ("False", False),
        (0, False),
        ("0", False),
        (1, False),
        ("yes", False),
    ],
)
def test_case_5_email_verified_has_one_exact_rule(
    api, profile_factory, signer, token_factory, flag, accepted
):
    profile = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)
    response = post_attest(api, profile.profile_id, token_factory(email_verified=flag))
    if accepted:
        assert response.status_code == 200, response.json()
    else:
        assert_rejected(response, 401, "jwt_invalid_claims", "not verified")


def test_case_5_the_flag_beside_a_nested_email_is_checked(
    api, profile_factory, signer, token_factory
):
    mapping = {"email": "user_metadata.email", "token_id": "jti"}
    profile = profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=True, attribute_mapping=mapping
    )
    nested = {"email": EMAIL, "email_verified": "False"}
    response = post_attest(api, profile.profile_id, token_factory(user_metadata=nested))
    assert_rejected(response, 401, "jwt_invalid_claims", "not verified")
    nested["email_verified"] = True
    accepted = post_attest(api, profile.profile_id, token_factory(user_metadata=nested))
    assert accepted.status_code == 200, accepted.json()


def test_case_5_a_mapped_verification_claim_and_a_required_verified_email(
    api, profile_factory, signer, token_factory
):
    mapping = {"email": "email", "token_id": "jti", "email_verified": "ext.verified"}
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping=mapping,
        require_verified_email=True,
    )
    missing = post_attest(api, profile.profile_id, token_factory(email_verified=True))
    assert_rejected(missing, 401, "jwt_invalid_claims", "requires a verified email")
    refused = post_attest(api, profile.profile_id, token_factory(ext={"verified": "0"}))
    assert_rejected(refused, 401, "jwt_invalid_claims", "not verified")
    ok = post_attest(api, profile.profile_id, token_factory(ext={"verified": "True"}))
    assert ok.status_code == 200, ok.json()


HUGE = 10**400


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": HUGE}, id="exp-10e400"),
        pytest.param({"iat": HUGE}, id="iat-10e400"),
        pytest.param({"nbf": HUGE}, id="nbf-10e400"),
        pytest.param({"exp": -(HUGE)}, id="exp-minus-10e400"),
        pytest.param({"exp": 1e30}, id="exp-float-1e30"),
    ],
)
def test_case_6_huge_numbers_in_time_claims_are_a_400_everywhere(
    api, pem_profile, token_factory, admin_client, claims
):
    token = token_factory(**claims)
    response = post_attest(api, pem_profile.profile_id, token)
    event = assert_rejected(response, 400, "jwt_invalid_claims", "at most")
    assert event.outcome == "failure"
    # profile test (CLI): a clear error on stderr, exit status 1, no traceback.
    out, error = run_failing(
        "profile", "test", "--profile-id", pem_profile.profile_id, "--token", token
    )
    assert "jwt_invalid_claims" in error and json.loads(out)["passed"] is False
    # The admin's test page shows the failing step instead of a 500.
    url = f"/admin/trusted_auth/trustedauthtokenprofile/{pem_profile.pk}/test-token/"
    page = admin_client.post(url, {"token": token})
    assert page.status_code == 200
    assert b"at most" in page.content


# --- the adapter seam ----------------------------------------------------------------------


class VetoingAdapter(DefaultTrustedAuthAdapter):
    """A host rule: nobody from example.org, and new users get a marker in their first name."""

    def pre_sign_in(self, profile, attributes, principal):
        if attributes["email"].endswith("@example.org"):
            raise TrustedAuthError(
                "example.org may not sign in", error_type="domain_blocked", status_code=403
            )

    def populate_user(self, user, attributes):
        super().populate_user(user, attributes)
        user.first_name = "from-adapter"


class LinkEveryoneAdapter(DefaultTrustedAuthAdapter):
    def may_link(self, profile, attributes, *, user, claimable):
        return IdentityLink.Origin.POLICY


def test_a_custom_adapter_vetoes_and_populates(api, pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ADAPTER": f"{__name__}.VetoingAdapter"}
    vetoed = post_attest(api, pem_profile.profile_id, token_factory(email="eve@example.org"))
    assert_rejected(vetoed, 403, "domain_blocked")
    # The veto ran inside the transaction: the JIT user it would have signed in is gone too.
    assert get_user_model().objects.count() == 0
    ok = post_attest(api, pem_profile.profile_id, token_factory())
    assert ok.status_code == 200, ok.json()
    assert get_user_model().objects.get().first_name == "from-adapter"


def test_a_custom_adapter_can_change_the_link_policy(
    api, profile_factory, signer, token_factory, settings
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ADAPTER": f"{__name__}.LinkEveryoneAdapter"}
    existing = get_user_model().objects.create_user("ada", EMAIL)
    profile = profile_factory(pem_keys=[signer.public_pem])
    response = post_attest(api, profile.profile_id, token_factory())
    assert response.status_code == 200, response.json()
    assert UserIdentity.objects.get().django_user == existing


# --- B2B: the same rules inside an organization --------------------------------------------


def test_b2b_a_pre_created_member_is_claimed_and_a_jit_member_is_not_reached_by_another_issuer(
    api, profile_factory, signer, token_factory
):
    organization = create_organization(name="Acme")
    pre_created = create_member(organization=organization, email="bob@example.com")
    mapping = {**B2B_MAPPING, "external_member_id": "sub"}
    profile_a = profile_factory(
        pem_keys=[signer.public_pem], attribute_mapping=mapping, can_jit_provision=True
    )
    org = organization.organization_id
    claimed = post_b2b(api, profile_a.profile_id, token_factory(email="bob@example.com", org=org))
    assert claimed.status_code == 200, claimed.json()
    assert claimed.json()["member_id"] == pre_created.member_id
    jit = post_b2b(api, profile_a.profile_id, token_factory(sub="a-carol", email=EMAIL, org=org))
    assert jit.status_code == 200, jit.json()
    other = SigningPair.rsa()
    profile_b = profile_factory(
        pem_keys=[other.public_pem],
        issuer=OTHER_ISSUER,
        name="B",
        attribute_mapping=mapping,
        can_jit_provision=True,
    )
    taken = post_b2b(
        api, profile_b.profile_id, token_factory(key=other, iss=OTHER_ISSUER, sub="b-x", org=org)
    )
    assert_rejected(taken, 403, LINK, sessions=2)
    assert Member.objects.count() == 2


# --- the Django backend of the browser flow ----------------------------------------------


def test_the_browser_flow_logs_in_through_our_backend_and_an_inactive_user_is_logged_out(
    pem_profile, token_factory
):
    browser = Client()
    response = browser.post(
        "/browser/exchange", {"profile_id": pem_profile.profile_id, "token": token_factory()}
    )
    assert response.status_code == 200, response.json()
    assert browser.session["_auth_user_backend"] == "trusted_auth.backends.TrustedAuthBackend"
    user = get_user_model().objects.get()
    assert int(browser.session["_auth_user_id"]) == user.pk
    user.is_active = False
    user.save()
    # The next request sees an anonymous visitor: the backend refuses inactive users.
    assert browser.get("/admin/").status_code == 302


# --- operators link explicitly -------------------------------------------------------------


def run_cli(*args: str) -> str:
    out = StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_an_operator_links_a_staff_user_explicitly_and_it_is_audited(
    api, profile_factory, signer, token_factory
):
    staff = get_user_model().objects.create_user("ops", EMAIL, is_staff=True)
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=SUB_MAPPING)
    refused = post_attest(api, profile.profile_id, token_factory(sub="ops-1"))
    assert_rejected(refused, 403, LINK)
    linked = json.loads(
        run_cli(
            "identity",
            "link",
            "--email",
            EMAIL,
            "--issuer",
            profile.issuer,
            "--external-id",
            "ops-1",
        )
    )
    assert linked["origin"] == "operator"
    event = AuditEvent.objects.filter(action="identity_link").get()
    assert event.outcome == "success" and event.user_id == linked["user_id"]
    response = post_attest(api, profile.profile_id, token_factory(sub="ops-1"))
    assert response.status_code == 200, response.json()
    assert UserIdentity.objects.get(user_id=response.json()["user_id"]).django_user == staff
    listed = json.loads(run_cli("identity", "list", "--user-id", linked["user_id"]))
    assert [link["subject"] for link in listed] == ["ops-1"]
    run_cli(
        "identity",
        "unlink",
        "--user-id",
        linked["user_id"],
        "--issuer",
        profile.issuer,
        "--external-id",
        "ops-1",
    )
    assert AuditEvent.objects.filter(action="identity_unlink", outcome="success").count() == 1
    assert_rejected(post_attest(api, profile.profile_id, token_factory(sub="ops-1")), 403, LINK)


def test_the_link_policy_is_set_from_the_cli_and_shown(signer, tmp_path, db):
    pem = tmp_path / "key.pem"
    pem.write_text(signer.public_pem)
    created = json.loads(
        run_cli(
            "profile",
            "create",
            "--name",
            "Own signer",
            "--issuer",
            "https://signer.test",
            "--audience",
            "api",
            "--pem-file",
            str(pem),
            "--map",
            "email=email",
            "--map",
            "token_id=jti",
            "--link-policy",
            "email",
            "--require-verified-email",
        )
    )
    assert created["link_policy"] == "email" and created["require_verified_email"] is True
    updated = json.loads(
        run_cli(
            "profile",
            "update",
            "--profile-id",
            created["profile_id"],
            "--link-policy",
            "verified_email",
            "--no-require-verified-email",
        )
    )
    assert updated["link_policy"] == "verified_email"
    assert updated["require_verified_email"] is False


def test_an_operator_links_and_unlinks_in_the_admin_and_it_is_audited(admin_client, db):
    user = get_user_model().objects.create_user("ops", EMAIL, is_staff=True)
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL)
    url = f"/admin/trusted_auth/useridentity/{identity.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and b"issuer links" in page.content.lower()
    form = {
        "django_user": user.pk,
        "email": EMAIL,
        "name": "{}",
        "external_id": "",
        "status": "active",
        "provisioned_by": "operator",
        "links-TOTAL_FORMS": "1",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
        "links-0-issuer": OTHER_ISSUER,
        "links-0-kind": "external_id",
        "links-0-subject": "ops-7",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    link = IdentityLink.objects.get()
    assert (link.issuer, link.subject, link.origin) == (OTHER_ISSUER, "ops-7", "operator")
    assert AuditEvent.objects.get(action="identity_link").user_id == identity.user_id
    form.update(
        {
            "links-INITIAL_FORMS": "1",
            "links-0-id": link.pk,
            "links-0-identity": identity.pk,
            "links-0-DELETE": "on",
        }
    )
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not IdentityLink.objects.exists()
    assert AuditEvent.objects.filter(action="identity_unlink").count() == 1


# --- the returning user's lookup ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_link_lookup_reads_what_its_orm_query_reads(django_assert_num_queries):
    user = get_user_model().objects.create_user(username="ada", email=EMAIL, is_staff=True)
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL, name={"first_name": "A"})
    IdentityLink.objects.create(
        issuer=OTHER_ISSUER, kind=IdentityLink.Kind.EMAIL, subject=EMAIL, identity=identity
    )
    key = LinkKey(OTHER_ISSUER, IdentityLink.Kind.EMAIL, EMAIL)
    expected = linked_identity_query(key).get()
    with django_assert_num_queries(2):
        found = UserAccounts().linked(key)
    assert found is not None
    with django_assert_num_queries(0):
        rows = [found, found.django_user]
    assert [values(row) for row in rows] == [values(expected), values(expected.django_user)]
    for other in (
        LinkKey(OTHER_ISSUER, IdentityLink.Kind.EXTERNAL_ID, EMAIL),
        LinkKey("x", "email", EMAIL),
    ):
        assert UserAccounts().linked(other) is None
        assert not linked_identity_query(other).exists()


@pytest.mark.django_db(transaction=True)
def test_a_linked_user_deleted_between_the_reads_is_no_link():
    """The identity and its Django user are two statements: a user deleted in between makes
    the link reach nobody (None), never an exception that becomes a 500."""
    user = get_user_model().objects.create_user(username="ada", email=EMAIL)
    identity = UserIdentity.objects.create(django_user=user, email=EMAIL)
    IdentityLink.objects.create(
        issuer=OTHER_ISSUER, kind=IdentityLink.Kind.EMAIL, subject=EMAIL, identity=identity
    )

    def delete_the_user_after_the_identity_is_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("SELECT i.* FROM trusted_auth_useridentity"):
            get_user_model().objects.filter(pk=user.pk).delete()
        return result

    with connection.execute_wrapper(delete_the_user_after_the_identity_is_read):
        found = UserAccounts().linked(LinkKey(OTHER_ISSUER, IdentityLink.Kind.EMAIL, EMAIL))
    assert found is None
