"""Attest reads its profile from the cache; a change to the profile or its keys is seen at once."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.errors import TrustedAuthError
from trusted_auth.internal import generations
from trusted_auth.issuers import profiles

from .issuers import SigningPair
from .test_attest_rejections import assert_rejected, post_attest

# Committed transactions, as in production: a copy read inside a transaction is kept only once it
# commits, and pytest-django's per-test transaction never does.
pytestmark = pytest.mark.django_db(transaction=True)


def profile_queries(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if "trusted_auth_trustedauthtokenprofile" in q["sql"]
        or "trusted_auth_profilepublickey" in q["sql"]
    ]


def test_a_second_attest_does_not_read_the_profile_again(api, pem_profile, token_factory):
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    with CaptureQueriesContext(connection) as captured:
        response = post_attest(api, pem_profile.profile_id, token_factory())

    assert response.status_code == 200, response.json()
    assert profile_queries(captured) == []


def test_a_removed_pem_key_stops_verifying_at_once(api, pem_profile, signer, token_factory):
    replacement = SigningPair.rsa()
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200  # cached

    profiles.add_pem_key(pem_profile.profile_id, replacement.public_pem)
    old_key_id = pem_profile.pem_keys.order_by("id").first().key_id
    profiles.remove_pem_key(pem_profile.profile_id, old_key_id)

    assert_rejected(
        post_attest(api, pem_profile.profile_id, token_factory()),
        401,
        "invalid_trusted_auth_token",
        sessions=0,
    )
    response = post_attest(api, pem_profile.profile_id, token_factory(key=replacement))
    assert response.status_code == 200, response.json()


def test_a_profile_update_is_seen_by_the_next_attest(api, pem_profile, token_factory):
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    profiles.update_profile(pem_profile.profile_id, {"audience": "another-audience"})

    assert_rejected(
        post_attest(api, pem_profile.profile_id, token_factory()), 401, "jwt_invalid_audience"
    )


def test_a_deleted_profile_is_not_found_at_once(api, pem_profile, token_factory):
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    profiles.delete_profile(pem_profile.profile_id)

    response = post_attest(api, pem_profile.profile_id, token_factory())
    assert response.status_code == 404
    assert response.json()["error_type"] == "trusted_token_profile_not_found"


def test_the_cache_can_be_turned_off(api, pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "PROFILE_CACHE_SECONDS": 0}
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    with CaptureQueriesContext(connection) as captured:
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    assert profile_queries(captured) != []


class Rollback(Exception):
    pass


def test_a_profile_read_inside_a_rolled_back_transaction_is_never_used(
    api, pem_profile, token_factory
):
    assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200

    # A host's transaction changes the profile, attests (reading the changed profile), and
    # rolls back: the change never happened.
    with pytest.raises(Rollback), transaction.atomic():
        profiles.update_profile(pem_profile.profile_id, {"audience": "rolled-back"})
        rolled_back_generation = generations.value(generations.PROFILES)
        with pytest.raises(TrustedAuthError, match="audience"):
            attest(AttestRequest(profile_id=pem_profile.profile_id, token=token_factory()))
        raise Rollback

    # A committed change brings the counter back to the number the rolled-back read saw.
    profiles.update_profile(pem_profile.profile_id, {"name": "renamed"})
    assert generations.value(generations.PROFILES) == rolled_back_generation

    response = post_attest(api, pem_profile.profile_id, token_factory())
    assert response.status_code == 200, response.json()
