"""``trusted_auth/openapi.yaml``: a valid OpenAPI 3.1 document that covers every route we
serve, and that real responses of every endpoint (success and error envelopes) conform to."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import yaml
from django.urls import URLPattern, URLResolver
from openapi_spec_validator import validate

from trusted_auth import urls
from trusted_auth.api.docs_views import openapi_document
from trusted_auth.error_catalog import ERRORS
from trusted_auth.internal.http import error_body

pytestmark = pytest.mark.django_db

DOCUMENT = yaml.safe_load(openapi_document())
METHODS = ("get", "post", "put", "delete", "patch")


def _templates() -> set[str]:
    """Our routes as OpenAPI path templates (``<str:user_id>`` → ``{user_id}``)."""
    found = set()
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver)
        route = str(pattern.pattern)
        if route.startswith("^"):
            continue  # the /v1/ catch-all: its 404 is documented as every path's error
        found.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return found


def _schema_for(template: str, method: str, status: int, content_type: str) -> dict[str, Any]:
    responses = DOCUMENT["paths"][template][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {template} does not document {status}"
    response = responses[str(status)]
    if "$ref" in response:
        response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response["content"]
    assert content_type in content, f"{method.upper()} {template} {status}: {content_type}"
    return content[content_type]["schema"]


def _check(schema: dict[str, Any], body: Any) -> None:
    jsonschema.validate(
        body,
        {**schema, "components": DOCUMENT["components"]},
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


CHECKED: set[tuple[str, str]] = set()


def conforms(template: str, method: str, response) -> Any:
    """Assert ``response`` matches the document for ``method template``; return its body."""
    content_type = response["Content-Type"].split(";")[0]
    schema = _schema_for(template, method, response.status_code, content_type)
    body = response.json() if content_type == "application/json" else response.content.decode()
    _check(schema, body)
    CHECKED.add((template, method))
    return body


def test_the_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_the_document_lists_every_route_and_no_other():
    documented = set(DOCUMENT["paths"])
    assert documented == _templates()
    for template, item in DOCUMENT["paths"].items():
        assert any(method in item for method in METHODS), template


def test_every_error_envelope_conforms():
    """Each error type, as the envelope builds it, validates against ErrorResponse."""
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    for error_type, info in ERRORS.items():
        _check(schema, error_body(info.status, error_type, "m", "request-id-1"))


def test_real_responses_of_every_endpoint_conform(
    api, api_secret, client, pem_profile, token_factory, settings
):
    project = settings.TRUSTED_AUTH["PROJECT_ID"]
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "METRICS_ENABLED": True}

    # Sessions, consumer.
    attested = conforms(
        "/v1/sessions/attest",
        "post",
        api.post(
            "/v1/sessions/attest",
            {
                "profile_id": pem_profile.profile_id,
                "token": token_factory(email="oa@example.com"),
                "session_duration_minutes": 60,
            },
            format="json",
        ),
    )
    no_session = conforms(
        "/v1/sessions/attest",
        "post",
        api.post(
            "/v1/sessions/attest",
            {"profile_id": pem_profile.profile_id, "token": token_factory(email="oa@example.com")},
            format="json",
        ),
    )
    assert no_session["session"] is None
    for status, body in [
        (401, {"profile_id": pem_profile.profile_id, "token": "not.a.jwt"}),
        (404, {"profile_id": "ttp-missing", "token": token_factory()}),
        (400, {"profile_id": pem_profile.profile_id}),
    ]:
        response = api.post("/v1/sessions/attest", body, format="json")
        assert response.status_code == status
        conforms("/v1/sessions/attest", "post", response)
    conforms("/v1/sessions/attest", "post", client.post("/v1/sessions/attest", {}))  # 401
    conforms("/v1/sessions/attest", "post", api.get("/v1/sessions/attest"))  # 405
    token = attested["session_token"]
    conforms(
        "/v1/sessions/authenticate",
        "post",
        api.post("/v1/sessions/authenticate", {"session_token": token}, format="json"),
    )
    conforms(
        "/v1/sessions/authenticate",
        "post",
        api.post("/v1/sessions/authenticate", {"session_token": "nope"}, format="json"),
    )
    conforms(
        "/v1/sessions",
        "get",
        api.get("/v1/sessions", {"user_id": attested["user_id"]}),
    )
    conforms("/v1/sessions", "get", api.get("/v1/sessions"))  # 400
    conforms(
        "/v1/sessions/revoke",
        "post",
        api.post("/v1/sessions/revoke", {"session_token": token}, format="json"),
    )
    conforms(
        "/v1/sessions/revoke",
        "post",
        api.post("/v1/sessions/revoke", {"session_token": token}, format="json"),
    )  # 404 now
    for template in ("/v1/sessions/jwks/{project_id}", "/v1/b2b/sessions/jwks/{project_id}"):
        prefix = template.removesuffix("{project_id}")
        conforms(template, "get", client.get(prefix + project))
        conforms(template, "get", client.get(prefix + "project-other"))

    # Organizations and members, then B2B sessions.
    organization = conforms(
        "/v1/b2b/organizations",
        "post",
        api.post("/v1/b2b/organizations", {"organization_name": "OpenAPI Org"}, format="json"),
    )["organization"]
    org_id = organization["organization_id"]
    conforms(
        "/v1/b2b/organizations",
        "post",
        api.post("/v1/b2b/organizations", {"organization_slug": "x"}, format="json"),
    )  # 400: no name
    conforms(
        "/v1/b2b/organizations",
        "post",
        api.post(
            "/v1/b2b/organizations",
            {"organization_name": "Again", "organization_slug": organization["organization_slug"]},
            format="json",
        ),
    )  # 409
    template = "/v1/b2b/organizations/{organization_id}"
    conforms(template, "get", api.get(f"/v1/b2b/organizations/{org_id}"))
    conforms(template, "get", api.get("/v1/b2b/organizations/nope"))
    conforms(
        template,
        "put",
        api.put(f"/v1/b2b/organizations/{org_id}", {"trusted_metadata": {"a": 1}}, format="json"),
    )
    conforms(
        "/v1/b2b/organizations/search",
        "post",
        api.post("/v1/b2b/organizations/search", {"limit": 1}, format="json"),
    )
    conforms(
        "/v1/b2b/organizations/search",
        "post",
        api.post("/v1/b2b/organizations/search", {"limit": 0}, format="json"),
    )
    members = "/v1/b2b/organizations/{organization_id}/members"
    member = conforms(
        members,
        "post",
        api.post(
            f"/v1/b2b/organizations/{org_id}/members",
            {"email_address": "oa@example.com", "roles": ["stytch_member"]},
            format="json",
        ),
    )
    member_id = member["member_id"]
    conforms(
        members,
        "post",
        api.post(f"/v1/b2b/organizations/{org_id}/members", {"email_address": "x"}, format="json"),
    )
    one = "/v1/b2b/organizations/{organization_id}/members/{member_id}"
    conforms(one, "get", api.get(f"/v1/b2b/organizations/{org_id}/members/{member_id}"))
    conforms(one, "get", api.get(f"/v1/b2b/organizations/{org_id}/members/member-nobody"))
    conforms(
        one,
        "put",
        api.put(
            f"/v1/b2b/organizations/{org_id}/members/{member_id}", {"name": "OA"}, format="json"
        ),
    )
    conforms(
        "/v1/b2b/organizations/{organization_id}/member",
        "get",
        api.get(f"/v1/b2b/organizations/{org_id}/member", {"email_address": "oa@example.com"}),
    )
    conforms(
        "/v1/b2b/organizations/{organization_id}/member",
        "get",
        api.get(f"/v1/b2b/organizations/{org_id}/member"),
    )  # 400
    conforms(
        "/v1/b2b/organizations/members/search",
        "post",
        api.post(
            "/v1/b2b/organizations/members/search", {"organization_ids": [org_id]}, format="json"
        ),
    )
    b2b = conforms(
        "/v1/b2b/sessions/attest",
        "post",
        api.post(
            "/v1/b2b/sessions/attest",
            {
                "profile_id": pem_profile.profile_id,
                "token": token_factory(email="oa@example.com"),
                "organization_id": org_id,
            },
            format="json",
        ),
    )
    conforms(
        "/v1/b2b/sessions/attest",
        "post",
        api.post(
            "/v1/b2b/sessions/attest",
            {"profile_id": pem_profile.profile_id, "token": token_factory()},
            format="json",
        ),
    )  # 400: no organization
    conforms(
        "/v1/b2b/sessions/authenticate",
        "post",
        api.post(
            "/v1/b2b/sessions/authenticate", {"session_jwt": b2b["session_jwt"]}, format="json"
        ),
    )
    conforms(
        "/v1/b2b/sessions",
        "get",
        api.get("/v1/b2b/sessions", {"organization_id": org_id, "member_id": member_id}),
    )
    conforms(
        "/v1/b2b/sessions/revoke",
        "post",
        api.post("/v1/b2b/sessions/revoke", {"member_id": member_id}, format="json"),
    )
    conforms(
        "/v1/b2b/sessions/revoke",
        "post",
        api.post("/v1/b2b/sessions/revoke", {}, format="json"),
    )  # 400
    conforms(one, "delete", api.delete(f"/v1/b2b/organizations/{org_id}/members/{member_id}"))
    conforms(
        one + "/reactivate",
        "put",
        api.put(f"/v1/b2b/organizations/{org_id}/members/{member_id}/reactivate"),
    )
    conforms(template, "delete", api.delete(f"/v1/b2b/organizations/{org_id}"))
    conforms(template, "delete", api.delete(f"/v1/b2b/organizations/{org_id}"))  # 404 now

    # Users.
    user = conforms(
        "/v1/users",
        "post",
        api.post(
            "/v1/users",
            {"email": "new@example.com", "name": {"first_name": "N"}, "external_id": "n-1"},
            format="json",
        ),
    )
    conforms(
        "/v1/users", "post", api.post("/v1/users", {"email": "new@example.com"}, format="json")
    )  # 409
    conforms("/v1/users", "post", api.post("/v1/users", "x=1", content_type="text/plain"))  # 415
    user_template = "/v1/users/{user_id}"
    conforms(user_template, "get", api.get("/v1/users/n-1"))
    conforms(
        user_template,
        "put",
        api.put(f"/v1/users/{user['user_id']}", {"trusted_metadata": {"t": 1}}, format="json"),
    )
    conforms(
        user_template,
        "put",
        api.put(f"/v1/users/{user['user_id']}", {"name": "not an object"}, format="json"),
    )  # 400
    conforms(
        "/v1/users/search",
        "post",
        api.post(
            "/v1/users/search",
            {
                "query": {
                    "operator": "AND",
                    "operands": [{"filter_name": "external_id", "filter_value": ["n-1"]}],
                }
            },
            format="json",
        ),
    )
    conforms(user_template, "delete", api.delete(f"/v1/users/{user['user_id']}"))
    conforms(user_template, "get", api.get(f"/v1/users/{user['user_id']}"))  # 404

    # RBAC: the policy, organization policies, and a denied authorization check.
    for template in ("/v1/rbac/policy", "/v1/b2b/rbac/policy"):
        conforms(template, "get", api.get(template))
    org_policy = "/v1/b2b/rbac/organizations/{organization_id}"
    acme = api.post("/v1/b2b/organizations", {"organization_name": "RBAC"}, format="json")
    rbac_org = acme.json()["organization"]["organization_id"]
    conforms(org_policy, "get", api.get(f"/v1/b2b/rbac/organizations/{rbac_org}"))
    conforms(org_policy, "get", api.get("/v1/b2b/rbac/organizations/nope"))  # 404
    conforms(
        org_policy,
        "put",
        api.put(
            f"/v1/b2b/rbac/organizations/{rbac_org}",
            {"org_policy": {"roles": [{"role_id": "x", "description": "", "permissions": []}]}},
            format="json",
        ),
    )
    conforms(
        org_policy,
        "put",
        api.put(
            f"/v1/b2b/rbac/organizations/{rbac_org}",
            {"org_policy": {"roles": [{"role_id": "stytch_admin", "permissions": []}]}},
            format="json",
        ),
    )  # 400
    no_rbac_token = api.post(
        "/v1/sessions/attest",
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(email="rbac@example.com"),
            "session_duration_minutes": 60,
        },
        format="json",
    ).json()["session_token"]
    denied = api.post(
        "/v1/sessions/authenticate",
        {
            "session_token": no_rbac_token,
            "authorization_check": {"resource_id": "documents", "action": "read"},
        },
        format="json",
    )
    assert denied.status_code == 403
    conforms("/v1/sessions/authenticate", "post", denied)

    # Browser, operations, documentation.
    browser = conforms(
        "/browser/exchange",
        "post",
        client.post(
            "/browser/exchange",
            {"profile_id": pem_profile.profile_id, "token": token_factory(email="oa@example.com")},
            content_type="application/json",
        ),
    )
    assert browser["session_id"]
    conforms(
        "/browser/exchange",
        "post",
        client.post(
            "/browser/exchange",
            {"profile_id": pem_profile.profile_id, "token": "bad"},
            content_type="application/json",
        ),
    )
    conforms("/browser/logout", "post", client.post("/browser/logout"))
    conforms("/metrics", "get", client.get("/metrics"))
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "METRICS_ENABLED": False}
    conforms("/metrics", "get", client.get("/metrics"))  # 404
    conforms("/trusted_auth/errors", "get", client.get("/trusted_auth/errors"))
    _oauth_responses_conform(client, f"{project}:{api_secret}", token_factory)
    response = client.get("/trusted_auth/openapi.yaml")
    assert response.status_code == 200 and yaml.safe_load(response.content) == DOCUMENT
    CHECKED.add(("/trusted_auth/openapi.yaml", "get"))

    operations = {
        (template, method)
        for template, item in DOCUMENT["paths"].items()
        for method in METHODS
        if method in item
    }
    assert operations - CHECKED == set(), "operations no real response was checked against"


def _oauth_responses_conform(client, credentials: str, token_factory) -> None:
    """The OAuth face: form requests, RFC 6749 §5.2 errors."""
    for template in (
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ):
        conforms(template, "get", client.get(template))
    auth = "Basic " + base64.b64encode(credentials.encode()).decode()

    def form(path: str, authenticated: bool = True, **params: str):
        return client.post(
            path,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"authorization": auth} if authenticated else {},
        )

    tokens = conforms(
        "/oauth2/token",
        "post",
        form(
            "/oauth2/token",
            grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token=token_factory(email="oauth@example.com"),
            subject_token_type="urn:ietf:params:oauth:token-type:jwt",
        ),
    )
    conforms("/oauth2/token", "post", form("/oauth2/token", grant_type="password"))  # 400
    conforms("/oauth2/token", "post", form("/oauth2/token", False, grant_type="x"))  # 401
    conforms("/oauth2/token", "post", client.get("/oauth2/token"))  # 405
    for path in ("/oauth2/introspect", "/oauth2/revoke"):
        conforms(path, "post", form(path, token=tokens["access_token"]))
        conforms(path, "post", form(path))  # 400
        conforms(path, "post", form(path, False, token="x"))  # 401
