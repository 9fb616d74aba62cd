"""Public ids in the admin (issue 16): what the CLI and the API print opens the object in the
admin, as a URL and as a search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import ApiSecret, UserIdentity


@pytest.fixture
def objects(pem_profile, token_factory, api_secret):
    session = attest(
        AttestRequest(
            profile_id=pem_profile.profile_id,
            token=token_factory(email="ada@example.com"),
            session_duration_minutes=60,
        )
    ).session
    organization = create_organization(name="Acme", slug="acme")
    member = create_member(organization=organization, email="grace@acme.com")
    return {
        "trustedauthtokenprofile": (pem_profile, pem_profile.profile_id),
        "useridentity": (
            UserIdentity.objects.get(email="ada@example.com"),
            UserIdentity.objects.get(email="ada@example.com").user_id,
        ),
        "session": (session, session.session_id),
        "organization": (organization, organization.organization_id),
        "member": (member, member.member_id),
        "apisecret": (ApiSecret.objects.get(), ApiSecret.objects.get().secret_id),
    }


MODELS = [
    "trustedauthtokenprofile",
    "useridentity",
    "session",
    "organization",
    "member",
    "apisecret",
]
PREFIXES = {
    "trustedauthtokenprofile": "ttp-",
    "useridentity": "user-",
    "session": "session-",
    "organization": "organization-",
    "member": "member-",
    "apisecret": "",
}


@pytest.mark.parametrize("model", MODELS)
def test_the_change_page_opens_by_public_id(admin_client, objects, model):
    obj, public_id = objects[model]
    assert public_id.startswith(PREFIXES[model])
    url = f"/admin/trusted_auth/{model}/{public_id}/change/"
    assert url == reverse(f"admin:trusted_auth_{model}_change", args=[public_id])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["original"] == obj
    # The integer id of old links still works.
    by_pk = admin_client.get(reverse(f"admin:trusted_auth_{model}_change", args=[obj.pk]))
    assert by_pk.status_code == 200 and by_pk.context["original"] == obj


@pytest.mark.parametrize("model", MODELS)
def test_an_unknown_public_id_says_it_does_not_exist(admin_client, objects, model):
    response = admin_client.get(
        f"/admin/trusted_auth/{model}/{PREFIXES[model]}00000000-0000-4000-8000-000000000000/change/",
        follow=True,
    )
    assert response.status_code == 200
    assert "doesn’t exist" in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_the_change_list_links_to_public_id_urls(admin_client, objects, model):
    obj, public_id = objects[model]
    page = admin_client.get(reverse(f"admin:trusted_auth_{model}_changelist")).content.decode()
    assert f'href="/admin/trusted_auth/{model}/{public_id}/change/"' in page


@pytest.mark.parametrize("model", MODELS)
def test_the_admin_search_finds_an_object_by_its_public_id(admin_client, objects, model):
    obj, public_id = objects[model]
    response = admin_client.get(reverse(f"admin:trusted_auth_{model}_changelist"), {"q": public_id})
    assert list(response.context["cl"].result_list) == [obj]


def test_sessions_are_found_by_profile_and_organization_id(admin_client, objects, pem_profile):
    session, _ = objects["session"]
    url = reverse("admin:trusted_auth_session_changelist")
    assert list(admin_client.get(url, {"q": pem_profile.profile_id}).context["cl"].result_list) == [
        session
    ]
    organization, organization_id = objects["organization"]
    assert list(admin_client.get(url, {"q": organization_id}).context["cl"].result_list) == []


def test_members_are_found_by_organization_id(admin_client, objects):
    member, _ = objects["member"]
    _, organization_id = objects["organization"]
    url = reverse("admin:trusted_auth_member_changelist")
    assert list(admin_client.get(url, {"q": organization_id}).context["cl"].result_list) == [member]


def test_the_profile_test_page_opens_by_public_id(admin_client, pem_profile):
    response = admin_client.get(
        f"/admin/trusted_auth/trustedauthtokenprofile/{pem_profile.profile_id}/test-token/"
    )
    assert response.status_code == 200 and response.context["profile"] == pem_profile
