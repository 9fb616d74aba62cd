"""The profile add form: the key type follows what was pasted, "Start from a provider" and
"Discover" fill the form (and say what they found) before anything is saved, and the admin saves
through the profile service's write path (keys that stay keep their ids)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile

from .issuers import AUDIENCE, ISSUER, SigningPair
from .scripted_server import send_body
from .test_admin import ADD_URL, field_errors, inline_errors, profile_form

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the key type follows what was given --------------------------------------------------------


def test_a_pem_pasted_with_the_radio_on_jwks_url_makes_a_pem_profile(admin_client, signer):
    response = admin_client.post(
        reverse(ADD_URL), profile_form([signer.public_pem], public_key_type="JWK"), follow=True
    )
    assert response.status_code == 200
    profile = TrustedAuthTokenProfile.objects.get()
    assert profile.public_key_type == "PEM" and profile.jwks_url == ""
    assert [row.public_key_pem for row in profile.pem_keys.all()] == [signer.public_pem]
    assert "Key type set to PEM public keys: that is what the form was given." in messages_of(
        response
    )


def test_a_jwks_url_with_the_radio_on_pem_makes_a_jwks_profile(admin_client, issuer):
    response = admin_client.post(
        reverse(ADD_URL), profile_form(public_key_type="PEM", jwks_url=issuer.url), follow=True
    )
    assert response.status_code == 200
    profile = TrustedAuthTokenProfile.objects.get()
    assert (profile.public_key_type, profile.jwks_url) == ("JWK", issuer.url)
    assert issuer.requests == 1
    assert any(m.startswith("Key type set to JWKS URL") for m in messages_of(response))


def test_a_pem_pasted_into_the_url_box_is_named(admin_client, signer):
    response = admin_client.post(
        reverse(ADD_URL), profile_form(public_key_type="JWK", jwks_url=signer.public_pem)
    )
    assert response.status_code == 200
    assert field_errors(response, "jwks_url") == [
        "This is a PEM key, not a URL: paste it into a PEM public key box below and leave "
        "this field empty (the key type follows)."
    ]
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_url_and_keys_together_say_exactly_what_to_change(admin_client, issuer, signer):
    response = admin_client.post(
        reverse(ADD_URL),
        profile_form([signer.public_pem], public_key_type="PEM", jwks_url=issuer.url),
    )
    assert field_errors(response, "jwks_url") == [
        "You gave a JWKS URL and 1 PEM key(s): clear the JWKS URL to trust the PEM keys, or "
        "tick Delete on each key to trust the URL."
    ]
    assert issuer.requests == 0  # nothing is fetched for a form that cannot be saved
    assert not TrustedAuthTokenProfile.objects.exists()


def test_no_key_source_at_all_still_asks_for_one(admin_client):
    response = admin_client.post(reverse(ADD_URL), profile_form(public_key_type="JWK"))
    assert field_errors(response, "jwks_url") == ["A JWKS profile needs a JWKS URL."]


# --- one write path ------------------------------------------------------------------------------


def _change_form(profile: TrustedAuthTokenProfile, **overrides: Any) -> dict[str, Any]:
    rows = list(profile.pem_keys.all())
    data = profile_form([row.public_key_pem for row in rows], **overrides)
    data["pem_keys-INITIAL_FORMS"] = str(len(rows))
    for index, row in enumerate(rows):
        data[f"pem_keys-{index}-id"] = str(row.pk)
        data[f"pem_keys-{index}-profile"] = str(profile.pk)
    return data


def test_saving_the_change_form_keeps_the_keys_that_stay(admin_client, signer):
    profile = create_profile(
        name="Ours",
        issuer=ISSUER,
        audience=AUDIENCE,
        attribute_mapping={"email": "email", "token_id": "jti"},
        pem_keys=[signer.public_pem],
    )
    [kept] = profile.pem_keys.all()
    added = SigningPair.ec()
    data = _change_form(profile, audience="another-audience")
    data["pem_keys-TOTAL_FORMS"] = "2"
    data["pem_keys-1-public_key_pem"] = added.public_pem
    url = reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[profile.pk])

    response = admin_client.post(url, data)

    assert response.status_code == 302, inline_errors(response) if response.context else ""
    profile.refresh_from_db()
    assert profile.audience == "another-audience"
    rows = list(profile.pem_keys.all())
    assert [row.key_id for row in rows][0] == kept.key_id  # same row, same pem-… id
    assert [row.public_key_pem for row in rows] == [signer.public_pem, added.public_pem]
    entry = LogEntry.objects.latest("action_time")
    assert json.loads(entry.change_message)[1]["added"]["object"] == rows[1].key_id

    data = _change_form(profile, audience="another-audience")
    data["pem_keys-0-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert [row.key_id for row in ProfilePublicKey.objects.all()] == [rows[1].key_id]


def test_a_sixth_key_on_the_change_form_is_refused_next_to_the_keys(admin_client):
    pems = [SigningPair.ec().public_pem for _ in range(5)]
    profile = create_profile(
        name="Ours",
        issuer=ISSUER,
        audience=AUDIENCE,
        attribute_mapping={"email": "email", "token_id": "jti"},
        pem_keys=pems,
        algorithms=["ES256"],
    )
    data = _change_form(profile, algorithms=["ES256"])
    data["pem_keys-TOTAL_FORMS"] = "6"
    data["pem_keys-5-public_key_pem"] = SigningPair.ec().public_pem
    response = admin_client.post(
        reverse("admin:trusted_auth_trustedauthtokenprofile_change", args=[profile.pk]), data
    )
    assert response.status_code == 200
    assert any("at most 5" in e for e in inline_errors(response))
    assert ProfilePublicKey.objects.count() == 5


# --- start from a provider ----------------------------------------------------------------------


def initial(response) -> dict[str, Any]:
    form = response.context["adminform"].form
    return {name: form[name].value() for name in form.fields}


def test_start_from_a_provider_fills_the_form_and_saves_nothing(admin_client):
    response = admin_client.get(
        reverse(ADD_URL),
        {
            "preset": "cognito",
            "params": "region=eu-west-1 user_pool_id=eu-west-1_AbCdEf123, "
            "client_id=1example23456789",
        },
    )
    assert response.status_code == 200
    values = initial(response)
    assert values["issuer"] == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    assert values["jwks_url"] == values["issuer"] + "/.well-known/jwks.json"
    assert values["audience"] == "1example23456789"
    assert values["public_key_type"] == "JWK"
    assert values["algorithms"] == ["RS256"]
    assert (values["map_email"], values["map_token_id"], values["map_external_user_id"]) == (
        "email",
        "jti",
        "sub",
    )
    shown = messages_of(response)
    assert any(m.startswith("Filled from the Amazon Cognito user pool preset") for m in shown)
    page = response.content.decode()
    assert 'id="preset-form"' in page and 'id="discover-form"' in page
    assert "user_pool_id=eu-west-1_AbCdEf123" in page  # each preset's parameters are listed
    assert not TrustedAuthTokenProfile.objects.exists()


def test_start_from_a_provider_with_bad_parameters_says_why(admin_client):
    response = admin_client.get(
        reverse(ADD_URL), {"preset": "entra-id", "params": "tenant_id=common client_id=x"}
    )
    assert response.status_code == 200
    assert any(
        m.startswith("The preset failed: 'common' is an endpoint alias")
        for m in messages_of(response)
    )
    assert not TrustedAuthTokenProfile.objects.exists()


# --- discover -----------------------------------------------------------------------------------


def _discovery_server(scripted_server, issuer, name_issuer=lambda url: url):
    def respond(server, handler) -> None:
        url = f"https://127.0.0.1:{server.httpd.server_address[1]}/realms/acme"
        document = {
            "issuer": name_issuer(url),
            "jwks_uri": issuer.url,
            "id_token_signing_alg_values_supported": ["RS256", "HS256"],
            "claims_supported": ["sub", "email", "name"],
        }
        send_body(handler, json.dumps(document).encode())

    server = scripted_server(respond)
    return f"https://127.0.0.1:{server.httpd.server_address[1]}/realms/acme"


def test_discover_fills_the_form_shows_what_it_found_and_saves_nothing(
    admin_client, scripted_server, issuer
):
    issuer_url = _discovery_server(scripted_server, issuer)
    response = admin_client.get(reverse(ADD_URL), {"discover": issuer_url})
    values = initial(response)
    assert (values["issuer"], values["jwks_url"]) == (issuer_url, issuer.url)
    assert values["algorithms"] == ["RS256"]
    assert values["map_name"] == "name"
    [shown] = [m for m in messages_of(response) if m.startswith("Discovered:")]
    assert f"names issuer {issuer_url}, JWKS {issuer.url}, algorithms RS256" in shown
    assert "ignored, not supported here: HS256" in shown
    assert not TrustedAuthTokenProfile.objects.exists()
    assert issuer.requests == 0  # the JWKS itself is fetched when the form is saved

    data = profile_form(
        public_key_type="JWK",
        issuer=values["issuer"],
        jwks_url=values["jwks_url"],
        algorithms=values["algorithms"],
    )
    assert admin_client.post(reverse(ADD_URL), data).status_code == 302
    assert TrustedAuthTokenProfile.objects.get().issuer == issuer_url


def test_discover_refuses_a_document_naming_another_issuer(admin_client, scripted_server, issuer):
    issuer_url = _discovery_server(scripted_server, issuer, name_issuer=lambda url: url + "/")
    response = admin_client.get(reverse(ADD_URL), {"discover": issuer_url})
    [shown] = [m for m in messages_of(response) if m.startswith("Discovery failed:")]
    assert "differ only by a trailing slash" in shown
    values = initial(response)
    assert values["issuer"] == issuer_url and not values["jwks_url"]
