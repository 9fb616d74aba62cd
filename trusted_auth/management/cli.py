"""What every action of ``manage.py trusted_auth`` shares: one JSON document on stdout, notes on
stderr (by ``--verbosity``), errors through ``CommandError`` (exit status 1), leaf parsers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trusted_auth.errors import TrustedAuthError

# A file we read a PEM key or a token from is small; refuse to slurp anything large.
MAX_INPUT_BYTES = 64 * 1024


class CommandIO:
    """The running command's streams and verbosity, handed to every action."""

    def __init__(self, command: BaseCommand, verbosity: int, stdin: IO[str] | None = None) -> None:
        self.command = command
        self.verbosity = verbosity
        self.stdin = stdin if stdin is not None else sys.stdin

    def emit(self, data: Any) -> None:
        """The action's result: one JSON document on stdout."""
        self.command.stdout.write(json.dumps(data, indent=2, default=str))

    def note(self, message: str, *, level: int = 1) -> None:
        if self.verbosity >= level:
            self.command.stderr.write(message, style_func=str)  # uncoloured

    def warn(self, message: str) -> None:
        if self.verbosity >= 1:
            self.command.stderr.write(message, style_func=self.command.style.WARNING)


Action = Callable[[dict[str, Any], CommandIO], None]


def add_action(
    actions: argparse._SubParsersAction,
    name: str,
    run: Action,
    *,
    help: str,
    description: str | None = None,
    epilog: str | None = None,
) -> CommandParser:
    """One ``GROUP ACTION`` leaf parser that runs ``run(options, io)``; ``-v/--verbosity`` may
    follow the action too. An ``epilog`` (examples) is printed as written."""
    parser = actions.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter,
    )
    parser.set_defaults(run=run)
    parser.add_argument(
        "-v",
        "--verbosity",
        type=int,
        choices=[0, 1, 2, 3],
        default=argparse.SUPPRESS,
        help="0: JSON only; 1: JSON and notes on stderr (default); 2, 3: more detail",
    )
    parser.add_argument(
        "--traceback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    return parser


def group_actions(
    groups: argparse._SubParsersAction, name: str, *, help: str, description: str | None = None
) -> argparse._SubParsersAction:
    """A ``GROUP`` parser; returns the sub-parsers to add its actions to."""
    parser = groups.add_parser(name, help=help, description=description or help)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION", title="actions")


def read_input(path: str, io: CommandIO, *, what: str) -> bytes:
    """The bytes of a small file, or of stdin when ``path`` is ``-``. ``CommandError`` otherwise."""
    try:
        if path == "-":
            data = io.stdin.read(MAX_INPUT_BYTES + 1)
            data = data.encode() if isinstance(data, str) else data
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise CommandError(f"cannot read {what} {path}: {e.strerror or e}") from e
    if len(data) > MAX_INPUT_BYTES:
        raise CommandError(f"{what} {path} is larger than {MAX_INPUT_BYTES} bytes")
    return data


def run_action(options: dict[str, Any], io: CommandIO) -> None:
    """Run the chosen action; a service's refusal becomes a ``CommandError`` with its message."""
    try:
        options["run"](options, io)
    except TrustedAuthError as e:
        raise CommandError(e.message) from e
