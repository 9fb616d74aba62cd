"""The exact ``identity link`` command an ``identity_link_required`` refusal names."""

from __future__ import annotations

import shlex
from typing import Any

from trusted_auth.models import Member

LINK_COMMAND = "manage.py trusted_auth identity link"


def link_command(account: Any, *, email: str, issuer: str, external_id: str = "") -> str:
    """The command that lets ``issuer``'s tokens reach ``account`` by the key they are looked up
    by: ``external_id`` when the profile maps one (a link by email would not be found), else
    the email. A ``Member`` is named by its member id, a consumer account by ``email``."""
    who = ["--member-id", account.member_id] if isinstance(account, Member) else ["--email", email]
    key = ["--external-id", external_id] if external_id else []
    return shlex.join([*LINK_COMMAND.split(), *who, "--issuer", issuer, *key])


def with_link_command(
    reason: str, account: Any, *, email: str, issuer: str, external_id: str = ""
) -> str:
    """``reason`` for a refused link, then the command that makes the link, ready to paste."""
    command = link_command(account, email=email, issuer=issuer, external_id=external_id)
    return f"{reason}; an operator may link it with: {command}"
