"""Request body parsing with explicit caps (``trusted_auth.internal.json_limits``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.utils import json as drf_json

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.internal.json_limits import (
    MAX_BODY_BYTES,
    MAX_BODY_JSON_DEPTH,
    bounded_loads,
)


def body_limit() -> int:
    """``MAX_BODY_BYTES``, raised when a deployment allows tokens so large that a body with one
    would not fit (``MAX_TOKEN_BYTES`` is a setting)."""
    return max(MAX_BODY_BYTES, 4 * int(trusted_auth_settings.MAX_TOKEN_BYTES))


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with a size cap (``body_limit()``) and a nesting cap
    (``MAX_BODY_JSON_DEPTH``) checked on the text before it is parsed, so a hostile body is a
    ``400 bad_request`` on every interpreter, never a ``RecursionError`` or a slow parse."""

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return {}
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = body_limit()
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise ParseError(f"JSON parse error - the body is larger than {limit} bytes")
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return bounded_loads(
                raw.decode(encoding), max_depth=MAX_BODY_JSON_DEPTH, parse_constant=parse_constant
            )
        except ValueError as e:  # JSONLimitExceeded, JSONDecodeError, UnicodeDecodeError
            raise ParseError(f"JSON parse error - {e}") from e


class JSONRequired(BaseParser):
    """Listed after the JSON parser, it matches every other body (a form, ``text/plain``, no
    ``Content-Type`` at all: what ``curl -d`` sends without ``-H``) and refuses it with a 415
    that says what to send, where DRF would only name the media type."""

    media_type = "*/*"

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        hint = "send the body as JSON with the header Content-Type: application/json"
        if not media_type:
            raise UnsupportedMediaType("", detail=f"The body has no Content-Type: {hint}")
        shown = media_type[:100] + ("…" if len(media_type) > 100 else "")
        raise UnsupportedMediaType(media_type, detail=f'Unsupported media type "{shown}": {hint}')
