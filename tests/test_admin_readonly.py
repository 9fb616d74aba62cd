"""The read-only admin mixin: audit events, sessions, signing keys and the inline lists cannot be
added, changed or deleted in the admin, and every field they show is read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from trusted_auth.admin.readonly import ReadOnlyAdminMixin
from trusted_auth.models import AuditEvent, Session, SigningKey
from trusted_auth.sessions.signing_keys import current_signing_key

READ_ONLY_MODELS = [AuditEvent, Session, SigningKey]


def read_only_admins(superuser):
    """Every registered ModelAdmin and inline of ours that uses the mixin."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    found = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "trusted_auth":
            continue
        if isinstance(model_admin, ReadOnlyAdminMixin):
            found.append(model_admin)
        found += [
            i
            for i in model_admin.get_inline_instances(request)
            if isinstance(i, ReadOnlyAdminMixin)
        ]
    return request, found


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def test_the_log_models_use_the_mixin(superuser):
    _, found = read_only_admins(superuser)
    models = {type(a).__name__: a.model for a in found}
    for model in READ_ONLY_MODELS:
        assert model in models.values(), model
    assert {"RecentSessionsInline", "MembersInline"} <= {
        type(a).__mro__[1].__name__
        if type(a).__name__.endswith("SessionsInline")
        else type(a).__name__
        for a in found
    } | set(models)


def test_no_add_change_or_delete_and_every_field_read_only(superuser):
    request, found = read_only_admins(superuser)
    for model_admin in found:
        assert not model_admin.has_add_permission(request), model_admin
        assert not model_admin.has_change_permission(request), model_admin
        assert not model_admin.has_delete_permission(request), model_admin
        shown = model_admin.get_fields(request)
        assert set(shown) <= set(model_admin.get_readonly_fields(request)), model_admin


def test_a_signing_key_page_is_a_view_page(client, superuser):
    key = current_signing_key()
    client.force_login(superuser)
    url = f"/admin/trusted_auth/signingkey/{key.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="kid"' not in page.content and key.kid.encode() in page.content
    assert client.post(url, {"kid": "x", "state": "retired"}).status_code == 403
    assert client.get("/admin/trusted_auth/signingkey/add/").status_code == 403
    assert client.post(f"/admin/trusted_auth/signingkey/{key.pk}/delete/").status_code == 403
    key.refresh_from_db()
    assert key.state == SigningKey.State.CURRENT
