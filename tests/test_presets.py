"""Provider presets: each one attests, through the API, a token shaped like that IdP's real
tokens (header and claims as the IdP documents them, signed by a test key served over TLS as
that IdP's JWKS would be), and refuses the same token from another tenant or project."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trusted_auth.issuers.presets import (
    PRESETS,
    InvalidPresetParameters,
    build_preset,
    list_presets,
)
from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import TrustedAuthTokenProfile, UserIdentity

from .issuers import SigningPair
from .test_attest_rejections import assert_rejected, post_attest

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"
Claims = Callable[[dict[str, Any], int], dict[str, Any]]


def _supabase(fields: dict[str, Any], now: int) -> dict[str, Any]:
    user_id = str(uuid.uuid4())
    return {
        "iss": fields["issuer"],
        "sub": user_id,
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": EMAIL,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {
            "email": EMAIL,
            "email_verified": True,
            "full_name": "Ada Lovelace",
            "phone_verified": False,
            "sub": user_id,
        },
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }


def _auth0(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "nickname": "ada",
        "name": "Ada Lovelace",
        "picture": "https://s.gravatar.com/avatar/0000.png",
        "updated_at": "2026-11-30T10:00:00.000Z",
        "email": EMAIL,
        "email_verified": True,
        "iss": fields["issuer"],
        "aud": fields["audience"],
        "sub": "auth0|65f0c0ffee0123456789abcd",
        "iat": now,
        "exp": now + 36000,  # Auth0's default ID token lifetime
        "sid": f"{uuid.uuid4().hex[:32]}",
        "nonce": "n-0S6_WzA2Mj",
    }


def _clerk(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "azp": "https://app.example.com",
        "exp": now + 60,
        "fva": [1, -1],
        "iat": now,
        "iss": fields["issuer"],
        "jti": uuid.uuid4().hex[:20],
        "nbf": now - 5,
        "sid": f"sess_{uuid.uuid4().hex[:27]}",
        "sub": "user_2abcdefghijklmnopqrstuvwxyz",
        "aud": fields["audience"],
        "email": EMAIL,
        "email_verified": True,
        "name": "Ada Lovelace",
    }


def _cognito(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "sub": str(uuid.uuid4()),
        "email_verified": True,
        "iss": fields["issuer"],
        "cognito:username": "ada",
        "origin_jti": str(uuid.uuid4()),
        "aud": fields["audience"],
        "event_id": str(uuid.uuid4()),
        "token_use": "id",
        "auth_time": now,
        "name": "Ada Lovelace",
        "exp": now + 3600,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "email": EMAIL,
    }


def _firebase(fields: dict[str, Any], now: int) -> dict[str, Any]:
    uid = uuid.uuid4().hex[:28]
    return {
        "name": "Ada Lovelace",
        "iss": fields["issuer"],
        "aud": fields["audience"],
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        "email": EMAIL,
        "email_verified": True,
        "firebase": {"identities": {"email": [EMAIL]}, "sign_in_provider": "password"},
    }


def _okta(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "sub": "00u1example2AbCdE697",
        "name": "Ada Lovelace",
        "email": EMAIL,
        "ver": 1,
        "iss": fields["issuer"],
        "aud": fields["audience"],
        "iat": now,
        "exp": now + 3600,
        "jti": f"ID.{uuid.uuid4().hex}",
        "amr": ["pwd"],
        "idp": "00o1example2AbCdE697",
        "nonce": "n-0S6_WzA2Mj",
        "preferred_username": EMAIL,
        "auth_time": now,
        "at_hash": "preview_at_hash",
    }


def _entra_id(fields: dict[str, Any], now: int) -> dict[str, Any]:
    tenant = fields["issuer"].split("/")[3]
    return {
        "aud": fields["audience"],
        "iss": fields["issuer"],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "aio": "AXQAi/8UAAAAexample",
        "email": EMAIL,
        "name": "Ada Lovelace",
        "nonce": "n-0S6_WzA2Mj",
        "oid": str(uuid.uuid4()),
        "preferred_username": EMAIL,
        "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR1example.",
        "sid": str(uuid.uuid4()),
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": tenant,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
    }


def _google(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "iss": "https://accounts.google.com",
        "azp": fields["audience"],
        "aud": fields["audience"],
        "sub": "110169484474386276334",
        "email": EMAIL,
        "email_verified": True,
        "nbf": now - 10,
        "name": "Ada Lovelace",
        "picture": "https://lh3.googleusercontent.com/a/example",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
    }


def _keycloak(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "jti": str(uuid.uuid4()),
        "iss": fields["issuer"],
        "aud": fields["audience"],
        "sub": str(uuid.uuid4()),
        "typ": "ID",
        "azp": fields["audience"],
        "nonce": "n-0S6_WzA2Mj",
        "sid": str(uuid.uuid4()),
        "at_hash": "preview_at_hash",
        "acr": "1",
        "email_verified": True,
        "name": "Ada Lovelace",
        "preferred_username": "ada",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": EMAIL,
    }


def _workos(fields: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "iss": fields["issuer"],
        "sub": "user_01HBEQKA6K4QJAS93VPE39W1JT",
        "org_id": "org_01HRDMC6CM357W30QMHMQ96Q0S",
        "role": "member",
        "roles": ["member"],
        "permissions": ["posts:read", "posts:write"],
        "sid": "session_01HQSXZGF8FHF7A9ZZFCW4387R",
        "jti": uuid.uuid4().hex[:26].upper(),
        "exp": now + 300,
        "iat": now,
        "aud": fields["audience"],
        "email": EMAIL,  # added by a JWT template
    }


@dataclass
class Case:
    """One IdP: its parameters, another tenant's, and what its real tokens look like."""

    params: dict[str, str]
    other_tenant: dict[str, str]
    refused_with: str
    issuer: str
    jwks_url: str
    claims: Claims
    token_id: Callable[[dict[str, Any]], str]
    key: Callable[[], SigningPair] = SigningPair.rsa
    header: dict[str, Any] = field(default_factory=lambda: {"typ": "JWT"})
    # How the IdP publishes a key in its JWKS (Entra ID gives no alg; Microsoft adds issuer).
    jwk: Callable[[dict[str, Any]], dict[str, Any]] = lambda jwk: jwk


TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
OTHER_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "6731de76-14a6-49ae-97bc-6eba6914391e"

CASES: dict[str, Case] = {
    "supabase": Case(
        params={"project_ref": "abcdefghijklmnopqrst"},
        other_tenant={"project_ref": "zyxwvutsrqponmlkjihg"},
        refused_with="jwt_invalid_issuer",
        issuer="https://abcdefghijklmnopqrst.supabase.co/auth/v1",
        jwks_url="https://abcdefghijklmnopqrst.supabase.co/auth/v1/.well-known/jwks.json",
        claims=_supabase,
        token_id=lambda c: c["session_id"],
        key=SigningPair.ec,
    ),
    "auth0": Case(
        params={"domain": "acme.eu.auth0.com", "audience": "3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN"},
        other_tenant={
            "domain": "globex.us.auth0.com",
            "audience": "3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN",
        },
        refused_with="jwt_invalid_issuer",
        issuer="https://acme.eu.auth0.com/",
        jwks_url="https://acme.eu.auth0.com/.well-known/jwks.json",
        claims=_auth0,
        token_id=lambda c: c["sid"],
    ),
    "clerk": Case(
        params={"frontend_api": "clerk.example.com", "audience": "https://api.example.com"},
        other_tenant={
            "frontend_api": "other-app-42.clerk.accounts.dev",
            "audience": "https://api.example.com",
        },
        refused_with="jwt_invalid_issuer",
        issuer="https://clerk.example.com",
        jwks_url="https://clerk.example.com/.well-known/jwks.json",
        claims=_clerk,
        token_id=lambda c: c["sid"],
    ),
    "cognito": Case(
        params={
            "region": "eu-west-1",
            "user_pool_id": "eu-west-1_AbCdEf123",
            "client_id": "1example23456789",
        },
        other_tenant={
            "region": "eu-west-1",
            "user_pool_id": "eu-west-1_ZyXwVu987",
            "client_id": "1example23456789",
        },
        refused_with="jwt_invalid_issuer",
        issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        jwks_url="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json",
        claims=_cognito,
        token_id=lambda c: c["jti"],
    ),
    "firebase": Case(
        params={"project_id": "my-project-1234"},
        other_tenant={"project_id": "another-project-9"},
        refused_with="jwt_invalid_issuer",
        issuer="https://securetoken.google.com/my-project-1234",
        jwks_url="https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
        claims=_firebase,
        token_id=lambda c: c["sub"],
    ),
    "okta": Case(
        params={"domain": "acme.okta.com", "audience": "0oa1example2345678"},
        other_tenant={"domain": "globex.okta.com", "audience": "0oa1example2345678"},
        refused_with="jwt_invalid_issuer",
        issuer="https://acme.okta.com/oauth2/default",
        jwks_url="https://acme.okta.com/oauth2/default/v1/keys",
        claims=_okta,
        token_id=lambda c: c["jti"],
    ),
    "entra-id": Case(
        params={"tenant_id": TENANT, "client_id": CLIENT},
        other_tenant={"tenant_id": OTHER_TENANT, "client_id": CLIENT},
        refused_with="jwt_invalid_issuer",
        issuer=f"https://login.microsoftonline.com/{TENANT}/v2.0",
        jwks_url=f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys",
        claims=_entra_id,
        token_id=lambda c: c["uti"],
        jwk=lambda jwk: {
            **{k: v for k, v in jwk.items() if k != "alg"},
            "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        },
    ),
    "google": Case(
        params={"client_id": "1234567890-abc123.apps.googleusercontent.com"},
        other_tenant={"client_id": "987654321-other.apps.googleusercontent.com"},
        refused_with="jwt_invalid_audience",
        issuer="https://accounts.google.com",
        jwks_url="https://www.googleapis.com/oauth2/v3/certs",
        claims=_google,
        token_id=lambda c: c["jti"],
    ),
    "keycloak": Case(
        params={"base_url": "https://sso.example.com", "realm": "acme", "audience": "my-app"},
        other_tenant={
            "base_url": "https://sso.example.com",
            "realm": "globex",
            "audience": "my-app",
        },
        refused_with="jwt_invalid_issuer",
        issuer="https://sso.example.com/realms/acme",
        jwks_url="https://sso.example.com/realms/acme/protocol/openid-connect/certs",
        claims=_keycloak,
        token_id=lambda c: c["jti"],
    ),
    "workos": Case(
        params={"client_id": "client_01HXYZEXAMPLE"},
        other_tenant={"client_id": "client_01HOTHERENV"},
        refused_with="jwt_invalid_issuer",
        issuer="https://api.workos.com/user_management/client_01HXYZEXAMPLE",
        jwks_url="https://api.workos.com/sso/jwks/client_01HXYZEXAMPLE",
        claims=_workos,
        token_id=lambda c: c["jti"],
    ),
}


def test_every_preset_has_a_case():
    assert set(CASES) == set(PRESETS)


@pytest.mark.parametrize("name", list(CASES))
def test_a_preset_fills_the_exact_issuer_and_jwks_url(name):
    case = CASES[name]
    fields = build_preset(name, case.params)
    assert (fields["issuer"], fields["jwks_url"]) == (case.issuer, case.jwks_url)
    assert {"email", "token_id"} <= fields["attribute_mapping"].keys()
    assert fields["algorithms"]
    # Each preset cites the IdP documentation it follows, in its docstring.
    docs = PRESETS[name].docs
    assert docs and all(url in (PRESETS[name].build.__doc__ or "") for url in docs)


def _preset_profile(name: str, issuer) -> TrustedAuthTokenProfile:
    """The preset's profile, its JWKS URL pointed at the test issuer serving the same keys."""
    fields = build_preset(name, CASES[name].params)
    fields["jwks_url"] = issuer.url
    return create_profile(**fields, can_jit_provision=True)


@pytest.mark.parametrize("name", list(CASES))
def test_a_preset_attests_a_token_shaped_like_the_idps(name, api, issuer):
    case = CASES[name]
    signer = case.key()
    issuer.keys = [signer]
    issuer.document = lambda: {"keys": [case.jwk(signer.public_jwk)]}  # type: ignore[method-assign]
    profile = _preset_profile(name, issuer)
    claims = case.claims(build_preset(name, case.params), int(time.time()))

    response = post_attest(
        api,
        profile.profile_id,
        signer.sign(claims, headers=case.header),
        session_duration_minutes=60,
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["user"]["emails"][0]["email"] == EMAIL
    [factor] = body["session"]["authentication_factors"]
    assert factor["trusted_auth_token_factor"] == {"token_id": case.token_id(claims)}
    assert UserIdentity.objects.count() == 1


@pytest.mark.parametrize("name", list(CASES))
def test_a_preset_refuses_a_token_from_another_tenant(name, api, issuer):
    case = CASES[name]
    signer = case.key()
    issuer.keys = [signer]
    profile = _preset_profile(name, issuer)
    # Same IdP, same signing key, another tenant or project: only the iss / aud differ.
    claims = case.claims(build_preset(name, case.other_tenant), int(time.time()))

    response = post_attest(
        api,
        profile.profile_id,
        signer.sign(claims, headers=case.header),
        session_duration_minutes=60,
    )

    assert_rejected(response, 401, case.refused_with)
    assert not UserIdentity.objects.exists()


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nope", {}, "no preset 'nope'; presets: auth0, clerk, cognito"),
        ("auth0", {"audience": "x"}, "preset auth0 needs domain"),
        ("auth0", {"domain": "a.auth0.com", "audience": "x", "tenant": "y"}, "not tenant"),
        (
            "auth0",
            {"domain": "https://acme.eu.auth0.com/", "audience": "x"},
            "domain must be a bare host name like acme.eu.auth0.com (give 'acme.eu.auth0.com')",
        ),
        (
            "supabase",
            {"project_ref": "https://abc.supabase.co"},
            "project_ref is the lowercase subdomain",
        ),
        (
            "cognito",
            {"region": "us-east-1", "user_pool_id": "eu-west-1_AbC", "client_id": "c1"},
            "user pool eu-west-1_AbC lives in eu-west-1, not us-east-1: give region=eu-west-1",
        ),
        (
            "entra-id",
            {"tenant_id": "common", "client_id": CLIENT},
            "'common' is an endpoint alias, never a token's iss",
        ),
        ("entra-id", {"tenant_id": "contoso", "client_id": CLIENT}, "tenant_id must be a GUID"),
        ("keycloak", {"base_url": "https://sso/", "realm": "r", "audience": "a"}, "base_url"),
    ],
)
def test_preset_parameters_are_checked_with_a_message_that_says_what_to_give(name, params, message):
    with pytest.raises(InvalidPresetParameters) as raised:
        build_preset(name, params)
    assert message in raised.value.message


