"""Session lifecycle endpoints, consumer and B2B: authenticate, revoke, list."""

from __future__ import annotations

from typing import Any

from trusted_auth.api.b2b_shapes import member_session_shape, member_shape, organization_shape
from trusted_auth.api.serializers import (
    AuthenticateRequestSerializer,
    B2BRevokeRequestSerializer,
    RevokeRequestSerializer,
)
from trusted_auth.api.shapes import session_shape, user_shape
from trusted_auth.api.throttling import AuthenticateIPThrottle
from trusted_auth.api.views import ServerAPIView
from trusted_auth.rbac.checks import authorize, parse_authorization_check
from trusted_auth.sessions.lifecycle import authenticate_session, live_sessions, revoke_sessions


class AuthenticateView(ServerAPIView):
    """``POST /v1/sessions/authenticate``."""

    member = False
    throttle_classes = [AuthenticateIPThrottle]

    def post(self, request):
        data = self.parse(AuthenticateRequestSerializer)
        # Parsed before the session is read: a malformed check leaves it as it was.
        check = parse_authorization_check(
            request.data.get("authorization_check"), member=self.member
        )
        result = authenticate_session(member=self.member, **data)
        session = result.session
        body: dict[str, Any] = {
            "session_token": result.session_token,
            "session_jwt": result.session_jwt,
        }
        if check is not None:
            # Never ignored: a denial is a 403 (the session stays live).
            granting = authorize(session, check.resource_id, check.action, check.organization_id)
            if self.member:
                body["verdict"] = {"authorized": True, "granting_roles": granting}
        if self.member:
            assert session.member is not None and session.organization is not None
            body.update(
                member_session=member_session_shape(session),
                member=member_shape(session.member),
                organization=organization_shape(session.organization),
            )
        else:
            assert session.user is not None
            identity = session.user.trusted_auth_identity
            body.update(session=session_shape(session, identity.user_id), user=user_shape(identity))
        return self.ok(body)


class B2BAuthenticateView(AuthenticateView):
    """``POST /v1/b2b/sessions/authenticate``."""

    member = True


class RevokeView(ServerAPIView):
    """``POST /v1/sessions/revoke``: by ``session_id``, ``session_token`` or ``session_jwt``."""

    def post(self, request):
        revoke_sessions(**self.parse(RevokeRequestSerializer))
        return self.ok({})


class B2BRevokeView(ServerAPIView):
    """``POST /v1/b2b/sessions/revoke``: also by ``member_id`` (all of that member's sessions)."""

    def post(self, request):
        data = self.parse(B2BRevokeRequestSerializer)
        data["session_id"] = data.pop("member_session_id", None)
        revoke_sessions(member=True, **data)
        return self.ok({})


class SessionListView(ServerAPIView):
    """``GET /v1/sessions?user_id=``: the user's live sessions."""

    def get(self, request):
        user_id = request.query_params.get("user_id")
        return self.ok(
            {
                "sessions": [
                    session_shape(session, user_id) for session in live_sessions(user_id=user_id)
                ]
            }
        )


class B2BSessionListView(ServerAPIView):
    """``GET /v1/b2b/sessions?organization_id=&member_id=``: the member's live sessions."""

    def get(self, request):
        sessions = live_sessions(
            organization_id=request.query_params.get("organization_id"),
            member_id=request.query_params.get("member_id"),
        )
        return self.ok({"member_sessions": [member_session_shape(s) for s in sessions]})
