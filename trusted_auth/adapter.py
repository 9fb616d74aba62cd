"""The host's seam: who a verified token signs in as, as one overridable class.

``TRUSTED_AUTH["ADAPTER"]`` names it (a dotted path resolved when used, like allauth's
``ACCOUNT_ADAPTER``). The default adapter *is* the documented policy (docs/concepts.md); it
acts through ``identities.links``, which decides nothing. Override a public hook: each runs
inside the attest's transaction, so a veto rolls back whatever the attest made.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import IdentityLinkRequired, TrustedAuthError
from trusted_auth.identities import links
from trusted_auth.identities.emails import ascii_lower
from trusted_auth.identities.hints import with_link_command
from trusted_auth.identities.principal import Principal
from trusted_auth.models import (
    IdentityLink,
    Member,
    Organization,
    TrustedAuthTokenProfile,
    UserIdentity,
)
from trusted_auth.models.identities import ProvisionedBy

LinkPolicy = TrustedAuthTokenProfile.LinkPolicy


class DefaultTrustedAuthAdapter:
    """The documented linking policy, with one method per decision a host may change.

    A token reaches the account its issuer is linked to; else the account with its email, if
    pre-provisioned and unclaimed or if ``may_link`` allows; else a JIT account with its link.
    Deleted and inactive accounts are refused however they were reached."""

    def resolve_user(
        self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any]
    ) -> UserIdentity:
        """The consumer identity a verified token speaks for (links, claim, policy, JIT): what
        mozilla-django-oidc's ``filter_users_by_claims`` and ``create_user`` do."""
        return self._resolve(profile, attributes, links.UserAccounts())

    def resolve_member(
        self,
        profile: TrustedAuthTokenProfile,
        organization: Organization,
        attributes: dict[str, Any],
    ) -> Member:
        """The member of ``organization`` a verified token speaks for."""
        return self._resolve(profile, attributes, links.MemberAccounts(organization))

    def may_link(
        self,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        *,
        user: Any,
        claimable: bool,
    ) -> str:
        """The ``IdentityLink.Origin`` of a link to an existing account the issuer has no link
        to, or ``IdentityLinkRequired``. ``user`` is the Django user (None for a member without
        one): staff, superusers and inactive users never; a claimable account always; else the
        profile's ``link_policy``."""
        if user is not None and not user.is_active:
            raise IdentityLinkRequired("an inactive account has this email")
        if user is not None and (user.is_staff or user.is_superuser):
            raise IdentityLinkRequired(
                "a staff or superuser account has this email: it is never linked automatically"
            )
        if claimable:
            return IdentityLink.Origin.CLAIMED
        policy = profile.link_policy
        if policy == LinkPolicy.EMAIL:
            return IdentityLink.Origin.POLICY
        if policy == LinkPolicy.VERIFIED_EMAIL and attributes.get("email_verified") is True:
            return IdentityLink.Origin.POLICY
        detail = (
            "and the token does not prove the email verified"
            if policy == LinkPolicy.VERIFIED_EMAIL
            else ""
        )
        raise IdentityLinkRequired(
            f"an account with this email exists but this issuer is not linked to it, and the "
            f"profile's link_policy is {policy!r} {detail}".rstrip()
            + " (set it to 'email' or 'verified_email' to link such accounts by email)"
        )

    def populate_user(self, user: Any, attributes: dict[str, Any]) -> None:
        """Fill a new, unsaved Django user from the token. The default sets the names it can."""
        name = attributes.get("name") or {}
        if hasattr(user, "first_name"):
            user.first_name = name.get("first_name", "")[:150]
        if hasattr(user, "last_name"):
            user.last_name = name.get("last_name", "")[:150]

    def populate_member(self, member: Member, attributes: dict[str, Any]) -> None:
        """Fill a new member from the token (email, name and roles are already set)."""

    def pre_sign_in(
        self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any], principal: Principal
    ) -> None:
        """Veto a sign-in by raising a ``TrustedAuthError`` (its error type and status reach the
        client). The default allows every one."""

    # --- the policy, step by step (one resolution serves users and members) ---------------

    def _resolve(
        self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any], accounts: links.Accounts
    ) -> Any:
        key = links.link_key(profile, attributes, member=accounts.kind == "member")
        account = accounts.linked(key)
        if account is None:
            account, user = accounts.by_email(attributes["email"])
            if account is None and user is None:
                account = self._provision(profile, attributes, accounts, key)
            else:
                account = self._link_existing(profile, attributes, accounts, key, account, user)
        accounts.refuse_unless_may_sign_in(account)
        return account

    def _link_existing(
        self,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        accounts: links.Accounts,
        key: links.LinkKey,
        account: Any | None,
        user: Any | None,
    ) -> Any:
        """Link the account (or bare Django user) with the token's email, if ``may_link``."""
        if account is not None:
            # A concurrent attest of the same issuer's token may have created and linked it
            # between our two lookups (each statement sees the latest commit): then it is ours.
            linked = accounts.linked(key)
            if linked is not None:
                return linked
            accounts.refuse_unless_may_sign_in(account)
        claimable = account is not None and self._claimable(accounts, account, key)
        try:
            origin = self.may_link(profile, attributes, user=user, claimable=claimable)
        except IdentityLinkRequired as e:
            external_id = key.subject if key.kind == IdentityLink.Kind.EXTERNAL_ID else ""
            raise IdentityLinkRequired(
                with_link_command(
                    str(e),
                    account,
                    email=attributes["email"],
                    issuer=key.issuer,
                    external_id=external_id,
                )
            ) from e
        if account is None:
            account = accounts.companion(user, attributes)
        if accounts.add_link(account, key, origin, profile) != account:
            raise IdentityLinkRequired("a concurrent attest linked this identity elsewhere")
        return account

    @staticmethod
    def _claimable(accounts: links.Accounts, account: Any, key: links.LinkKey) -> bool:
        """Pre-provisioned by an operator and not yet claimed by any issuer. One with an
        operator-set external id is claimed, through a profile that maps external ids, only by
        a token whose external id is that id."""
        external_id_agrees = (
            not account.external_id
            or key.kind == IdentityLink.Kind.EMAIL
            or key.subject == account.external_id
        )
        return (
            account.provisioned_by == ProvisionedBy.OPERATOR
            and external_id_agrees
            and not accounts.has_links(account)
        )

    def _provision(
        self,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        accounts: links.Accounts,
        key: links.LinkKey,
    ) -> Any:
        """JIT: a new account with its link, when the profile (and organization) allow it."""
        if not profile.can_jit_provision:
            raise accounts.not_found(
                f"no {accounts.kind} with this identity, and the profile does not JIT provision"
            )
        organization = accounts.organization
        if organization is not None:
            allowed = organization.email_allowed_domains
            if allowed and ascii_lower(attributes["email"].rsplit("@", 1)[-1]) not in allowed:
                raise TrustedAuthError(
                    "the email's domain is not in the organization's email_allowed_domains",
                    error_type="email_jit_provisioning_not_allowed",
                    status_code=403,
                )
        account = accounts.new(attributes)
        if isinstance(account, Member):
            self.populate_member(account, attributes)
        else:
            self.populate_user(account.django_user, attributes)
        created = accounts.create_linked(account, key, profile)
        if created is None:
            raise accounts.not_found(f"a concurrent attest created a conflicting {accounts.kind}")
        return created


def get_adapter() -> DefaultTrustedAuthAdapter:
    """An instance of ``TRUSTED_AUTH["ADAPTER"]`` (read on every call, so tests can swap it)."""
    return import_string(trusted_auth_settings.ADAPTER)()
