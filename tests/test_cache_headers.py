"""No cache may keep an answer that carries a session token or JWT: every server-API response
and error, and the browser flow's JSON answers, say ``Cache-Control: no-store``. The public
JWKS and the documentation stay cacheable."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.cache import get_max_age

from trusted_auth.identities.organizations import create_organization


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def assert_no_store(response) -> None:
    found = directives(response)
    assert "no-store" in found, (response.status_code, response.get("Cache-Control"))
    assert "public" not in found


def test_every_server_api_answer_is_no_store(api, pem_profile, token_factory, settings):
    attested = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert attested.status_code == 200 and attested.json()["session_token"]
    token = attested.json()["session_token"]
    organization = create_organization(name="Acme Corp")
    b2b = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "organization_id": organization.organization_id,
            "session_duration_minutes": 60,
        },
        format="json",
    )
    assert b2b.status_code == 200
    answers = [
        attested,
        b2b,
        api.post("/v1/sessions/authenticate", {"session_token": token}, format="json"),
        api.post(
            "/v1/b2b/sessions/authenticate",
            {"session_token": b2b.json()["session_token"]},
            format="json",
        ),
        api.get("/v1/sessions", {"user_id": attested.json()["user_id"]}),
        api.get(f"/v1/users/{attested.json()['user_id']}"),
        # Errors: bad input, unknown session, unknown path, wrong method, bad credentials.
        api.post("/v1/sessions/authenticate", {}, format="json"),
        api.post("/v1/sessions/authenticate", {"session_token": "nope"}, format="json"),
        api.get("/v1/no-such-endpoint"),
        api.get("/v1/sessions/authenticate"),
        Client().post("/v1/sessions/authenticate", {}, content_type="application/json"),
        Client().get("/v1/sessions/jwks/project-unknown"),
        api.post("/v1/sessions/revoke", {"session_token": token}, format="json"),
    ]
    statuses = sorted({a.status_code for a in answers})
    assert statuses == [200, 400, 401, 404, 405]
    for answer in answers:
        assert_no_store(answer)


def test_the_browser_flow_answers_are_no_store(pem_profile, token_factory):
    client = Client(enforce_csrf_checks=True)
    client.get("/example/signin")
    csrf = client.cookies["csrftoken"].value
    data = {"profile_id": pem_profile.profile_id}

    refused = client.post("/browser/exchange", {**data, "token": "bad"}, HTTP_X_CSRFTOKEN=csrf)
    assert refused.status_code == 401
    exchanged = client.post(
        "/browser/exchange", {**data, "token": token_factory()}, HTTP_X_CSRFTOKEN=csrf
    )
    assert exchanged.status_code == 200
    logout = client.post("/browser/logout", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert logout.status_code == 200

    for answer in (refused, exchanged, logout):
        assert_no_store(answer)


@pytest.mark.parametrize("path", ["/v1/sessions/jwks/{}", "/v1/b2b/sessions/jwks/{}"])
def test_the_jwks_stays_cacheable(db, client, settings, path):
    response = client.get(path.format(settings.TRUSTED_AUTH["PROJECT_ID"]))

    assert response.status_code == 200
    assert "public" in directives(response) and "no-store" not in directives(response)
    assert get_max_age(response) > 0


@pytest.mark.parametrize("path", ["/trusted_auth/openapi.yaml", "/trusted_auth/errors"])
def test_the_documentation_stays_cacheable(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert directives(response) == {"public", "max-age=3600"}
