from .consumed_tokens import ConsumedToken
from .events import AuditEvent
from .generations import Generation
from .identities import UserIdentity
from .keys import SigningKey
from .links import IdentityLink
from .organizations import Member, Organization
from .overview import Overview
from .profiles import ProfilePublicKey, TrustedAuthTokenProfile
from .secrets import ApiSecret
from .sessions import Session

__all__ = [
    "ApiSecret",
    "AuditEvent",
    "ConsumedToken",
    "Generation",
    "IdentityLink",
    "Member",
    "Organization",
    "Overview",
    "ProfilePublicKey",
    "Session",
    "SigningKey",
    "TrustedAuthTokenProfile",
    "UserIdentity",
]
