"""Who a verified token signs in as: identity links and the link policy (DESIGN.md §5).

A token reaches an account only through an ``IdentityLink``: this issuer vouched for this user
(or member), by (issuer, external id) when the profile maps one, else by (issuer, email). An
account the issuer has no link to is reached only when

- an operator pre-provisioned it (``trusted_auth user create``, the users API, ``member
  create``) and no issuer has claimed it yet: the first verified token with its email (and, if
  the operator set one, its external id) claims it — Stytch's "the user must already exist";
- or the profile's ``link_policy`` says so: ``verified_email`` when the token proves the email
  verified, ``email`` on the email alone;

and never, under any policy, when the account is staff, superuser or inactive: an explicit,
audited link (``trusted_auth identity link``, the admin) is the only way there. Nothing found
and JIT on: the account is created with its link. The default adapter
(``trusted_auth.adapter``) runs exactly these rules; a host changes them by overriding its hooks.

One resolution serves both kinds: ``UserAccounts`` (consumer: Django users and their
``UserIdentity``) and ``MemberAccounts`` (B2B: members of one organization) say how to find,
create and link an account; ``resolve_account`` decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from django.contrib.auth import get_user_model
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
from trusted_auth.models import (
    IdentityLink,
    Member,
    Organization,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.models.identities import DELETED, ProvisionedBy
from trusted_auth.timeutil import rfc3339

if TYPE_CHECKING:
    from trusted_auth.adapter import DefaultTrustedAuthAdapter

LINK_COMMAND = "manage.py trusted_auth identity link"


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
    return LinkKey(profile.issuer, IdentityLink.Kind.EMAIL, attributes["email"].lower())


def is_privileged(user: Any) -> bool:
    """Staff and superusers: never reached by a token without an explicit link."""
    return bool(user is not None and (user.is_staff or user.is_superuser))


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


def link_policy_decision(
    profile: TrustedAuthTokenProfile, attributes: dict[str, Any], *, user: Any, claimable: bool
) -> str:
    """Whether a token may link an existing account its issuer has no link to yet: the origin
    of the new link (``IdentityLink.Origin``), or ``IdentityLinkRequired``.

    This is the documented policy table (README, "Who a token signs in as").
    """
    if user is not None and not user.is_active:
        raise IdentityLinkRequired(
            f"an inactive account has this email; an operator may link it with {LINK_COMMAND}"
        )
    if is_privileged(user):
        raise IdentityLinkRequired(
            "a staff or superuser account has this email: it is never linked automatically; "
            f"an operator may link it with {LINK_COMMAND}"
        )
    if claimable:
        return IdentityLink.Origin.CLAIMED
    policy = profile.link_policy
    if policy == TrustedAuthTokenProfile.LinkPolicy.EMAIL:
        return IdentityLink.Origin.POLICY
    if (
        policy == TrustedAuthTokenProfile.LinkPolicy.VERIFIED_EMAIL
        and attributes.get("email_verified") is True
    ):
        return IdentityLink.Origin.POLICY
    detail = (
        "and the token does not prove the email verified"
        if policy == TrustedAuthTokenProfile.LinkPolicy.VERIFIED_EMAIL
        else ""
    )
    raise IdentityLinkRequired(
        f"an account with this email exists but this issuer is not linked to it, and the "
        f"profile's link_policy is {policy!r} {detail}".rstrip()
        + f"; set the profile's link_policy or link it with {LINK_COMMAND}"
    )


class Accounts(Protocol):
    """How ``resolve_account`` finds, creates and links one kind of account."""

    kind: str

    def linked(self, key: LinkKey) -> Any | None: ...

    def by_email(self, attributes: dict[str, Any]) -> tuple[Any | None, Any | None]: ...

    def has_links(self, account: Any) -> bool: ...

    def create(self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any]) -> Any: ...

    def companion(self, user: Any, attributes: dict[str, Any]) -> Any: ...

    def link(
        self, account: Any, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> IdentityLink: ...

    def refuse_unless_may_sign_in(self, account: Any) -> None: ...

    def not_found(self, message: str) -> TrustedAuthError: ...


def _external_id_agrees(account: Any, key: LinkKey) -> bool:
    """A pre-provisioned account with an operator-set external id is claimed, through a profile
    that maps external ids, only by a token whose external id is that id."""
    return (
        not account.external_id
        or key.kind == IdentityLink.Kind.EMAIL
        or key.subject == account.external_id
    )


def resolve_account(
    profile: TrustedAuthTokenProfile,
    attributes: dict[str, Any],
    accounts: Accounts,
    adapter: DefaultTrustedAuthAdapter,
) -> Any:
    """The account a verified token speaks for: linked, claimed, linked by policy, or (JIT)
    created. Runs inside the attest's transaction; raises a ``TrustedAuthError`` otherwise."""
    key = link_key(profile, attributes, member=accounts.kind == "member")
    account = accounts.linked(key)
    if account is None:
        account = _link_or_create(profile, attributes, accounts, adapter, key)
    accounts.refuse_unless_may_sign_in(account)
    return account


