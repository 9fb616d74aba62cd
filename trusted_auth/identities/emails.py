"""The one email rule (DESIGN.md §4 step 5): what address is accepted, and how two compare.

Every lookup and search of an address uses it. An address is accepted when it is plain ASCII
(a look-alike such as U+212A KELVIN SIGN for "K" is refused), at most 254 characters, free of
control characters and valid for Django's ``EmailValidator``; internationalised domains go in
their ``xn--`` form. It is stored as given and compared by ASCII case-folding only: ``lower()``,
``casefold()`` and the databases' ``LOWER`` fold look-alikes into ASCII, so a database match is
confirmed by that exact comparison. ASCII only, because Django's validator lets the Kelvin sign
through as a "k", and so SQLite's ASCII ``LOWER`` and PostgreSQL's Unicode one agree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from trusted_auth.errors import BadRequest
from trusted_auth.identities.search import string_list

MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, and the column's max_length
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# The stored address is printable ASCII: a filter with it keeps PostgreSQL's Unicode LOWER
# from matching a look-alike written before the rule (or by hand) to an ASCII key.
PRINTABLE_ASCII = r"^[ -~]+$"


def ascii_lower(text: str) -> str:
    """``text`` with A–Z lower-cased and nothing else changed."""
    return text.translate(_ASCII_LOWER)


def validate_email_address(value: Any, field: str = "email") -> str:
    """The address as given, when it meets the rule; else ``BadRequest`` naming ``field``."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{field} is required")
    if len(value) > MAX_EMAIL_LENGTH:
        raise BadRequest(
            f"{field} is not a valid email address: longer than {MAX_EMAIL_LENGTH} characters"
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise BadRequest(f"{field} is not a valid email address: it holds a control character")
    if not value.isascii():
        why = (
            "it holds a character that only looks like ASCII (such as U+212A KELVIN SIGN)"
            if unicodedata.normalize("NFC", value).isascii()  # U+212A's NFC is "K"
            else "an internationalised domain goes in its xn-- form"
        )
        raise BadRequest(f"{field} must be plain ASCII: {why}")
    try:
        validate_email(value)
    except ValidationError as e:
        raise BadRequest(f"{field} is not a valid email address") from e
    return value


def normalise_email(value: Any, field: str = "email") -> str:
    """The form two addresses are compared in: the rule's address, ASCII-lower-cased.
    ``BadRequest`` naming ``field`` when ``value`` does not meet the rule."""
    return ascii_lower(validate_email_address(value, field))


def same_email(stored: str, key: str) -> bool:
    """Whether a stored address (ours, or a host's Django user's, under no rule of ours) is the
    address ``key`` (a ``normalise_email`` result): the exact check after a database match,
    which may have folded Unicode case."""
    return ascii_lower(stored) == key


def email_in(alias: str, field: str, keys: list[str]) -> Q:
    """Rows whose ``field`` is one of ``keys`` (``normalise_email`` results), for a queryset
    that has ``alias`` = ``Lower(field)``: one ``IN`` list, and the stored address printable
    ASCII, so the match is exact on SQLite and PostgreSQL alike."""
    return Q(**{f"{alias}__in": keys, f"{field}__regex": PRINTABLE_ASCII})


def email_list_filter(name: str) -> Callable[[Any], Q]:
    """The search filter ``name`` whose value is a list of addresses, each held to the rule (a
    queryset aliasing ``email_lower`` = ``Lower("email")``)."""
    return lambda value: email_in(
        "email_lower", "email", [normalise_email(e, name) for e in string_list(name, value)]
    )


def email_fragment(field: str, fragment: str, name: str) -> Q:
    """Rows whose ``field`` contains ``fragment`` (a fuzzy filter ``name``), case-insensitively
    and ASCII only: a fragment outside printable ASCII is refused, naming the filter."""
    if not fragment.isascii() or not fragment.isprintable():
        raise BadRequest(f"filter {name}: filter_value must be printable ASCII")
    return Q(**{f"{field}__icontains": fragment, f"{field}__regex": PRINTABLE_ASCII})


def django_users_with_email(key: str, **filters: Any) -> list[Any]:
    """The host's Django users whose email is ``key`` (a ``normalise_email`` result), by the
    email rule: the database's case-insensitive match (Unicode on PostgreSQL), then the exact
    ASCII-folded comparison, so a look-alike address is never one of them."""
    user_model = get_user_model()
    field = user_model.get_email_field_name()
    candidates = user_model._default_manager.filter(**{f"{field}__iexact": key}, **filters)
    return [user for user in candidates if same_email(getattr(user, field) or "", key)]
