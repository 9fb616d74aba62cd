"""``authorization_check`` on authenticate is never ignored.

RBAC policies are not configured on this deployment yet, so an authenticate that asks for an
authorization check is refused with ``400 authorization_check_unsupported`` rather than answered
200 for a session that holds no role: a host relying on the check would authorize everyone. The
refusal leaves the session live. Consumer through the official SDK over TLS; B2B through the
test client.
"""

from __future__ import annotations

import pytest
from stytch.core.response_base import StytchError

from trusted_auth.identities.organizations import create_organization
from trusted_auth.models import Session

CHECK = {"resource_id": "documents", "action": "read"}


def test_the_sdk_authorization_check_is_refused_and_the_session_stays_live(
    sdk, pem_profile, token_factory
):
    attested = sdk.sessions.attest(
        profile_id=pem_profile.profile_id, token=token_factory(), session_duration_minutes=60
    )

    for credential in ("session_token", "session_jwt"):
        with pytest.raises(StytchError) as caught:
            sdk.sessions.authenticate(
                **{credential: getattr(attested, credential)}, authorization_check=CHECK
            )
        details = caught.value.details
        assert (details.status_code, details.error_type) == (
            400,
            "authorization_check_unsupported",
        )
        assert "RBAC" in details.error_message and details.request_id

    row = Session.objects.get()
    assert row.revoked_at is None
    assert sdk.sessions.authenticate(session_token=attested.session_token).status_code == 200


def test_the_b2b_authorization_check_is_refused_and_the_session_stays_live(
    api, pem_profile, token_factory
):
    organization = create_organization(name="Acme Corp")
    attested = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "organization_id": organization.organization_id,
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()
    check = {"organization_id": organization.organization_id, **CHECK}

    response = api.post(
        "/v1/b2b/sessions/authenticate",
        {"session_token": attested["session_token"], "authorization_check": check},
        format="json",
    )

    body = response.json()
    assert response.status_code == 400, body
    assert body["error_type"] == "authorization_check_unsupported"
    assert body["error_url"].endswith("#authorization_check_unsupported")
    assert Session.objects.get().revoked_at is None
    # No check asked (absent or null): the ordinary authenticate.
    for extra in ({}, {"authorization_check": None}):
        response = api.post(
            "/v1/b2b/sessions/authenticate",
            {"session_token": attested["session_token"], **extra},
            format="json",
        )
        assert response.status_code == 200, response.json()
