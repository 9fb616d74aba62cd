"""``manage.py trusted_auth secret create|list|revoke``: API secrets for HTTP Basic auth."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.management.cli import CommandIO, add_action, group_actions
from trusted_auth.sessions import secrets


def create(options: dict[str, Any], io: CommandIO) -> None:
    created = secrets.create_secret(options["description"])
    io.emit(
        {
            "secret_id": created.secret.secret_id,
            "secret": created.clear_text,
            "created_at": secrets.secret_as_dict(created.secret)["created_at"],
        }
    )
    io.note(
        "Store the secret now: it is not shown again. HTTP Basic credentials are "
        f"{trusted_auth_settings.PROJECT_ID or '<PROJECT_ID>'}:<secret>."
    )


def list_(options: dict[str, Any], io: CommandIO) -> None:
    io.emit([secrets.secret_as_dict(secret) for secret in secrets.list_secrets()])


def revoke(options: dict[str, Any], io: CommandIO) -> None:
    positional, option = options["secret_id"], options["secret_id_option"]
    if positional and option and positional != option:
        raise CommandError("give the secret id once, as SECRET_ID or --secret-id")
    secret_id = positional or option
    if not secret_id:
        raise CommandError("name the secret to revoke: SECRET_ID or --secret-id")
    io.emit(secrets.secret_as_dict(secrets.revoke_secret(secret_id)))
    if not secrets.has_live_secret():
        io.warn(
            "No live API secret remains: the HTTP API refuses every request until "
            "`trusted_auth secret create`."
        )


def rotate(options: dict[str, Any], io: CommandIO) -> None:
    if options["start"]:
        created = secrets.rotate_start(options["secret_id_option"])
        io.emit(
            {
                "secret_id": created.secret.secret_id,
                "secret": created.clear_text,
                "replaces": created.secret.replaces.secret_id if created.secret.replaces else None,
            }
        )
        io.note(
            "Both secrets work now. Switch every client to the new one, then run "
            "`secret rotate --complete` (or `--cancel`)."
        )
    elif options["complete"]:
        io.emit(secrets.secret_as_dict(secrets.rotate_complete()))
    else:
        io.emit(secrets.secret_as_dict(secrets.rotate_cancel()))


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(
        groups,
        "secret",
        help="API secrets for HTTP Basic auth (project_id:secret)",
        description="API secrets: several may be live at once, so rotate by creating the new "
        "one, switching clients, then revoking the old one.",
    )
    parser = add_action(
        actions, "create", create, help="create a live secret; its clear text is printed once"
    )
    parser.add_argument(
        "--description",
        default="",
        metavar="TEXT",
        help="what the secret is for (up to 200 characters)",
    )
    add_action(
        actions, "list", list_, help="list secrets, live and revoked (never their clear text)"
    )
    parser = add_action(
        actions, "revoke", revoke, help="revoke a secret: it stops authenticating at once"
    )
    parser.add_argument("secret_id", nargs="?", metavar="SECRET_ID", help="the secret-… id")
    parser.add_argument(
        "--secret-id", dest="secret_id_option", metavar="SECRET_ID", help="the same, as an option"
    )
    parser = add_action(
        actions, "rotate", rotate, help="rotate a secret without downtime: --start, then --complete"
    )
    step = parser.add_mutually_exclusive_group(required=True)
    step.add_argument(
        "--start",
        action="store_true",
        help="create a second secret, valid beside the old one (shown once)",
    )
    step.add_argument("--complete", action="store_true", help="revoke the old secret")
    step.add_argument("--cancel", action="store_true", help="drop the new secret")
    parser.add_argument(
        "--secret-id",
        dest="secret_id_option",
        metavar="SECRET_ID",
        help="with --start: the secret to rotate (default: the only live one)",
    )
