"""Identity links and the accounts a token can reach: find, create and link them (DESIGN.md §5).

A token reaches an account only through an ``IdentityLink``: this issuer vouched for this user
(or member), by (issuer, external id) when the profile maps one, else by (issuer, email).
``UserAccounts`` (consumer: Django users and their ``UserIdentity``) and ``MemberAccounts``
(B2B: members of one organization) find, create and link one kind of account; which of them a
token may reach is the adapter's policy (``trusted_auth.adapter``), never decided here.
Explicit, audited links made by an operator (CLI, admin) are here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from trusted_auth import signals
from trusted_auth.audit.changes import record_change
from trusted_auth.errors import (
    BadRequest,
    IdentityLinkRequired,
    MemberNotFound,
    TrustedAuthError,
    UserInactive,
    UserNotFound,
)
from trusted_auth.identities.emails import (
    ascii_lower,
    django_users_with_email,
    same_email,
    validate_email_address,
)
from trusted_auth.identities.hints import LINK_COMMAND
from trusted_auth.internal.rows import referenced, row
from trusted_auth.models import (
    IdentityLink,
    Member,
    Organization,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.models.identities import DELETED, ProvisionedBy
from trusted_auth.timeutil import rfc3339


@dataclass(frozen=True)
class LinkKey:
    """What an issuer vouches for: an external id or an email (lower-cased), at that issuer."""

    issuer: str
    kind: str
    subject: str


def link_key(
    profile: TrustedAuthTokenProfile, attributes: dict[str, Any], *, member: bool
) -> LinkKey:
    """The link a token's verified attributes name: (issuer, external id) when the profile maps
    one (``external_user_id``, or ``external_member_id`` for B2B), else (issuer, email)."""
    external_id = attributes.get("external_member_id" if member else "external_user_id")
    if external_id:
        return LinkKey(profile.issuer, IdentityLink.Kind.EXTERNAL_ID, external_id)
    return LinkKey(profile.issuer, IdentityLink.Kind.EMAIL, ascii_lower(attributes["email"]))


def user_is_out(user: Any) -> bool:
    """An inactive Django user, or one whose identity was deleted: refused everywhere."""
    identity = getattr(user, "trusted_auth_identity", None)
    return not user.is_active or (identity is not None and identity.status == DELETED)


def member_is_out(member: Member) -> bool:
    """A deleted member, or one tied to an inactive Django user: refused everywhere."""
    user = member.django_user
    return member.status == DELETED or (user is not None and not user.is_active)


def refuse_unless_may_sign_in(user: Any, *, deleted: bool, kind: str) -> None:
    """Inactive Django users, deleted identities and deleted members are out, everywhere."""
    if deleted:
        error = MemberNotFound if kind == "member" else UserNotFound
        raise error(f"this {kind} was deleted")
    if user is not None and not user.is_active:
        raise UserInactive("this user is inactive (is_active is false) and may not sign in")


def _make_link(
    key: LinkKey, origin: str, profile: TrustedAuthTokenProfile | None, **owner: Any
) -> IdentityLink:
    link = IdentityLink.objects.create(
        issuer=key.issuer,
        kind=key.kind,
        subject=key.subject,
        origin=origin,
        profile=profile,
        **owner,
    )
    transaction.on_commit(
        lambda: signals.identity_linked.send(sender=IdentityLink, link=link, origin=origin)
    )
    return link


def user_by_email(email: str) -> tuple[UserIdentity | None, Any | None]:
    """The consumer account with this (valid) email: its ``UserIdentity`` (and Django user), or
    a Django user that has no identity yet, or nothing. Several such Django users: refused.
    Compared by the email rule: a database match is kept only when it is the same address."""
    key = ascii_lower(email)
    # Lower(email) = lower(value): the unique index's own expression (an index probe).
    identity = (
        UserIdentity.objects.select_related("django_user")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=key)
        .first()
    )
    if identity is not None and same_email(identity.email, key):
        return identity, identity.django_user
    users = django_users_with_email(key, trusted_auth_identity__isnull=True)
    if len(users) > 1:
        raise IdentityLinkRequired(
            f"several accounts have this email; an operator may link one with {LINK_COMMAND}"
        )
    return None, users[0] if users else None


class Accounts:
    """Find, create and link one kind of account; the adapter decides which one a token reaches."""

    kind: str
    organization: Organization | None = None

    def linked(self, key: LinkKey) -> Any | None:
        """The account ``key``'s link reaches, or None."""
        raise NotImplementedError

    def by_email(self, email: str) -> tuple[Any | None, Any | None]:
        """The account with this email and its Django user (either may be None)."""
        raise NotImplementedError

    def new(self, attributes: dict[str, Any]) -> Any:
        """An unsaved account made from a token's attributes (a user's Django user unsaved too)."""
        raise NotImplementedError

    def save_new(self, account: Any, profile: TrustedAuthTokenProfile) -> None:
        """Save an account made by ``new``; its provisioning signal follows the commit."""
        raise NotImplementedError

    def companion(self, user: Any, attributes: dict[str, Any]) -> Any:
        """The account of an existing Django user that has none yet."""
        raise NotImplementedError

    def link(
        self, account: Any, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> IdentityLink:
        raise NotImplementedError

    def not_found(self, message: str) -> TrustedAuthError:
        raise NotImplementedError

    def has_links(self, account: Any) -> bool:
        return account.links.exists()

    def refuse_unless_may_sign_in(self, account: Any) -> None:
        refuse_unless_may_sign_in(
            account.django_user, deleted=account.status == DELETED, kind=self.kind
        )

    def create_linked(self, account: Any, key: LinkKey, profile: TrustedAuthTokenProfile) -> Any:
        """Save a new ``account`` with its JIT link, in a savepoint: the account ``key`` reaches
        afterwards, which is another one (or None) when a concurrent attest created it first."""
        try:
            with transaction.atomic():
                self.save_new(account, profile)
                self.link(account, key, IdentityLink.Origin.JIT, profile)
        except IntegrityError:
            return self.linked(key)
        return account

    def add_link(
        self, account: Any, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> Any:
        """Link ``account`` by ``key``, in a savepoint: the account ``key`` reaches afterwards,
        which is another one (or None) when a concurrent attest linked the key first."""
        try:
            with transaction.atomic():
                self.link(account, key, origin, profile)
        except IntegrityError:
            return self.linked(key)
        return account


def linked_identity_query(key: LinkKey):
    """The identity ``key``'s link reaches (at most one), with its Django user."""
    return UserIdentity.objects.select_related("django_user").filter(
        links__issuer=key.issuer, links__kind=key.kind, links__subject=key.subject
    )


class UserAccounts(Accounts):
    """Consumer accounts: a Django user (``AUTH_USER_MODEL``) and its ``UserIdentity``."""

    kind = "user"

    def linked(self, key: LinkKey) -> UserIdentity | None:
        """``linked_identity_query(key).first()``, read with two plain SELECTs (the identity
        through its link, then its Django user) where the ORM would compile its join again on
        every attest (bench/README.md, issue 27). ``tests/test_linking.py`` holds the two equal.
        (issuer, kind, subject) is unique among the links of users."""
        identity = row(
            UserIdentity,
            "SELECT i.* FROM trusted_auth_useridentity i"
            " JOIN trusted_auth_identitylink l ON l.identity_id = i.id"
            " WHERE l.issuer = %s AND l.kind = %s AND l.subject = %s",
            [key.issuer, key.kind, key.subject],
        )
        if identity is None:
            return None
        try:
            identity.django_user = referenced(get_user_model(), identity.django_user_id)
        except ObjectDoesNotExist:
            return None  # deleted since the first read: its link goes with it
        return identity

    def by_email(self, email: str) -> tuple[UserIdentity | None, Any | None]:
        return user_by_email(email)

    def new(self, attributes: dict[str, Any]) -> UserIdentity:
        user_model = get_user_model()
        external_id = attributes.get("external_user_id", "")
        if external_id and UserIdentity.objects.filter(external_id=external_id).exists():
            external_id = ""  # Stytch's external_id is one user's; the link is what counts
        identity = UserIdentity(
            email=attributes["email"],
            external_id=external_id,
            name=attributes.get("name", {}),
            provisioned_by=ProvisionedBy.JIT,
        )
        user = user_model(**{user_model.get_email_field_name(): attributes["email"]})
        if user_model.USERNAME_FIELD != user_model.get_email_field_name():
            setattr(user, user_model.USERNAME_FIELD, identity.user_id)
        user.set_unusable_password()
        identity.django_user = user
        return identity

    def save_new(self, account: UserIdentity, profile: TrustedAuthTokenProfile) -> None:
        identity, user = account, account.django_user
        user.save()
        identity.django_user = user
        identity.save(force_insert=True)
        transaction.on_commit(
            lambda: signals.user_provisioned.send(
                sender=UserIdentity, identity=identity, user=identity.django_user, profile=profile
            )
        )

    def companion(self, user: Any, attributes: dict[str, Any]) -> UserIdentity:
        return UserIdentity.objects.create(
            django_user=user,
            email=attributes["email"],
            name=attributes.get("name", {}),
            provisioned_by=ProvisionedBy.JIT,
        )

    def link(
        self, account: UserIdentity, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> IdentityLink:
        return _make_link(key, origin, profile, identity=account)

    def not_found(self, message: str) -> TrustedAuthError:
        return UserNotFound(message)


class MemberAccounts(Accounts):
    """B2B accounts: the members of one organization (and the Django user one may be tied to)."""

    kind = "member"
    organization: Organization

    def __init__(self, organization: Organization) -> None:
        self.organization = organization

    def _members(self):
        return Member.objects.select_related("organization", "django_user").filter(
            organization=self.organization
        )

    def linked(self, key: LinkKey) -> Member | None:
        # (organization, issuer, kind, subject) is unique among the links of members.
        try:
            return self._members().get(
                links__organization=self.organization,
                links__issuer=key.issuer,
                links__kind=key.kind,
                links__subject=key.subject,
            )
        except Member.DoesNotExist:
            return None

    def by_email(self, email: str) -> tuple[Member | None, Any | None]:
        # Lower(email), the expression of the unique (Lower(email), organization) index.
        key = ascii_lower(email)
        member = self._members().alias(email_lower=Lower("email")).filter(email_lower=key).first()
        if member is not None and not same_email(member.email, key):
            member = None  # a look-alike the database folded (PostgreSQL's Unicode LOWER)
        return member, member.django_user if member else None

    def new(self, attributes: dict[str, Any]) -> Member:
        return Member(
            organization=self.organization,
            email=attributes["email"],
            name=attributes.get("name", {}).get("first_name", ""),
            external_id=attributes.get("external_member_id", ""),
            provisioned_by=ProvisionedBy.JIT,
        )

    def save_new(self, account: Member, profile: TrustedAuthTokenProfile) -> None:
        member = account
        member.save()
        transaction.on_commit(
            lambda: signals.member_provisioned.send(sender=Member, member=member, profile=profile)
        )

    def companion(self, user: Any, attributes: dict[str, Any]) -> Member:
        raise AssertionError("a member found by email is the account itself")  # pragma: no cover

    def link(
        self, account: Member, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> IdentityLink:
        return _make_link(key, origin, profile, member=account, organization=self.organization)

    def not_found(self, message: str) -> TrustedAuthError:
        return MemberNotFound(message)


# --- explicit links, made by an operator (CLI, admin) ----------------------------------------


def account_for_operator(
    *, user_id: str | None = None, email: str | None = None, member_id: str | None = None
) -> UserIdentity | Member:
    """The account an operator names: a user by ``user_id`` or email (a Django user without a
    ``UserIdentity`` gets one), or a member by ``member_id``."""
    if member_id:
        member = Member.objects.select_related("organization").filter(member_id=member_id).first()
        if member is None:
            raise MemberNotFound(f"no member {member_id[:80]!r}")
        return member
    if user_id:
        identity = UserIdentity.objects.filter(user_id=user_id).first()
        if identity is None:
            raise UserNotFound(f"no user {user_id[:80]!r}")
        return identity
    if not email:
        raise BadRequest("name the account: a user id, an email or a member id")
    identity, user = user_by_email(validate_email_address(email))
    if identity is not None:
        return identity
    if user is None:
        raise UserNotFound(f"no user with the email {email[:80]!r}")
    return UserIdentity.objects.create(django_user=user, email=email)


def _explicit_key(issuer: str, external_id: str | None, account: UserIdentity | Member) -> LinkKey:
    if not issuer:
        raise BadRequest("the issuer is required")
    if external_id:
        return LinkKey(issuer, IdentityLink.Kind.EXTERNAL_ID, external_id)
    return LinkKey(issuer, IdentityLink.Kind.EMAIL, ascii_lower(account.email))


def _owner(account: UserIdentity | Member) -> dict[str, Any]:
    if isinstance(account, Member):
        return {"member": account, "organization": account.organization}
    return {"identity": account}


def _audit_link_change(action: str, account: UserIdentity | Member, key: LinkKey) -> None:
    record_change(
        action,
        user_id=account.member_id if isinstance(account, Member) else account.user_id,
        organization_id=(
            account.organization.organization_id if isinstance(account, Member) else ""
        ),
        subject=key.subject,
        detail=f"{key.kind} link at {key.issuer}",
    )


def link_explicitly(
    account: UserIdentity | Member, *, issuer: str, external_id: str | None = None
) -> IdentityLink:
    """Link ``issuer`` to ``account`` by an external id, or by the account's email when none is
    given. The operator's way to let a token reach any account, staff included; audited."""
    key = _explicit_key(issuer, external_id, account)
    try:
        with transaction.atomic():
            link = _make_link(key, IdentityLink.Origin.OPERATOR, None, **_owner(account))
            _audit_link_change("identity_link", account, key)
    except IntegrityError as e:
        raise BadRequest(
            f"{key.issuer} is already linked to an account by {key.kind} {key.subject!r}"
        ) from e
    return link


def unlink(account: UserIdentity | Member, *, issuer: str, external_id: str | None = None) -> None:
    """Remove one link of ``account``; its issuer's tokens no longer reach it. Audited."""
    key = _explicit_key(issuer, external_id, account)
    with transaction.atomic():
        links = IdentityLink.objects.filter(
            issuer=key.issuer, kind=key.kind, subject=key.subject, **_owner(account)
        )
        removed = list(links)
        if not removed:
            raise BadRequest(f"no {key.kind} link from {key.issuer} to this account")
        links.delete()
        _audit_link_change("identity_unlink", account, key)
        for link in removed:
            transaction.on_commit(partial(_send_unlinked, link))


def _send_unlinked(link: IdentityLink) -> None:
    signals.identity_unlinked.send(sender=IdentityLink, link=link)


def links_of(account: UserIdentity | Member) -> list[IdentityLink]:
    return list(IdentityLink.objects.filter(**_owner(account)).order_by("created_at", "id"))


def link_as_dict(link: IdentityLink) -> dict[str, Any]:
    owner = link.member or link.identity
    return {
        "issuer": link.issuer,
        "kind": link.kind,
        "subject": link.subject,
        "origin": link.origin,
        "user_id": link.identity.user_id if link.identity else None,
        "member_id": link.member.member_id if link.member else None,
        "email": owner.email if owner else None,
        "created_at": rfc3339(link.created_at),
    }
