"""``/v1/users``: consumer users managed by the backend. Thin: parse, call ``identities.users``."""

from __future__ import annotations

from trusted_auth.api.management_serializers import (
    SearchSerializer,
    UserCreateSerializer,
    UserUpdateSerializer,
)
from trusted_auth.api.shapes import user_shape
from trusted_auth.api.views import ServerAPIView, request_context
from trusted_auth.identities import users


class UsersView(ServerAPIView):
    """``POST /v1/users``: create (pre-provision) a user."""

    def post(self, request):
        data = self.parse(UserCreateSerializer)
        identity = users.create_user(**data, context=request_context(request))
        shape = user_shape(identity)
        return self.ok(
            {
                "user_id": identity.user_id,
                "email_id": shape["emails"][0]["email_id"],
                "status": identity.status,
                "phone_id": "",
                "user": shape,
            }
        )


class UserSearchView(ServerAPIView):
    """``POST /v1/users/search``: filter by ``user_id``, ``email_address`` and more; cursor
    pagination."""

    def post(self, request):
        page = users.search_users(**self.parse(SearchSerializer))
        return self.ok(
            {
                "results": [user_shape(identity) for identity in page.results],
                "results_metadata": {"total": page.total, "next_cursor": page.next_cursor},
            }
        )


class UserView(ServerAPIView):
    """``GET``/``PUT``/``DELETE /v1/users/{user_id}`` (a user id or the user's external id)."""

    def get(self, request, user_id: str):
        return self.ok(user_shape(users.get_user(user_id)))

    def put(self, request, user_id: str):
        data = self.parse(UserUpdateSerializer)
        identity = users.update_user(user_id, **data, context=request_context(request))
        shape = user_shape(identity)
        return self.ok(
            {
                "user_id": identity.user_id,
                "emails": shape["emails"],
                "phone_numbers": [],
                "crypto_wallets": [],
                "user": shape,
            }
        )

    def delete(self, request, user_id: str):
        return self.ok({"user_id": users.delete_user(user_id, context=request_context(request))})
