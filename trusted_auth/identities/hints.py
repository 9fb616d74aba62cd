"""The exact ``identity link`` command an ``identity_link_required`` refusal names."""

from __future__ import annotations

import shlex
from typing import Any

from trusted_auth.models import Member

LINK_COMMAND = "manage.py trusted_auth identity link"


def with_link_command(
    reason: str, account: Any, *, email: str, issuer: str, external_id: str = ""
) -> str:
    """``reason`` for a refused link, then the command that lets ``issuer``'s tokens reach
    ``account`` by the key they are looked up by: ``external_id`` when the profile maps one (a
    link by email would not be found), else the email. A member is named by its member id."""
    who = ["--member-id", account.member_id] if isinstance(account, Member) else ["--email", email]
    key = ["--external-id", external_id] if external_id else []
    command = shlex.join([*LINK_COMMAND.split(), *who, "--issuer", issuer, *key])
    return f"{reason}; an operator may link it with: {command}"
