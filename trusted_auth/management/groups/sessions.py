"""``manage.py trusted_auth sessions clear-expired``: housekeeping for the session table."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.management.cli import CommandIO, add_action, group_actions
from trusted_auth.sessions.lifecycle import clear_expired_consumed_tokens, clear_expired_sessions


def clear_expired(options: dict[str, Any], io: CommandIO) -> None:
    batch_size = options["batch_size"]
    io.emit(
        {
            "deleted": clear_expired_sessions(batch_size=batch_size),
            "consumed_tokens_deleted": clear_expired_consumed_tokens(batch_size=batch_size),
        }
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "sessions", help="session housekeeping")
    parser = add_action(
        actions,
        "clear-expired",
        clear_expired,
        help="delete sessions past their absolute expiry, and the replay records of tokens "
        "that can no longer verify (run it from cron)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="rows deleted per statement (default 1000)"
    )
