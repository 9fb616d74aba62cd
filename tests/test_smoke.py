import pytest

from trusted_auth.models import AuditEvent, Session


@pytest.mark.django_db
def test_attest_starts_a_session(api, pem_profile, token_factory):
    response = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["session"]["user_id"] == body["user_id"]
    assert body["session_token"] and body["session_jwt"]
    assert Session.objects.count() == 1
    assert AuditEvent.objects.get().outcome == "success"