def test_okta_org_authorization_server():
    fields = build_preset(
        "okta", {"domain": "acme.okta.com", "authorization_server": "org", "audience": "0oa1"}
    )
    assert fields["issuer"] == "https://acme.okta.com"
    assert fields["jwks_url"] == "https://acme.okta.com/oauth2/v1/keys"


# --- the command line -------------------------------------------------------------------------


def run(*args: str) -> tuple[Any, str]:
    out, err = StringIO(), StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_presets_lists_every_preset_with_its_parameters():
    listed, _ = run("presets")
    assert [p["name"] for p in listed] == list(PRESETS)
    assert listed == list_presets()
    cognito = next(p for p in listed if p["name"] == "cognito")
    assert [p["name"] for p in cognito["parameters"]] == ["region", "user_pool_id", "client_id"]
    assert cognito["audience_from"] == "client_id"
    assert all(p["docs"] and p["summary"] for p in listed)


def test_profile_create_from_a_preset_fetches_the_jwks_and_flags_override(api, issuer):
    data, notes = run(
        "profile",
        "create",
        "--preset",
        "auth0",
        "--param",
        "domain=acme.eu.auth0.com",
        "audience=3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN",
        "--jwks-url",
        issuer.url,  # a flag overrides what the preset fills in
        "--jit",
    )
    assert data["issuer"] == "https://acme.eu.auth0.com/"
    assert data["audience"] == "3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN"
    assert data["jwks_url"] == issuer.url
    assert data["attribute_mapping"]["token_id"] == "sid"
    assert data["max_token_lifetime_seconds"] == 36000
    assert data["can_jit_provision"] is True
    assert "Preset auth0: issuer https://acme.eu.auth0.com/" in notes
    assert f"JWKS fetched: 1 usable key(s): {issuer.signer.kid} (RSA RS256)." in notes

    claims = _auth0(data, int(time.time()))
    response = post_attest(api, data["profile_id"], issuer.signer.sign(claims))
    assert response.status_code == 200, response.json()
    assert issuer.requests == 1  # the key fetched by create served the attest


def test_profile_create_from_a_preset_refuses_bad_parameters():
    with pytest.raises(CommandError, match="preset cognito needs client_id"):
        run(
            "profile",
            "create",
            "--preset",
            "cognito",
            "--param",
            "region=eu-west-1",
            "user_pool_id=eu-west-1_AbCdEf123",
        )
    with pytest.raises(CommandError, match="--param goes with --preset"):
        run("profile", "create", "--param", "domain=x", "--name", "x")
    assert not TrustedAuthTokenProfile.objects.exists()
