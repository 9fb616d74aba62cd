"""The API's own documentation, served by the deployment: the OpenAPI document and the Errors
reference that every ``error_url`` points at. Public: both describe only the API."""

from __future__ import annotations

from functools import cache
from importlib import resources

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from trusted_auth.error_catalog import ERRORS


@cache
def openapi_document() -> bytes:
    """The bytes of ``trusted_auth/openapi.yaml`` as shipped in the package."""
    return resources.files("trusted_auth").joinpath("openapi.yaml").read_bytes()


@require_safe
def openapi_view(request: HttpRequest) -> HttpResponse:
    """``GET <mount>/trusted_auth/openapi.yaml``; mount it elsewhere with
    ``path("…", openapi_view)`` if you prefer."""
    response = HttpResponse(openapi_document(), content_type="application/yaml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def errors_view(request: HttpRequest) -> HttpResponse:
    """``GET <mount>/trusted_auth/errors``: every ``error_type``, one ``id`` anchor each."""
    entries = [
        {"error_type": name, "status": info.status, "meaning": info.meaning, "fix": info.fix}
        for name, info in ERRORS.items()
    ]
    response = render(request, "trusted_auth/errors.html", {"errors": entries})
    response["Cache-Control"] = "public, max-age=3600"
    return response
