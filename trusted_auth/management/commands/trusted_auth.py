"""``manage.py trusted_auth GROUP ACTION``: administer trusted_auth from the shell, one module
per group under ``management/groups/``, each action calling one service function.
"""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand

from trusted_auth.management.cli import CommandIO, run_action

# The modules under management/groups/, in the order ``--help`` lists them.
GROUPS = "secret profile presets user identity org member rbac keys jwks sessions audit doctor"


class Command(BaseCommand):
    help = (
        "Administer trusted_auth: secrets, profiles, organizations, members, roles, keys, "
        "sessions. Every action prints JSON on stdout. Run `trusted_auth GROUP --help` for a "
        "group's actions."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP", title="groups")
        for name in GROUPS.split():
            import_module(f"trusted_auth.management.groups.{name}").add_group(groups)

    def handle(self, *args, **options):
        run_action(options, CommandIO(self, options["verbosity"], options.get("stdin")))
