"""B2B endpoints: ``/v1/b2b/sessions/…``. Thin: parse, call one service, shape the answer."""

from __future__ import annotations

from trusted_auth.api.b2b_shapes import member_session_shape, member_shape, organization_shape
from trusted_auth.api.serializers import B2BAttestRequestSerializer
from trusted_auth.api.views import AttestAPIView, JwksView, attest_arguments
from trusted_auth.attest import B2BAttestRequest, b2b_attest
from trusted_auth.internal.http import request_context


class B2BAttestView(AttestAPIView):
    """``POST /v1/b2b/sessions/attest``."""

    audit_action = "b2b_attest"

    def post(self, request):
        context = request_context(request)
        data = self.parse_attest(B2BAttestRequestSerializer, context, action="b2b_attest")
        result = b2b_attest(
            B2BAttestRequest(
                **attest_arguments(data),
                organization_id=data.get("organization_id"),
                context=context,
            )
        )
        assert result.session is not None  # a B2B attest always starts or extends one
        return self.ok(
            {
                "member_id": result.member.member_id,
                "member_session": member_session_shape(result.session),
                "session_token": result.session_token,
                "session_jwt": result.session_jwt,
                "member": member_shape(result.member),
                "organization": organization_shape(result.organization),
                "member_device": None,
            }
        )


class B2BJwksView(JwksView):
    """``GET /v1/b2b/sessions/jwks/<project_id>``: the same keys sign both kinds of session."""
