"""``manage.py trusted_auth jwks refresh``: refetch trusted issuers' JWKS now."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.issuers.issuer_keys import refresh_keyset
from trusted_auth.issuers.profiles import get_profile
from trusted_auth.management.cli import CommandIO, add_action, group_actions
from trusted_auth.models import TrustedAuthTokenProfile


def refresh(options: dict[str, Any], io: CommandIO) -> None:
    if options["profile_id"]:
        profiles = [get_profile(options["profile_id"])]
    else:
        profiles = list(
            TrustedAuthTokenProfile.objects.filter(
                public_key_type=TrustedAuthTokenProfile.KeyType.JWK
            )
        )
    io.emit(
        [
            {
                "profile_id": p.profile_id,
                "jwks_url": p.jwks_url,
                "kids": [k.get("kid") for k in refresh_keyset(p).keys],
            }
            for p in profiles
        ]
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(groups, "jwks", help="trusted issuers' JWKS")
    parser = add_action(
        actions,
        "refresh",
        refresh,
        help="refetch JWKS now into the shared cache and print the kids found",
    )
    parser.add_argument("--profile-id", help="one profile (default: every JWKS profile)")
