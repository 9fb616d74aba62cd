"""The example project's own pages: an API endpoint and a sign-in page using trusted_auth."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.contrib.rest_framework import BearerSessionAuthentication
from trusted_auth.models import TrustedAuthTokenProfile


def home(request):
    """``/``: what this project is and links to the admin, the API's documents and the JWKS."""
    return render(
        request,
        "example/home.html",
        {"base_url": trusted_auth_settings.ISSUER, "project_id": trusted_auth_settings.PROJECT_ID},
    )


@api_view(["GET"])
@authentication_classes([BearerSessionAuthentication])
@permission_classes([IsAuthenticated])
def whoami(request):
    """``GET /example/whoami`` with ``Authorization: Bearer <session_jwt or session_token>``."""
    user = request.user
    identity = getattr(user, "trusted_auth_identity", None)
    return Response(
        {
            "username": user.get_username() if hasattr(user, "get_username") else str(user),
            "email": user.email,
            "user_id": identity.user_id if identity else None,
            "session_id": getattr(request.auth, "session_id", None),
        }
    )


@ensure_csrf_cookie
def signin(request):
    """A page that posts an external token to trusted_auth's browser flow."""
    return render(
        request, "example/signin.html", {"profiles": TrustedAuthTokenProfile.objects.all()}
    )


@login_required(login_url="/example/signin")
def me(request):
    """An ordinary Django view: it sees the user the browser flow logged in."""
    return JsonResponse({"username": request.user.get_username(), "email": request.user.email})


class NoopView(APIView):
    """``GET /example/noop``: DRF with nothing to do, the floor the benchmark compares with."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({})
