"""Unpadded base64url (RFC 7515 §2), the form of every JWS segment we accept: one check that a
segment is spelled canonically, and one decoder."""

from __future__ import annotations

import base64
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
# Base64url characters whose unused low bits are zero: 4 bits (A=0, Q=16, g=32, w=48) ending a
# text of length 4k+2, 2 bits (multiples of 4) ending one of length 4k+3.
_CANONICAL_LAST_CHARACTER = {2: "AQgw", 3: "AEIMQUYcgkosw048"}


def is_canonical(segment: str) -> bool:
    """Only the base64url alphabet, no padding, and zero unused bits in the last character.

    Decoders ignore those bits, so without this check one signature has several spellings: a
    different token string for the same signed token.
    """
    if not _ALPHABET.fullmatch(segment):
        return False
    remainder = len(segment) % 4
    return remainder == 0 or segment[-1] in _CANONICAL_LAST_CHARACTER.get(remainder, "")


def decode(segment: str) -> bytes:
    """The bytes of an unpadded segment (check it with ``is_canonical`` first where the
    spelling matters: the decoder itself is lenient)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
