"""The authentication backend behind the browser flow's ``login()`` (check W010)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend

from trusted_auth.identities.links import user_is_out

BACKEND = "trusted_auth.backends.TrustedAuthBackend"


class TrustedAuthBackend(BaseBackend):
    """Loads the users the browser flow logged in; never checks credentials of its own. It
    refuses inactive users and deleted identities on every request, so a deactivated account's
    browser sessions end at once."""

    def get_user(self, user_id: Any) -> Any | None:
        user = (
            get_user_model()
            ._default_manager.select_related("trusted_auth_identity")
            .filter(pk=user_id)
            .first()
        )
        return None if user is None or user_is_out(user) else user
