"""Public identifiers: prefixed UUIDs, as Stytch spells them (``user-…``, ``session-…``)."""

import uuid

USER = "user"
SESSION = "session"
PROFILE = "ttp"
PROFILE_KEY = "pem"
SECRET = "secret"
EVENT = "event"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"
