"""Explicit caps on outside JSON: size and nesting depth, checked on the text before
``json.loads`` runs (the same refusal whatever the interpreter's recursion limit), and no unpaired
surrogate in what it returns (I-JSON: no UTF-8 column or log line can hold one).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

# Deep enough for any real token header, claim set or request body (session custom claims are
# capped at 32 levels inside the body); far below any interpreter's recursion limit.
MAX_TOKEN_JSON_DEPTH = 32
MAX_BODY_JSON_DEPTH = 64
# The largest attest body is a token (8 KiB by default) and custom claims (4 KiB) plus a few ids.
MAX_BODY_BYTES = 64 * 1024

# A JSON string (with its escapes) or one bracket; strings are skipped so "[[[" inside one does
# not count.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
# Where an escaped surrogate may be: searched for in C, so the walk of the parsed value
# (``check_no_unpaired_surrogate``) runs only on text that has one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
# What ``json`` returns for an escape that is not half of a pair (a pair is one code point).
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONLimitExceeded(ValueError):
    """The JSON text is larger or nests deeper than allowed. A ``ValueError``, as ``json``'s
    own ``JSONDecodeError`` is, so callers that refuse malformed JSON refuse this too."""


class NotUTF8(ValueError):
    """JSON bytes that are not UTF-8, or that begin with a byte order mark. A ``ValueError``,
    like ``JSONLimitExceeded``."""


def utf8_text(raw: bytes) -> str:
    """``raw`` decoded as UTF-8, strictly: no byte order mark, no invalid sequence (an encoded
    surrogate is one), no NUL byte (JSON never holds a raw one, and NULs are what makes
    ``json.loads`` read UTF-16 or UTF-32), so bytes that pass parse the same wherever they are
    read again (PyJWT does, after the signature). Raises ``NotUTF8``."""
    if raw.startswith(codecs.BOM_UTF8):
        raise NotUTF8("JSON text begins with a byte order mark")
    if b"\x00" in raw:
        raise NotUTF8("JSON text holds a NUL byte (UTF-16 or UTF-32 text?)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotUTF8(f"JSON text is not UTF-8 ({e.reason} at byte {e.start})") from e


class UnpairedSurrogate(ValueError):
    """A JSON string (or key) escapes half a UTF-16 surrogate pair, alone. A ``ValueError``,
    like ``JSONLimitExceeded``."""


def check_no_unpaired_surrogate(text: str | bytes, value: Any) -> None:
    """Raise ``UnpairedSurrogate`` when ``value``, parsed from ``text``, holds one."""
    if isinstance(text, bytes | bytearray):
        escaped = _SURROGATE_ESCAPE_BYTES.search(text) is not None
    else:
        escaped = _SURROGATE_ESCAPE.search(text) is not None
    if not escaped:
        return
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item) is not None:
                raise UnpairedSurrogate(
                    "JSON holds an unpaired surrogate (an escape in \\ud800-\\udfff that is not "
                    "half of a pair), which no UTF-8 text can carry"
                )
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def json_text_depth(text: str | bytes, limit: int) -> int:
    """How deeply ``text`` nests arrays and objects, counting at most to ``limit + 1``. Works on
    malformed text too: the parser rejects that later."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "surrogatepass")
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def check_json_limits(text: str | bytes, *, max_depth: int, max_bytes: int | None = None) -> None:
    """Raise ``JSONLimitExceeded`` when ``text`` is over ``max_bytes`` or nests over
    ``max_depth``."""
    if max_bytes is not None:
        size = len(text) if isinstance(text, bytes | bytearray) else len(text.encode())
        if size > max_bytes:
            raise JSONLimitExceeded(f"JSON is larger than {max_bytes} bytes")
    # Nesting needs an opening bracket per level: with no more of them in the whole text (in
    # strings too, so the count only overestimates), it cannot nest deeper; counting them runs
    # in C, while the exact scan below walks every string in Python.
    opening = (
        text.count(b"[") + text.count(b"{")
        if isinstance(text, bytes | bytearray)
        else (text.count("[") + text.count("{"))
    )
    if opening > max_depth and json_text_depth(text, max_depth) > max_depth:
        raise JSONLimitExceeded(f"JSON is nested deeper than {max_depth} levels")


def bounded_loads(
    text: str | bytes,
    *,
    max_depth: int = MAX_BODY_JSON_DEPTH,
    max_bytes: int | None = None,
    **loads_options: Any,
) -> Any:
    """``json.loads(text, **loads_options)`` after ``check_json_limits``: the same refusal on
    every interpreter; bytes are read as UTF-8 only (``utf8_text``); then
    ``check_no_unpaired_surrogate``."""
    check_json_limits(text, max_depth=max_depth, max_bytes=max_bytes)
    if isinstance(text, bytes | bytearray):
        text = utf8_text(bytes(text))
    value = json.loads(text, **loads_options)
    check_no_unpaired_surrogate(text, value)
    return value
