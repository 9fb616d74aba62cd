"""Consumer users managed by the backend (``/v1/users``, the CLI, the admin): a user created
here is a pre-provisioned identity with no issuer link yet.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from trusted_auth import ids, signals
from trusted_auth.audit.changes import record_change
from trusted_auth.audit.events import RequestContext
from trusted_auth.errors import (
    BadRequest,
    DuplicateEmail,
    DuplicateExternalId,
    UserNotFound,
)
from trusted_auth.identities import search
from trusted_auth.identities.emails import (
    ascii_lower,
    django_users_with_email,
    email_fragment,
    email_list_filter,
    validate_email_address,
)
from trusted_auth.models import Session, UserIdentity
from trusted_auth.models.identities import DELETED
from trusted_auth.sessions.sessions import json_depth
from trusted_auth.timeutil import rfc3339

# Stytch: "alphanumeric, ., _, or - characters with a maximum length of 128 characters".
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
USER_ID_PREFIX = f"{ids.USER}-"
NAME_PARTS = ("first_name", "middle_name", "last_name")
MAX_METADATA_BYTES = 4096
MAX_METADATA_DEPTH = 16


def validate_external_id(
    value: Any, field: str = "external_id", *, id_prefix: str | None = None
) -> str:
    """``""`` (none) or an external id as Stytch allows it. ``id_prefix``: the prefix of the
    ids the same lookup accepts (``user-``), which an external id must not start with: a
    reference that starts with it is read as an id and only an id."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not EXTERNAL_ID.fullmatch(value):
        raise BadRequest(f"{field}: up to 128 letters, digits, '.', '_' or '-'")
    if id_prefix and value.lower().startswith(id_prefix):
        raise BadRequest(f"{field}: {value!r} starts with {id_prefix!r}, which only ids do")
    return value


def validate_name(value: Any) -> dict[str, str]:
    """A Stytch ``name`` object: ``first_name``, ``middle_name``, ``last_name`` strings."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - set(NAME_PARTS):
        raise BadRequest(f"name must be an object with {', '.join(NAME_PARTS)}")
    if not all(isinstance(v, str | None) and len(v or "") <= 150 for v in value.values()):
        raise BadRequest("name: each part must be a string of at most 150 characters")
    return {k: v for k, v in value.items() if v}


def validate_metadata(value: Any, field: str = "trusted_metadata") -> dict[str, Any]:
    """A JSON object of at most 4 KiB and 16 levels (what is stored and returned as is)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be a JSON object")
    if json_depth(value) > MAX_METADATA_DEPTH:
        raise BadRequest(f"{field} nests deeper than {MAX_METADATA_DEPTH} levels")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_METADATA_BYTES:
        raise BadRequest(f"{field} is larger than {MAX_METADATA_BYTES} bytes")
    return value


def _identities():
    return UserIdentity.objects.select_related("django_user").exclude(status=DELETED)


def get_user(reference: Any) -> UserIdentity:
    """A live (not deleted) user by its ``user_id`` (a ``user-…`` reference) or else its
    ``external_id``."""
    if not isinstance(reference, str) or not reference or "\x00" in reference:
        raise BadRequest("user_id is required")
    if reference.startswith(USER_ID_PREFIX):  # an id and only an id
        identity = _identities().filter(user_id=reference).first()
    else:
        # external_id is unique among identities the API or CLI made; a JIT user gets its
        # token's external id only when no other identity has it.
        matches = list(_identities().filter(external_id=reference)[:2])
        identity = matches[0] if len(matches) == 1 else None
    if identity is None:
        raise UserNotFound(f"no user {reference[:80]!r}")
    return identity


def _check_external_id_free(external_id: str, identity: UserIdentity | None = None) -> None:
    taken = UserIdentity.objects.filter(external_id=external_id)
    if identity is not None:
        taken = taken.exclude(pk=identity.pk)
    if external_id and taken.exists():
        raise DuplicateExternalId(f"another user has the external_id {external_id!r}")


