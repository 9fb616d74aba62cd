"""``manage.py trusted_auth presets``: the provider presets and the parameters each needs."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.issuers.presets import list_presets
from trusted_auth.management.cli import CommandIO, add_action


def show(options: dict[str, Any], io: CommandIO) -> None:
    io.emit(list_presets())
    io.note(
        "Start a profile from one: trusted_auth profile create --preset NAME "
        "--param KEY=VALUE … (other flags override what the preset fills in)."
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    add_action(
        groups,
        "presets",
        show,
        help="list the provider presets (JSON) and their parameters",
        description="List the provider presets for `profile create --preset`: each one's "
        "parameters, what gives the audience, and the IdP documentation it follows.",
    )
