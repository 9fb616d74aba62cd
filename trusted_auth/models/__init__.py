from .events import AuditEvent
from .identities import UserIdentity
from .keys import SigningKey
from .profiles import ProfilePublicKey, TrustedAuthTokenProfile
from .secrets import ApiSecret
from .sessions import Session

__all__ = [
    "ApiSecret",
    "AuditEvent",
    "ProfilePublicKey",
    "Session",
    "SigningKey",
    "TrustedAuthTokenProfile",
    "UserIdentity",
]
