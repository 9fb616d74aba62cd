"""The Django authentication backend behind the browser flow's ``login()``.

Add it to ``AUTHENTICATION_BACKENDS`` (check ``trusted_auth.W010`` says so when it is missing):
Django remembers which backend logged a browser in and asks that backend for the user on every
later request. It authenticates nothing itself — the browser flow logs in the user a verified
token resolved to — and on each request it refuses inactive users and deleted identities, so a
deactivated account's browser sessions end at once. Permissions still come from the other
backends (``ModelBackend``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend

from trusted_auth.identities.links import user_is_out

BACKEND = "trusted_auth.backends.TrustedAuthBackend"


class TrustedAuthBackend(BaseBackend):
    """Loads the users the browser flow logged in; never checks credentials of its own."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> Any | None:
        user = (
            get_user_model()
            ._default_manager.select_related("trusted_auth_identity")
            .filter(pk=user_id)
            .first()
        )
        return None if user is None or user_is_out(user) else user
