"""The admin dashboard through Django's test client: forms, errors next to fields, the test-token
page, session revocation, keys, audit. The browser tests (test_admin_browser.py) click through
the same pages in Chromium."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import NameOID
from django.urls import reverse

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.errors import InvalidProfile, TrustedAuthError
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import (
    AuditEvent,
    Member,
    Organization,
    ProfilePublicKey,
    Session,
    SigningKey,
    TrustedAuthTokenProfile,
)

from .issuers import AUDIENCE, ISSUER, SigningPair

ADD_URL = "admin:trusted_auth_trustedauthtokenprofile_add"


def _public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _certificate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def profile_form(pems: list[str] = (), **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Our signer",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "public_key_type": "PEM",
        "jwks_url": "",
        "map_email": "email",
        "map_token_id": "jti",
        "map_external_user_id": "sub",
        "map_external_member_id": "",
        "map_name": "",
        "map_organization_id": "",
        "map_role_ids": "",
        "algorithms": ["RS256", "ES256"],
        "leeway_seconds": "30",
        "max_token_lifetime_seconds": "3600",
        "replay_policy": "single_use",
        "link_policy": "none",
        "pem_keys-TOTAL_FORMS": str(len(pems)),
        "pem_keys-INITIAL_FORMS": "0",
        "pem_keys-MIN_NUM_FORMS": "0",
        "pem_keys-MAX_NUM_FORMS": "5",
    }
    for index, pem in enumerate(pems):
        data[f"pem_keys-{index}-public_key_pem"] = pem
    data.update(overrides)
    return data


def field_errors(response, field: str) -> list[str]:
    form = response.context["adminform"].form
    return list(form.errors.get(field, []))


def inline_errors(response) -> list[str]:
    formset = response.context["inline_admin_formsets"][0].formset
    return list(formset.non_form_errors()) + [
        e for errors in formset.errors for messages in errors.values() for e in messages
    ]


# --- profiles: create and validate ------------------------------------------------------------


def test_a_pem_profile_is_created_through_the_form(admin_client, signer):
    response = admin_client.post(reverse(ADD_URL), profile_form([signer.public_pem]))
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = TrustedAuthTokenProfile.objects.get()
    assert (profile.public_key_type, profile.issuer) == ("PEM", ISSUER)
    assert profile.attribute_mapping == {
        "email": "email",
        "token_id": "jti",
        "external_user_id": "sub",
    }
    assert profile.algorithms == ["RS256", "ES256"]
    assert [row.public_key_pem for row in profile.pem_keys.all()] == [signer.public_pem]
    page = admin_client.get(
        reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[profile.pk])
    ).content.decode()
    assert "RSA 2048" in page and "Test a token" in page and "Failed attests" in page


@pytest.mark.parametrize(
    ("make_pem", "message"),
    [
        (
            lambda: _private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "this is a PRIVATE key",
        ),
        (
            lambda: _public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "the RSA key has 1024 bits; at least 2048 are required",
        ),
        (
            lambda: _public_pem(dsa.generate_private_key(key_size=2048)),
            "DSA keys are not supported",
        ),
        (_certificate_pem, "this is a certificate, not a public key"),
        (
            lambda: "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
            "could not be parsed",
        ),
    ],
    ids=["private", "short-rsa", "dsa", "certificate", "garbage"],
)
def test_a_bad_pem_is_refused_next_to_the_key(admin_client, make_pem, message):
    response = admin_client.post(reverse(ADD_URL), profile_form([make_pem()]))
    assert response.status_code == 200
    assert any(message in error for error in inline_errors(response))
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_sixth_pem_key_is_refused(admin_client):
    pems = [SigningPair.ec().public_pem for _ in range(6)]
    response = admin_client.post(reverse(ADD_URL), profile_form(pems))
    assert response.status_code == 200
    assert "a profile holds at most 5 PEM keys, not 6" in inline_errors(response)
    assert not TrustedAuthTokenProfile.objects.exists()
    response = admin_client.post(reverse(ADD_URL), profile_form(pems[:5]))
    assert response.status_code == 302
    assert ProfilePublicKey.objects.count() == 5


def test_a_pem_profile_needs_a_key_that_fits_its_algorithms(admin_client, signer):
    response = admin_client.post(reverse(ADD_URL), profile_form([]))
    assert "a PEM profile needs at least one public key" in inline_errors(response)
    response = admin_client.post(
        reverse(ADD_URL), profile_form([signer.public_pem], algorithms=["ES256"])
    )
    assert any("fits none of the profile's algorithms" in e for e in inline_errors(response))
    assert not TrustedAuthTokenProfile.objects.exists()


@pytest.mark.parametrize(
    ("issuer", "error"),
    [
        ("http://issuer.test", "an issuer URL must use https"),
        ("https://", "the issuer URL has no valid host"),
        ("https://issuer.test/\tv1", "control characters"),
        ("my-company-signer", None),
        ("https://issuer.test/auth/v1", None),
    ],
)
def test_the_issuer_is_an_https_url_or_a_plain_string(admin_client, signer, issuer, error):
    response = admin_client.post(reverse(ADD_URL), profile_form([signer.public_pem], issuer=issuer))
    if error is None:
        assert response.status_code == 302
        assert TrustedAuthTokenProfile.objects.get().issuer == issuer
    else:
        assert any(error in e for e in field_errors(response, "issuer"))


def test_the_mapping_marks_required_keys_and_checks_paths(admin_client, signer):
    page = admin_client.get(reverse(ADD_URL)).content.decode()
    assert '<label class="required" for="id_map_email">' in page
    assert '<label for="id_map_name">' in page  # optional: not marked
    assert "dotted path" in page
    response = admin_client.post(
        reverse(ADD_URL),
        profile_form([signer.public_pem], map_email="", map_name="user_metadata..name"),
    )
    assert field_errors(response, "map_email") == ["This field is required."]
    assert field_errors(response, "map_name") == [
        "The claim for name must be a claim name or a dotted path."
    ]
    response = admin_client.post(
        reverse(ADD_URL), profile_form([signer.public_pem], map_name="user_metadata.full_name")
    )
    assert response.status_code == 302
    assert (
        TrustedAuthTokenProfile.objects.get().attribute_mapping["name"] == "user_metadata.full_name"
    )


def test_a_jwks_url_is_fetched_on_save_and_its_keys_listed(admin_client, issuer):
    issuer.extra_keys = [{"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}]
    response = admin_client.post(
        reverse(ADD_URL), profile_form(public_key_type="JWK", jwks_url=issuer.url), follow=True
    )
    assert response.status_code == 200
    profile = TrustedAuthTokenProfile.objects.get()
    assert profile.jwks_url == issuer.url
    messages = [str(m) for m in response.context["messages"]]
    assert any(f"1 usable key(s): {issuer.signer.kid} (RSA RS256)" in m for m in messages)
    assert any("shared-secret" in m and "oct" in m for m in messages)
    assert issuer.requests == 1
    page = admin_client.get(
        reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[profile.pk])
    ).content.decode()
    assert f"<code>{issuer.signer.kid}</code>" in page
    assert issuer.requests == 1  # the change page reads the cached set, it does not fetch


def test_a_jwks_fetch_error_is_shown_next_to_the_url(admin_client, issuer):
    issuer.down = True
    response = admin_client.post(
        reverse(ADD_URL), profile_form(public_key_type="JWK", jwks_url=issuer.url)
    )
    assert field_errors(response, "jwks_url") == ["JWKS URL answered HTTP 503"]
    response = admin_client.post(
        reverse(ADD_URL),
        profile_form(public_key_type="JWK", jwks_url=issuer.url.replace("https", "http")),
    )
    assert field_errors(response, "jwks_url") == ["JWKS URL must use https"]
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_jwks_profile_refuses_pem_keys(admin_client, issuer, signer):
    response = admin_client.post(
        reverse(ADD_URL),
        profile_form([signer.public_pem], public_key_type="JWK", jwks_url=issuer.url),
    )
    assert any("A JWKS profile holds no PEM keys" in e for e in inline_errors(response))


# --- test a token -----------------------------------------------------------------------------


def _test_token_url(profile) -> str:
    return reverse("admin:trusted_auth_trustedauthtokenprofile_test_token", args=[profile.pk])


def test_test_a_token_shows_every_check_and_starts_nothing(
    admin_client, pem_profile, token_factory
):
    token = token_factory(email="grace@example.com")
    response = admin_client.post(_test_token_url(pem_profile), {"token": token})
    page = response.content.decode()
    assert response.status_code == 200
    assert "The token passes every check." in page
    result = response.context["result"]
    assert [s["status"] for s in result["steps"]] == ["pass"] * 5
    assert '"email": "grace@example.com"' in result["attributes"]
    assert '"alg": "RS256"' in result["header"]
    assert token not in page  # not echoed back
    assert not Session.objects.exists() and not AuditEvent.objects.exists()
    # Not marked as used: the same token can still be attested.
    attest(
        AttestRequest(profile_id=pem_profile.profile_id, token=token, session_duration_minutes=5)
    )
    assert Session.objects.count() == 1


def test_test_an_expired_token(admin_client, pem_profile, token_factory):
    now = int(time.time())
    response = admin_client.post(
        _test_token_url(pem_profile), {"token": token_factory(iat=now - 4000, exp=now - 3600)}
    )
    result = response.context["result"]
    assert not result["passed"] and result["error"].error_type == "jwt_invalid_claims"
    assert [s["status"] for s in result["steps"]] == ["pass", "pass", "fail", "not run", "not run"]
    page = response.content.decode()
    expired_at = datetime.datetime.fromtimestamp(now - 3600, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert f"token expired at {expired_at}, 60 minutes ago" in page  # when, in UTC and relative
    assert "Claims (NOT verified)" in page
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 10000, "e30.e30.e30"])
def test_test_a_token_never_fails_on_garbage(admin_client, pem_profile, token):
    response = admin_client.post(_test_token_url(pem_profile), {"token": token})
    assert response.status_code == 200
    if token:
        assert not response.context["result"]["passed"]


def test_test_a_token_for_an_unknown_profile_is_404(admin_client, db):
    response = admin_client.get(
        reverse("admin:trusted_auth_trustedauthtokenprofile_test_token", args=[99999])
    )
    assert response.status_code == 404


# --- sessions ---------------------------------------------------------------------------------


def _start_session(profile, token_factory, email: str) -> Session:
    return attest(
        AttestRequest(
            profile_id=profile.profile_id,
            token=token_factory(email=email),
            session_duration_minutes=60,
        )
    ).session


def test_revoke_selected_sessions(admin_client, pem_profile, token_factory):
    ada = _start_session(pem_profile, token_factory, "ada@example.com")
    grace = _start_session(pem_profile, token_factory, "grace@example.com")
    url = reverse("admin:trusted_auth_session_changelist")
    response = admin_client.post(
        url, {"action": "revoke_selected", "_selected_action": [ada.pk]}, follow=True
    )
    assert "Revoked 1 session." in [str(m) for m in response.context["messages"]]
    ada.refresh_from_db(), grace.refresh_from_db()
    assert ada.revoked_at is not None and grace.revoked_at is None
    live = admin_client.get(url, {"state": "live"}).content.decode()
    revoked = admin_client.get(url, {"state": "revoked"}).content.decode()
    assert grace.session_id in live and ada.session_id not in live
    assert ada.session_id in revoked and grace.session_id not in revoked
    found = admin_client.get(url, {"q": "grace@"}).content.decode()
    assert grace.session_id in found and ada.session_id not in found


def test_a_session_page_never_shows_a_token(admin_client, pem_profile, token_factory):
    session = _start_session(pem_profile, token_factory, "ada@example.com")
    page = admin_client.get(
        reverse("admin:trusted_auth_session_change", args=[session.pk])
    ).content.decode()
    assert session.session_id in page
    assert session.token_digest not in page and "token digest" not in page.lower()
    assert admin_client.get(reverse("admin:trusted_auth_session_add")).status_code == 403


def test_member_and_organization_pages_show_their_sessions(admin_client, pem_profile):
    org = create_organization(name="Acme", slug="acme")
    member = create_member(organization=org, email="ada@acme.com")
    session = Session.objects.create(
        token_digest="d" * 64,
        member=member,
        organization=org,
        profile=pem_profile,
        expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    for url in (
        reverse("admin:trusted_auth_member_change", args=[member.pk]),
        reverse("admin:trusted_auth_organization_change", args=[org.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert session.session_id in page and "live" in page
    page = admin_client.get(
        reverse("admin:trusted_auth_organization_change", args=[org.pk])
    ).content.decode()
    assert member.member_id in page


def test_organization_domains_and_member_roles_are_validated(admin_client, db):
    response = admin_client.post(
        reverse("admin:trusted_auth_organization_add"),
        {
            "name": "Acme",
            "slug": "acme",
            "external_id": "",
            "email_allowed_domains": "@Acme.com, acme.co.uk",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "member_sessions-TOTAL_FORMS": "0",
            "member_sessions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    org = Organization.objects.get()
    assert org.email_allowed_domains == ["acme.co.uk", "acme.com"]
    response = admin_client.post(
        reverse("admin:trusted_auth_member_add"),
        {
            "organization": org.pk,
            "email": "ada@acme.com",
            "roles": ["stytch_admin", "god"],
            "status": "active",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "god" in str(response.context["adminform"].form.errors["roles"])
    assert not Member.objects.exists()


# --- signing keys, audit ----------------------------------------------------------------------


def test_rotate_and_retire_signing_keys_from_the_admin(admin_client, db):
    url = reverse("admin:trusted_auth_signingkey_changelist")
    assert "Rotate" in admin_client.get(url).content.decode()
    response = admin_client.post(reverse("admin:trusted_auth_signingkey_rotate"), follow=True)
    assert any("as next" in str(m) for m in response.context["messages"])
    assert SigningKey.objects.filter(state="next").count() == 1
    response = admin_client.post(reverse("admin:trusted_auth_signingkey_rotate"), follow=True)
    assert any("pass --promote" in str(m) for m in response.context["messages"])
    admin_client.post(reverse("admin:trusted_auth_signingkey_rotate"), {"promote": "on"})
    assert sorted(SigningKey.objects.values_list("state", flat=True)) == ["current", "previous"]
    response = admin_client.post(reverse("admin:trusted_auth_signingkey_retire"), follow=True)
    assert any("may still be live" in str(m) for m in response.context["messages"])
    admin_client.post(reverse("admin:trusted_auth_signingkey_retire"), {"force": "on"})
    assert sorted(SigningKey.objects.values_list("state", flat=True)) == ["current", "retired"]
    assert admin_client.get(reverse("admin:trusted_auth_signingkey_rotate")).status_code == 405


def test_audit_events_are_read_only_and_failures_are_findable(
    admin_client, pem_profile, token_factory
):
    now = int(time.time())
    with pytest.raises(TrustedAuthError):
        attest(
            AttestRequest(
                profile_id=pem_profile.profile_id,
                token=token_factory(iat=now - 4000, exp=now - 3600),
            )
        )
    _start_session(pem_profile, token_factory, "ada@example.com")
    failure = AuditEvent.objects.get(outcome="failure")
    profile_page = admin_client.get(
        reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[pem_profile.pk])
    ).content.decode()
    link = (
        reverse("admin:trusted_auth_auditevent_changelist")
        + f"?outcome__exact=failure&amp;profile__id__exact={pem_profile.pk}"
    )
    assert link in profile_page
    listing = admin_client.get(link.replace("&amp;", "&"))
    assert list(listing.context["cl"].result_list) == [failure]
    detail = admin_client.get(
        reverse("admin:trusted_auth_auditevent_change", args=[failure.pk])
    ).content.decode()
    assert "jwt_invalid_claims" in detail and "token expired at" in detail
    assert admin_client.get(reverse("admin:trusted_auth_auditevent_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:trusted_auth_auditevent_delete", args=[failure.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.count() == 2
    errors = admin_client.get(
        reverse("admin:trusted_auth_auditevent_changelist"), {"error_type": "jwt_invalid_claims"}
    )
    assert list(errors.context["cl"].result_list) == [failure]


def test_every_admin_page_renders(admin_client, pem_profile):
    for model in (
        "trustedauthtokenprofile",
        "session",
        "useridentity",
        "organization",
        "member",
        "signingkey",
        "apisecret",
        "auditevent",
    ):
        assert (
            admin_client.get(reverse(f"admin:trusted_auth_{model}_changelist")).status_code == 200
        ), model
    for model in ("trustedauthtokenprofile", "organization", "member"):
        assert admin_client.get(reverse(f"admin:trusted_auth_{model}_add")).status_code == 200


def test_the_cli_and_the_admin_share_the_issuer_rule(db, signer):
    with pytest.raises(InvalidProfile, match="an issuer URL must use https") as refused:
        create_profile(
            name="x",
            issuer="http://issuer.test",
            audience=AUDIENCE,
            attribute_mapping={"email": "email", "token_id": "jti"},
            pem_keys=[signer.public_pem],
        )
    assert refused.value.field == "issuer"
    assert not TrustedAuthTokenProfile.objects.exists()
