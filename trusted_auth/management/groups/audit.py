"""``manage.py trusted_auth audit prune``: housekeeping for the audit table."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.audit.maintenance import DEFAULT_BATCH_SIZE, prune_audit_events
from trusted_auth.management.cli import CommandIO, add_action, group_actions


def prune(options: dict[str, Any], io: CommandIO) -> None:
    io.emit(
        {
            "deleted": prune_audit_events(
                older_than_days=options["older_than"], batch_size=options["batch_size"]
            )
        }
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "audit", help="audit event housekeeping")
    parser = add_action(
        actions,
        "prune",
        prune,
        help="delete audit events older than a number of days (run it from cron)",
    )
    parser.add_argument(
        "--older-than",
        type=int,
        default=None,
        metavar="DAYS",
        help="delete events older than this many days (default: AUDIT_RETENTION_DAYS)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows deleted per statement (default {DEFAULT_BATCH_SIZE})",
    )
