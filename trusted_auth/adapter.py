"""The host's seam: who a verified token signs in as, as one overridable class.

``TRUSTED_AUTH["ADAPTER"]`` names the class (a dotted path, resolved when used, like
django-allauth's ``ACCOUNT_ADAPTER``); ``get_adapter()`` returns an instance. The default
adapter *is* the documented policy (docs/concepts.md, "Who a token signs in as";
``trusted_auth.identities.links``).
Subclass it and override a hook:

- ``resolve_user(profile, attributes)`` / ``resolve_member(profile, organization, attributes)``:
  find (or create) the account for verified attributes — mozilla-django-oidc's
  ``filter_users_by_claims`` and ``create_user`` in one.
- ``may_link(profile, attributes, user=, claimable=)``: whether an existing account the issuer
  has no link to may be linked now; return an ``IdentityLink.Origin`` or raise
  ``IdentityLinkRequired``. ``user`` is the Django user (or None for a member without one).
- ``populate_user(user, attributes)`` / ``populate_member(member, attributes)``: fill a new,
  unsaved account from the token's attributes before JIT provisioning saves it.
- ``pre_sign_in(profile, attributes, principal)``: the last word: raise any
  ``TrustedAuthError`` (its ``error_type`` and status reach the client) to veto the sign-in.

Every hook runs inside the attest's transaction: a veto rolls back whatever the attest made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.identities import links
from trusted_auth.models import Member, Organization, TrustedAuthTokenProfile, UserIdentity

if TYPE_CHECKING:
    from trusted_auth.attest.flow import Principal


class DefaultTrustedAuthAdapter:
    """The documented linking policy, with one method per decision a host may change."""

    def resolve_user(
        self, profile: TrustedAuthTokenProfile, attributes: dict[str, Any]
    ) -> UserIdentity:
        """The consumer identity a verified token speaks for (links, claim, policy, JIT)."""
        return links.resolve_account(profile, attributes, links.UserAccounts(self), self)

    def resolve_member(
        self,
        profile: TrustedAuthTokenProfile,
        organization: Organization,
        attributes: dict[str, Any],
    ) -> Member:
        """The member of ``organization`` a verified token speaks for."""
        return links.resolve_account(
            profile, attributes, links.MemberAccounts(self, organization), self
        )

    def may_link(
        self,
        profile: TrustedAuthTokenProfile,
        attributes: dict[str, Any],
        *,
        user: Any,
        claimable: bool,
    ) -> str:
        """The profile's link policy; staff, superusers and inactive users never."""
        return links.link_policy_decision(profile, attributes, user=user, claimable=claimable)

    def populate_user(self, user: Any, attributes: dict[str, Any]) -> None:
        """Fill a new Django user from the token. The default sets the names it can."""
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
        """Veto a sign-in by raising a ``TrustedAuthError``. The default allows every one."""


def get_adapter() -> DefaultTrustedAuthAdapter:
    """An instance of ``TRUSTED_AUTH["ADAPTER"]`` (read on every call, so tests can swap it)."""
    return import_string(trusted_auth_settings.ADAPTER)()
