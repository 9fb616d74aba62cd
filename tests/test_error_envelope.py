"""One error envelope: the browser flow answers every failure through the API's mapper
(``api.envelope.error_answer``), so the same failure reads the same from either entry point:
``{status_code, request_id, error_type, error_message, error_url}`` and the same headers."""

from __future__ import annotations

from typing import Any

from django.test import Client

from trusted_auth.adapter import DefaultTrustedAuthAdapter

ENVELOPE = {"status_code", "request_id", "error_type", "error_message", "error_url"}


class FailingHookAdapter(DefaultTrustedAuthAdapter):
    """A host hook with a bug in it."""

    def pre_sign_in(self, profile: Any, attributes: Any, principal: Any) -> None:
        raise RuntimeError("the host's pre_sign_in hook has a bug")


def through_api(api, body: dict):
    return api.post("/v1/sessions/attest", {**body, "session_duration_minutes": 60}, format="json")


def through_browser(body: dict):
    return Client().post("/browser/exchange", body, content_type="application/json")


def same_answer(api_response, browser_response) -> dict:
    """The two answers agree on everything but the request id."""
    api_body, browser_body = api_response.json(), browser_response.json()
    assert set(api_body) == set(browser_body) == ENVELOPE
    assert api_response.status_code == browser_response.status_code == api_body["status_code"]
    assert {k: v for k, v in api_body.items() if k != "request_id"} == {
        k: v for k, v in browser_body.items() if k != "request_id"
    }
    assert browser_body["request_id"].startswith("request-id-")
    assert api_response.get("Retry-After") == browser_response.get("Retry-After")
    return browser_body


def test_an_unexpected_failure_is_the_api_envelope_in_the_browser_flow_too(
    api, pem_profile, token_factory, settings
):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "ADAPTER": f"{__name__}.FailingHookAdapter",
    }
    body = {"profile_id": pem_profile.profile_id}

    answer = same_answer(
        through_api(api, {**body, "token": token_factory()}),
        through_browser({**body, "token": token_factory()}),
    )

    assert answer["status_code"] == 500 and answer["error_type"] == "internal_server_error"
    assert "pre_sign_in" not in answer["error_message"]  # no internals in the answer


def test_a_domain_error_reads_the_same_from_both(api, db):
    body = {"profile_id": "ttp-00000000-0000-0000-0000-000000000000", "token": "x.y.z"}

    answer = same_answer(through_api(api, body), through_browser(body))

    assert answer["error_type"] == "trusted_token_profile_not_found"


def test_the_browser_rate_limit_answers_like_the_api(pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "THROTTLE_RATES": {**settings.TRUSTED_AUTH.get("THROTTLE_RATES", {}), "browser_ip": "1/m"},
    }
    body = {"profile_id": pem_profile.profile_id, "token": token_factory()}
    assert through_browser(body).status_code == 200

    response = through_browser({**body, "token": token_factory()})

    answer = response.json()
    assert response.status_code == 429 and answer["error_type"] == "too_many_requests"
    assert set(answer) == ENVELOPE
    assert 1 <= int(response["Retry-After"]) <= 61
