"""The host side of RBAC: ``HasPermission`` on a DRF view with ``BearerSessionAuthentication``
(session JWT or session token), and ``permission_required`` on a plain Django view."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from trusted_auth.contrib.decorators import permission_required
from trusted_auth.contrib.rest_framework import BearerSessionAuthentication, HasPermission
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import OrganizationRbacPolicy, RbacPolicy

from .test_authorization_check import MAPPING, POLICY


class WriteDocuments(APIView):
    authentication_classes = [BearerSessionAuthentication]
    permission_classes = [HasPermission("documents", "write")]

    def post(self, request):
        return Response({"ok": True})


@permission_required("documents", "write")
def plain_write(request):
    return HttpResponse("ok")


def call(view, credential: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {credential}"} if credential else {}
    return view(APIRequestFactory().post("/documents", **headers))


@pytest.fixture
def editor_session(api, profile_factory, signer, token_factory):
    RbacPolicy.objects.create(**POLICY)
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping=MAPPING,
        grantable_roles=["editor"],
    )

    def attest(roles: list[str]):
        return api.post(
            "/v1/sessions/attest",
            {
                "profile_id": profile.profile_id,
                "token": token_factory(roles=roles),
                "session_duration_minutes": 60,
            },
            format="json",
        ).json()

    return attest


def test_has_permission_with_a_session_jwt_or_token(editor_session):
    editor, nobody = editor_session(["editor"]), editor_session([])
    view = WriteDocuments.as_view()

    for credential in ("session_jwt", "session_token"):
        assert call(view, editor[credential]).status_code == 200
        assert call(view, nobody[credential]).status_code == 403
        assert call(plain_write, editor[credential]).status_code == 200
        assert call(plain_write, nobody[credential]).status_code == 403
    assert call(view, None).status_code == 401
    assert call(plain_write, None).status_code == 401


def test_a_policy_change_applies_on_the_next_request(editor_session):
    editor = editor_session(["editor"])
    view = WriteDocuments.as_view()
    assert call(view, editor["session_jwt"]).status_code == 200

    policy = RbacPolicy.objects.get()
    policy.roles = [r for r in policy.roles if r["role_id"] != "editor"]
    policy.save()

    assert call(view, editor["session_jwt"]).status_code == 403


def test_an_organization_role_counts_for_its_members(api, profile_factory, signer, token_factory):
    RbacPolicy.objects.create(**POLICY)
    profile = profile_factory(pem_keys=[signer.public_pem], attribute_mapping=MAPPING)
    acme = create_organization(name="Acme", slug="acme")
    OrganizationRbacPolicy.objects.create(
        organization=acme,
        roles=[
            {
                "role_id": "writer",
                "description": "",
                "permissions": [{"resource_id": "documents", "actions": ["write"]}],
            }
        ],
    )
    create_member(organization=acme, email="grace@example.com", roles=["writer"])
    session = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(email="grace@example.com"),
            "organization_id": acme.organization_id,
        },
        format="json",
    ).json()

    assert call(WriteDocuments.as_view(), session["session_jwt"]).status_code == 200