def _link_or_create(
    profile: TrustedAuthTokenProfile,
    attributes: dict[str, Any],
    accounts: Accounts,
    adapter: DefaultTrustedAuthAdapter,
    key: LinkKey,
) -> Any:
    account, user = accounts.by_email(attributes)
    if account is None and user is None:
        if not profile.can_jit_provision:
            raise accounts.not_found(
                f"no {accounts.kind} with this identity, and the profile does not JIT provision"
            )
        try:
            # A savepoint: a concurrent attest creating the same account first makes ours fail
            # on a unique constraint, and the account it created (committed) is used instead.
            with transaction.atomic():
                account = accounts.create(profile, attributes)
                accounts.link(account, key, IdentityLink.Origin.JIT, profile)
        except IntegrityError as e:
            account = accounts.linked(key)
            if account is None:
                raise accounts.not_found(
                    f"a concurrent attest created a conflicting {accounts.kind}"
                ) from e
        return account
    if account is not None:
        # A concurrent attest of the same issuer's token may have created and linked it
        # between our two lookups (each statement sees the latest commit): then it is ours.
        linked = accounts.linked(key)
        if linked is not None:
            return linked
        accounts.refuse_unless_may_sign_in(account)
    claimable = (
        account is not None
        and account.provisioned_by == ProvisionedBy.OPERATOR
        and _external_id_agrees(account, key)
        and not accounts.has_links(account)
    )
    origin = adapter.may_link(profile, attributes, user=user, claimable=claimable)
    if account is None:
        account = accounts.companion(user, attributes)
    try:
        with transaction.atomic():
            accounts.link(account, key, origin, profile)
    except IntegrityError as e:
        # The same link, made by a concurrent attest of this issuer's token: fine if it is ours.
        if accounts.linked(key) != account:
            raise IdentityLinkRequired("a concurrent attest linked this identity elsewhere") from e
    return account


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
    """The consumer account with this email: its ``UserIdentity`` (and Django user), or a
    Django user that has no identity yet, or nothing. Several such Django users: refused."""
    # Lower(email) = lower(value): the unique index's own expression (an index probe).
    identity = (
        UserIdentity.objects.select_related("django_user")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .first()
    )
    if identity is not None:
        return identity, identity.django_user
    user_model = get_user_model()
    users = list(
        user_model._default_manager.filter(
            **{f"{user_model.get_email_field_name()}__iexact": email},
            trusted_auth_identity__isnull=True,
        )[:2]
    )
    if len(users) > 1:
        raise IdentityLinkRequired(
            f"several accounts have this email; an operator may link one with {LINK_COMMAND}"
        )
    return None, users[0] if users else None


class UserAccounts:
    """Consumer accounts: a Django user (``AUTH_USER_MODEL``) and its ``UserIdentity``."""

    kind = "user"

    def __init__(self, adapter: DefaultTrustedAuthAdapter) -> None:
        self.adapter = adapter

    def linked(self, key: LinkKey) -> UserIdentity | None:
        # (issuer, kind, subject) is unique among the links of users: one identity at most.
        try:
            return UserIdentity.objects.select_related("django_user").get(
                links__issuer=key.issuer, links__kind=key.kind, links__subject=key.subject
            )
        except UserIdentity.DoesNotExist:
            return None

    def by_email(self, attributes: dict[str, Any]) -> tuple[UserIdentity | None, Any | None]:
        return user_by_email(attributes["email"])

    def has_links(self, account: UserIdentity) -> bool:
        return account.links.exists()

    def create(self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any]) -> UserIdentity:
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
        self.adapter.populate_user(user, attributes)
        user.save()
        identity.django_user = user
        identity.save(force_insert=True)
        transaction.on_commit(
            lambda: signals.user_provisioned.send(
                sender=UserIdentity, identity=identity, user=identity.django_user, profile=profile
            )
        )
        return identity

    def companion(self, user: Any, attributes: dict[str, Any]) -> UserIdentity:
        """The ``UserIdentity`` of an existing Django user that had none."""
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

    def refuse_unless_may_sign_in(self, account: UserIdentity) -> None:
        refuse_unless_may_sign_in(
            account.django_user, deleted=account.status == DELETED, kind=self.kind
        )

    def not_found(self, message: str) -> TrustedAuthError:
        return UserNotFound(message)


class MemberAccounts:
    """B2B accounts: the members of one organization (and the Django user one may be tied to)."""

    kind = "member"

    def __init__(self, adapter: DefaultTrustedAuthAdapter, organization: Organization) -> None:
        self.adapter = adapter
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

    def by_email(self, attributes: dict[str, Any]) -> tuple[Member | None, Any | None]:
        # Lower(email), the expression of the unique (Lower(email), organization) index.
        member = (
            self._members()
            .alias(email_lower=Lower("email"))
            .filter(email_lower=attributes["email"].lower())
            .first()
        )
        return member, member.django_user if member else None

    def has_links(self, account: Member) -> bool:
        return account.links.exists()

    def create(self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any]) -> Member:
        allowed = self.organization.email_allowed_domains
        if allowed and attributes["email"].rsplit("@", 1)[-1].lower() not in allowed:
            raise TrustedAuthError(
                "the email's domain is not in the organization's email_allowed_domains",
                error_type="email_jit_provisioning_not_allowed",
                status_code=403,
            )
        member = Member(
            organization=self.organization,
            email=attributes["email"],
            name=attributes.get("name", {}).get("first_name", ""),
            external_id=attributes.get("external_member_id", ""),
            roles=attributes.get("role_ids", []),
            provisioned_by=ProvisionedBy.JIT,
        )
        self.adapter.populate_member(member, attributes)
        member.save()
        transaction.on_commit(
            lambda: signals.member_provisioned.send(sender=Member, member=member, profile=profile)
        )
        return member

    def companion(self, user: Any, attributes: dict[str, Any]) -> Member:
        raise AssertionError("a member found by email is the account itself")  # pragma: no cover

    def link(
        self, account: Member, key: LinkKey, origin: str, profile: TrustedAuthTokenProfile
    ) -> IdentityLink:
        return _make_link(key, origin, profile, member=account, organization=self.organization)

    def refuse_unless_may_sign_in(self, account: Member) -> None:
        refuse_unless_may_sign_in(
            account.django_user, deleted=account.status == DELETED, kind=self.kind
        )

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
    identity, user = user_by_email(email)
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
    return LinkKey(issuer, IdentityLink.Kind.EMAIL, account.email.lower())


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
