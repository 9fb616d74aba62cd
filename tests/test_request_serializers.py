"""Request bodies the DRF serializers refuse: the client sees 400 ``bad_request`` in the
documented envelope, with one message naming each bad field in declaration order."""

from __future__ import annotations

import pytest

from trusted_auth.models import AuditEvent

CASES = [
    (
        "/v1/sessions/attest",
        {"profile_id": "", "token": []},
        "profile_id: This field may not be blank.; token: Not a valid string.",
    ),
    ("/v1/sessions/attest", {"profile_id": "ttp-1"}, "token: This field is required."),
    (
        "/v1/sessions/attest",
        {"profile_id": "p" * 129, "token": "t", "session_token": {"a": 1}},
        "profile_id: Ensure this field has no more than 128 characters.; "
        "session_token: Not a valid string.",
    ),
    (
        "/v1/b2b/sessions/attest",
        {"profile_id": None, "token": "t", "organization_id": True},
        "profile_id: This field may not be null.; organization_id: Not a valid string.",
    ),
    ("/v1/sessions/authenticate", {"session_jwt": ["x"]}, "session_jwt: Not a valid string."),
    (
        "/v1/sessions/revoke",
        {"session_id": 5.5, "session_token": False},
        "session_token: Not a valid string.",
    ),
    ("/v1/b2b/sessions/revoke", {"member_id": {}}, "member_id: Not a valid string."),
    ("/v1/users", {"name": "Ada"}, "email: This field is required."),
    (
        "/v1/b2b/organizations/members/search",
        {"limit": 5},
        "organization_ids: This field is required.",
    ),
]


@pytest.mark.parametrize(
    "path, body, message", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)]
)
def test_a_bad_field_is_a_bad_request_naming_it(api, path, body, message):
    response = api.post(path, body, format="json")
    answer = response.json()
    assert response.status_code == 400, answer
    assert answer["error_type"] == "bad_request"
    assert answer["error_message"] == message
    assert set(answer) == {"status_code", "request_id", "error_type", "error_message", "error_url"}


def test_a_malformed_attest_is_audited(api):
    response = api.post("/v1/sessions/attest", {"profile_id": "ttp-x", "token": []}, format="json")
    assert response.status_code == 400
    event = AuditEvent.objects.get()
    assert event.outcome == "failure" and event.error_type == "bad_request"
    assert event.requested_profile_id == "ttp-x"
    assert event.error_message == "token: Not a valid string."


def test_fields_a_serializer_does_not_declare_are_ignored(api):
    """Stytch SDKs send fields we do not implement (``telemetry_id``, others): accepted."""
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": "ttp-none", "token": "t", "telemetry_id": None, "unknown": [1]},
        format="json",
    )
    assert response.status_code == 404, response.json()
    assert response.json()["error_type"] == "trusted_token_profile_not_found"
