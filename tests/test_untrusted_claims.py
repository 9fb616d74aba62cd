"""Claims a user controls never prove anything (issue 26 item 2).

Supabase users write their own ``user_metadata``; a preset that read ``email_verified`` there let
a token naming a victim's email sign in as the victim under ``link_policy=verified_email``. Each
preset now maps verification, identity and tenancy only to claims its provider controls, and a
profile's ``untrusted_claims`` names the claim paths its end users write: a mapping of
``email``, ``email_verified``, ``external_user_id``, ``external_member_id``, ``organization_id`` or
``role_ids`` under one of them is refused when the profile is saved (API of the service, CLI,
admin).
"""

from __future__ import annotations

import json
import time
import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from trusted_auth.errors import InvalidProfile
from trusted_auth.issuers.presets import PRESETS, build_preset
from trusted_auth.issuers.profiles import create_profile, update_profile
from trusted_auth.models import TrustedAuthTokenProfile, UserIdentity

from .issuers import SigningPair
from .test_admin import ADD_URL, profile_form
from .test_attest_rejections import assert_rejected, post_attest
from .test_presets import CASES

pytestmark = pytest.mark.django_db

DECISION_KEYS = (
    "email",
    "email_verified",
    "external_user_id",
    "external_member_id",
    "organization_id",
    "role_ids",
)


def _profile_fields(**overrides):
    fields = {
        "name": "Ours",
        "issuer": "https://issuer.example",
        "audience": "app",
        "jwks_url": "https://issuer.example/jwks.json",
        "attribute_mapping": {"email": "email", "token_id": "jti", "external_user_id": "sub"},
    }
    return {**fields, **overrides}


# --- the Supabase hole ------------------------------------------------------------------------


def test_a_supabase_user_cannot_verify_a_victims_email_through_user_metadata(api, issuer):
    victim = get_user_model().objects.create_user("victim", "victim@example.com")
    signer = SigningPair.ec()
    issuer.keys = [signer]
    fields = build_preset("supabase", CASES["supabase"].params)
    profile = create_profile(
        **{**fields, "jwks_url": issuer.url}, can_jit_provision=True, link_policy="verified_email"
    )
    now = int(time.time())
    claims = {
        **CASES["supabase"].claims(fields, now),
        "sub": str(uuid.uuid4()),
        "email": "victim@example.com",
        # What any Supabase user may write: supabase.auth.updateUser({data: {...}}).
        "user_metadata": {"email": "victim@example.com", "email_verified": True},
    }

    response = post_attest(api, profile.profile_id, signer.sign(claims))

    assert_rejected(response, 403, "identity_link_required", "does not prove the email verified")
    assert not UserIdentity.objects.filter(django_user=victim).exists()


def test_every_preset_names_what_its_users_write_and_maps_nothing_decisive_there():
    expected = {
        "supabase": ["user_metadata"],
        "auth0": ["user_metadata"],
        "clerk": ["unsafe_metadata"],
        "cognito": ["custom:*"],
    }
    for name in PRESETS:
        fields = build_preset(name, CASES[name].params)
        assert fields["untrusted_claims"] == expected.get(name, []), name
        # The profile service accepts what the preset fills in (nothing decisive is untrusted).
        create_profile(**fields)
    assert (
        "email_verified"
        not in build_preset("supabase", CASES["supabase"].params)["attribute_mapping"]
    )


# --- refused at save --------------------------------------------------------------------------


@pytest.mark.parametrize("key", DECISION_KEYS)
def test_a_decisive_key_mapped_under_an_untrusted_path_is_refused(key):
    mapping = {"email": "email", "token_id": "jti", key: "user_metadata.value"}

    with pytest.raises(InvalidProfile) as raised:
        create_profile(
            **_profile_fields(attribute_mapping=mapping, untrusted_claims=["user_metadata"])
        )

    assert raised.value.field == "attribute_mapping"
    assert f"{key} is mapped to user_metadata.value" in raised.value.message
    assert "untrusted" in raised.value.message
    assert not TrustedAuthTokenProfile.objects.exists()


@pytest.mark.parametrize(
    ("untrusted", "claim", "refused"),
    [
        (["custom:*"], "custom:tenant", True),  # a prefix of claim names
        (["user_metadata"], "user_metadata", True),  # the path itself
        (["user_metadata"], "user_metadata.org.id", True),  # anything under it
        (["user_metadata"], "user_metadata_org", False),  # another claim
        (["custom:*"], "tenant", False),
    ],
)
def test_untrusted_paths_cover_themselves_what_lies_under_them_and_star_prefixes(
    untrusted, claim, refused
):
    fields = _profile_fields(
        attribute_mapping={"email": "email", "token_id": "jti", "organization_id": claim},
        untrusted_claims=untrusted,
    )
    if refused:
        with pytest.raises(InvalidProfile, match="organization_id"):
            create_profile(**fields)
    else:
        assert create_profile(**fields).untrusted_claims == untrusted


