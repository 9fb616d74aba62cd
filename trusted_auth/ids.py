"""Public identifiers: prefixed UUIDs, as Stytch spells them (``user-…``, ``session-…``)."""

import uuid

USER = "user"
SESSION = "session"
MEMBER_SESSION = "member-session"
ORGANIZATION = "organization"
MEMBER = "member"
PROFILE = "ttp"
PROFILE_KEY = "pem"
SECRET = "secret"
EVENT = "event"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"
