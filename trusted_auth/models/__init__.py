"""The models, one module per aggregate; import them from here."""

from trusted_auth.models.consumed_tokens import ConsumedToken
from trusted_auth.models.events import AuditEvent
from trusted_auth.models.generations import Generation
from trusted_auth.models.identities import UserIdentity
from trusted_auth.models.keys import SigningKey
from trusted_auth.models.links import IdentityLink
from trusted_auth.models.organizations import Member, Organization
from trusted_auth.models.overview import Overview
from trusted_auth.models.profiles import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.models.rbac import OrganizationRbacPolicy, RbacPolicy
from trusted_auth.models.secrets import ApiSecret
from trusted_auth.models.sessions import Session

__all__ = [
    "ApiSecret",
    "AuditEvent",
    "ConsumedToken",
    "Generation",
    "IdentityLink",
    "Member",
    "Organization",
    "OrganizationRbacPolicy",
    "Overview",
    "ProfilePublicKey",
    "RbacPolicy",
    "Session",
    "SigningKey",
    "TrustedAuthTokenProfile",
    "UserIdentity",
]