def test_display_claims_may_come_from_untrusted_paths_and_the_implied_verification_path_counts():
    profile = create_profile(
        **_profile_fields(
            attribute_mapping={"email": "email", "token_id": "jti", "name": "user_metadata.name"},
            untrusted_claims=["user_metadata"],
        )
    )
    assert profile.attribute_mapping["name"] == "user_metadata.name"

    with pytest.raises(InvalidProfile, match="untrusted"):
        # Making the profile's users' own claims untrusted afterwards: the existing mapping of
        # email_verified (by default beside a nested email) is now refused.
        update_profile(
            create_profile(
                **_profile_fields(
                    name="nested",
                    attribute_mapping={"email": "claims.email", "token_id": "jti"},
                )
            ).profile_id,
            {"untrusted_claims": ["claims.email_verified"]},
        )


@pytest.mark.parametrize(
    "untrusted", [["user_metadata..x"], [""], ["*"], "user_metadata", [7], ["x"] * 21]
)
def test_untrusted_claims_must_be_a_short_list_of_claim_paths(untrusted):
    with pytest.raises(InvalidProfile) as raised:
        create_profile(**_profile_fields(untrusted_claims=untrusted))
    assert raised.value.field == "untrusted_claims"


# --- CLI and admin ----------------------------------------------------------------------------


def run(*args: str):
    out, err = StringIO(), StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_the_cli_sets_untrusted_claims_and_refuses_a_decisive_mapping_under_them():
    created, _ = run(
        "profile",
        "create",
        "--preset",
        "supabase",
        "--param",
        "project_ref=abcdefghijklmnopqrst",
        "--untrusted-claim",
        "user_metadata",
        "--untrusted-claim",
        "app_metadata.self_service",
        "--no-fetch",
    )
    assert created["untrusted_claims"] == ["user_metadata", "app_metadata.self_service"]

    with pytest.raises(CommandError, match="email_verified is mapped to user_metadata"):
        run(
            "profile",
            "update",
            "--profile-id",
            created["profile_id"],
            "--map",
            "email=email",
            "token_id=session_id",
            "email_verified=user_metadata.email_verified",
        )
    updated, _ = run(
        "profile", "update", "--profile-id", created["profile_id"], "--untrusted-claim", "x.y"
    )
    assert updated["untrusted_claims"] == ["x.y"]


def test_the_cli_preset_fills_the_providers_untrusted_claims():
    created, _ = run(
        "profile",
        "create",
        "--preset",
        "cognito",
        "--param",
        "region=eu-west-1",
        "user_pool_id=eu-west-1_AbCdEf123",
        "client_id=1example23456789",
        "--no-fetch",
    )
    assert created["untrusted_claims"] == ["custom:*"]


def test_the_admin_form_shows_the_error_next_to_the_mapping(admin_client, signer):
    response = admin_client.post(
        reverse(ADD_URL),
        profile_form(
            [signer.public_pem],
            map_email_verified="user_metadata.email_verified",
            untrusted_claims="user_metadata\napp_metadata.custom",
        ),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "email_verified is mapped to user_metadata" in errors["map_email_verified"][0]
    assert not TrustedAuthTokenProfile.objects.exists()

    response = admin_client.post(
        reverse(ADD_URL),
        profile_form([signer.public_pem], untrusted_claims="user_metadata\napp_metadata.custom"),
    )
    assert response.status_code == 302
    assert TrustedAuthTokenProfile.objects.get().untrusted_claims == [
        "user_metadata",
        "app_metadata.custom",
    ]


def test_the_admin_preset_start_fills_untrusted_claims(admin_client):
    page = admin_client.get(
        reverse(ADD_URL), {"preset": "supabase", "params": "project_ref=abcdefghijklmnopqrst"}
    )
    assert page.context["adminform"].form.initial["untrusted_claims"] == "user_metadata"


# --- upgrading --------------------------------------------------------------------------------

BEFORE = [("trusted_auth", "0013_drop_redundant_indexes")]


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


def test_upgrading_closes_the_hole_in_profiles_made_from_the_old_supabase_preset(old_state):
    Profile = old_state.get_model("trusted_auth", "TrustedAuthTokenProfile")
    old_mapping = build_preset("supabase", CASES["supabase"].params)["attribute_mapping"]
    old_mapping = {**old_mapping, "email_verified": "user_metadata.email_verified"}
    supabase = Profile.objects.create(
        name="supabase",
        issuer="https://abcdefghijklmnopqrst.supabase.co/auth/v1",
        audience="authenticated",
        jwks_url="https://abcdefghijklmnopqrst.supabase.co/auth/v1/.well-known/jwks.json",
        attribute_mapping=old_mapping,
    )
    other = Profile.objects.create(
        name="own",
        issuer="https://issuer.example",
        audience="app",
        jwks_url="https://issuer.example/jwks.json",
        attribute_mapping={"email": "email", "token_id": "jti", "email_verified": "ev"},
    )

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    supabase = TrustedAuthTokenProfile.objects.get(pk=supabase.pk)
    assert supabase.untrusted_claims == ["user_metadata"]
    assert "email_verified" not in supabase.attribute_mapping
    assert supabase.attribute_mapping["name"] == "user_metadata.full_name"  # display only: kept
    other = TrustedAuthTokenProfile.objects.get(pk=other.pk)
    assert (other.untrusted_claims, other.attribute_mapping["email_verified"]) == ([], "ev")
