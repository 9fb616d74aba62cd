"""Consumer identities: a Django user plus its ``UserIdentity`` companion (DESIGN.md §5)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from trusted_auth.errors import UserNotFound
from trusted_auth.models import TrustedAuthTokenProfile, UserIdentity


def _find(profile: TrustedAuthTokenProfile, attributes: dict[str, Any]) -> UserIdentity | None:
    external_id = attributes.get("external_user_id")
    if external_id:
        identity = (
            UserIdentity.objects.select_related("django_user")
            .filter(external_issuer=profile.issuer, external_id=external_id)
            .first()
        )
        if identity is not None:
            return identity
    # Lower(email) = lower(value), not email__iexact: it is the unique index's own expression, so
    # the lookup is an index probe on PostgreSQL (iexact compiles to UPPER(...), no index).
    identity = (
        UserIdentity.objects.select_related("django_user")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=attributes["email"].lower())
        .first()
    )
    if identity is None or not external_id:
        return identity
    if (identity.external_issuer, identity.external_id) == (profile.issuer, external_id):
        return identity  # created by a concurrent attest between the two lookups
    if identity.external_id and identity.external_issuer == profile.issuer:
        # Same email, but this issuer vouched for a different subject before: not the same person.
        raise UserNotFound("this email belongs to a different external identity of this issuer")
    if not identity.external_id:
        identity.external_issuer, identity.external_id = profile.issuer, external_id
        try:
            with transaction.atomic():
                identity.save(update_fields=["external_issuer", "external_id"])
        except IntegrityError as e:
            # A concurrent attest gave this external id to another identity (another email).
            raise UserNotFound("this external identity belongs to a different user") from e
    return identity


def _adopt_existing_user(attributes: dict[str, Any]):
    """A Django user that exists already (made outside trusted_auth) with exactly this email."""
    users = list(
        get_user_model()._default_manager.filter(
            email__iexact=attributes["email"], trusted_auth_identity__isnull=True
        )[:2]
    )
    return users[0] if len(users) == 1 else None


def _create_user(attributes: dict[str, Any]):
    user_model = get_user_model()
    identity = UserIdentity(email=attributes["email"])
    fields = {user_model.get_email_field_name(): attributes["email"]}
    if user_model.USERNAME_FIELD not in fields:
        fields[user_model.USERNAME_FIELD] = identity.user_id
    user = user_model._default_manager.create_user(**fields)
    return user, identity


def resolve_user(profile: TrustedAuthTokenProfile, attributes: dict[str, Any]) -> UserIdentity:
    """The identity a verified token speaks for: found, adopted, or (JIT) created.

    Lookup is by (profile issuer, external id) when the profile maps one, else by email,
    case-insensitively. A Django user with that email and no identity yet is adopted: it is the
    same person, so the app's existing users need no migration. Raises ``UserNotFound``.
    """
    identity = _find(profile, attributes)
    if identity is not None:
        return identity
    external_id = attributes.get("external_user_id", "")
    user = _adopt_existing_user(attributes)
    if user is None and not profile.can_jit_provision:
        raise UserNotFound("no user with this identity, and the profile does not JIT provision")
    try:
        with transaction.atomic():
            if user is None:
                user, identity = _create_user(attributes)
            else:
                identity = UserIdentity(email=attributes["email"])
            identity.django_user = user
            identity.external_issuer = profile.issuer if external_id else ""
            identity.external_id = external_id
            identity.name = attributes.get("name", {})
            identity.save()
    except IntegrityError as e:
        # A concurrent attest created the same identity first (the unique constraints on the
        # email and on (issuer, external id) chose one): use theirs. The savepoint above rolled
        # back only our half-made user.
        identity = _find(profile, attributes)
        if identity is None:
            raise UserNotFound("a concurrent attest created a conflicting identity") from e
    return identity
