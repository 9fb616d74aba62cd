"""``manage.py trusted_auth identity link|unlink|list``: the explicit, audited links, the only way
an issuer reaches a staff, superuser or inactive account (never linked automatically).
"""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.identities import links
from trusted_auth.management.cli import CommandIO, add_action, group_actions


def _account(options: dict[str, Any]):
    return links.account_for_operator(
        user_id=options.get("user_id"),
        email=options.get("email"),
        member_id=options.get("member_id"),
    )


def link(options: dict[str, Any], io: CommandIO) -> None:
    created = links.link_explicitly(
        _account(options), issuer=options["issuer"], external_id=options["external_id"]
    )
    io.emit(links.link_as_dict(created))
    io.note(f"{created.issuer} now reaches this account by {created.kind} {created.subject!r}.")


def unlink(options: dict[str, Any], io: CommandIO) -> None:
    account = _account(options)
    links.unlink(account, issuer=options["issuer"], external_id=options["external_id"])
    io.emit([links.link_as_dict(item) for item in links.links_of(account)])


def list_(options: dict[str, Any], io: CommandIO) -> None:
    io.emit([links.link_as_dict(item) for item in links.links_of(_account(options))])


def _add_account(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--user-id", metavar="USER_ID", help="a consumer user (user-…)")
    which.add_argument(
        "--email", help="a consumer user by email (a Django user without an identity gets one)"
    )
    which.add_argument("--member-id", metavar="MEMBER_ID", help="a B2B member (member-…)")


def _add_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--issuer", required=True, help="the issuer, exactly as tokens' iss")
    parser.add_argument(
        "--external-id",
        default=None,
        help="the issuer's id for the account (sub, …); omitted: link by the account's email",
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(
        groups, "identity", help="explicit links from issuers to users and members"
    )
    parser = add_action(actions, "link", link, help="let an issuer's tokens reach an account")
    _add_account(parser)
    _add_key(parser)
    parser = add_action(actions, "unlink", unlink, help="remove one link of an account")
    _add_account(parser)
    _add_key(parser)
    parser = add_action(actions, "list", list_, help="list an account's links")
    _add_account(parser)
