"""Who a verified token speaks for, as the attest flow and the adapter's hooks see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trusted_auth.models import Member, Organization, UserIdentity


@dataclass
class Principal:
    """A consumer identity, or a member of an organization."""

    public_id: str  # the session JWT's ``sub``: ``user-…`` or ``member-…``
    django_user: Any | None
    roles: list[str] = field(default_factory=list)  # set by the attest flow (``session_roles``)
    identity: UserIdentity | None = None
    member: Member | None = None
    organization: Organization | None = None