def create_user(
    *,
    email: Any,
    name: Any = None,
    external_id: Any = None,
    trusted_metadata: Any = None,
    context: RequestContext | None = None,
) -> UserIdentity:
    """Pre-provision a user: a new Django user (unusable password) and its identity. An email
    an identity or Django user already has is refused (``duplicate_email``): making an existing
    account claimable is an explicit link, never a side effect of an API call."""
    email = validate_email_address(email)
    name = validate_name(name)
    external_id = validate_external_id(external_id, id_prefix=USER_ID_PREFIX)
    trusted_metadata = validate_metadata(trusted_metadata)
    user_model = get_user_model()
    email_field = user_model.get_email_field_name()
    key = ascii_lower(email)
    if UserIdentity.objects.alias(email_lower=Lower("email")).filter(
        email_lower=key
    ).exists() or django_users_with_email(key):
        raise DuplicateEmail(f"a user with the email {email} already exists")
    _check_external_id_free(external_id)
    identity = UserIdentity(
        email=email, name=name, external_id=external_id, trusted_metadata=trusted_metadata
    )
    fields = {email_field: email}
    if user_model.USERNAME_FIELD not in fields:
        fields[user_model.USERNAME_FIELD] = identity.user_id
    try:
        with transaction.atomic():
            user = user_model._default_manager.create_user(**fields)
            identity.django_user = user
            identity.save()
            record_change("user_create", user_id=identity.user_id, context=context)
    except IntegrityError as e:
        # A concurrent create took the email or external id between our checks and the insert.
        raise DuplicateEmail(f"a user with the email {email} or this external_id exists") from e
    signals.user_provisioned.send(sender=UserIdentity, identity=identity, user=user, profile=None)
    return identity


def search_users(*, query: Any = None, cursor: Any = None, limit: Any = None) -> search.Page:
    """Users matching a Stytch search ``query``; filters ``user_id``, ``email_address``,
    ``email_address_fuzzy``, ``external_id`` and ``status``."""
    condition = search.query_filter(
        query,
        {
            "user_id": lambda v: Q(user_id__in=search.string_list("user_id", v)),
            "email_address": email_list_filter("email_address"),
            "email_address_fuzzy": lambda v: email_fragment(
                "email", search.string_value("email_address_fuzzy", v), "email_address_fuzzy"
            ),
            "external_id": lambda v: Q(external_id__in=search.string_list("external_id", v)),
            "status": lambda v: Q(status=search.string_value("status", v)),
        },
    )
    return search.paginate(
        _identities().alias(email_lower=Lower("email")).filter(condition),
        cursor=cursor,
        limit=limit,
    )


def update_user(
    reference: Any,
    *,
    name: Any = None,
    trusted_metadata: Any = None,
    external_id: Any = None,
    context: RequestContext | None = None,
) -> UserIdentity:
    """Change a user's name, trusted metadata or external id (``None`` leaves a field as is;
    ``name`` replaces the whole name, ``trusted_metadata`` the whole object)."""
    with transaction.atomic():
        identity = get_user(reference)
        identity = UserIdentity.objects.select_for_update().get(pk=identity.pk)
        changed = []
        if name is not None:
            identity.name = validate_name(name)
            changed.append("name")
        if trusted_metadata is not None:
            identity.trusted_metadata = validate_metadata(trusted_metadata)
            changed.append("trusted_metadata")
        if external_id is not None:
            identity.external_id = validate_external_id(external_id, id_prefix=USER_ID_PREFIX)
            _check_external_id_free(identity.external_id, identity)
            changed.append("external_id")
        if changed:
            try:
                with transaction.atomic():
                    identity.save(update_fields=changed)
            except IntegrityError as e:
                raise DuplicateExternalId("another user has this external_id") from e
        record_change("user_update", user_id=identity.user_id, context=context)
    return UserIdentity.objects.select_related("django_user").get(pk=identity.pk)


def delete_user(reference: Any, *, context: RequestContext | None = None) -> str:
    """Delete a user: its identity is marked ``deleted`` (kept, so no token can claim or
    re-adopt the account) and every live session it has is revoked at once. The Django user
    is the host's and is left alone. Returns the ``user_id``."""
    with transaction.atomic():
        identity = get_user(reference)
        UserIdentity.objects.filter(pk=identity.pk).update(status=DELETED)
        Session.objects.filter(user_id=identity.django_user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_change("user_delete", user_id=identity.user_id, context=context)
    return identity.user_id


def user_as_dict(identity: UserIdentity) -> dict[str, Any]:
    """A user as the CLI prints it."""
    return {
        "user_id": identity.user_id,
        "email": identity.email,
        "name": identity.name,
        "external_id": identity.external_id,
        "status": identity.status,
        "trusted_metadata": identity.trusted_metadata,
        "created_at": rfc3339(identity.created_at),
    }
