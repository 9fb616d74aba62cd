"""``manage.py trusted_auth keys list|rotate|retire|rewrap|reencrypt``: our session signing
keys."""

from __future__ import annotations

import argparse
from typing import Any

from trusted_auth.management.cli import CommandIO, add_action, group_actions
from trusted_auth.sessions import signing_keys


def list_(options: dict[str, Any], io: CommandIO) -> None:
    io.emit(signing_keys.list_keys())


def rotate(options: dict[str, Any], io: CommandIO) -> None:
    io.emit(signing_keys.rotate(promote=options["promote"]))


def retire(options: dict[str, Any], io: CommandIO) -> None:
    io.emit(signing_keys.retire(force=options["force"]))


def rewrap(options: dict[str, Any], io: CommandIO) -> None:
    result = signing_keys.rewrap()
    io.emit(result)
    if result["kids"]:
        io.note(
            "The stored keys are now under the current key-encryption key: the fallback "
            "(SECRET_KEY_FALLBACKS or KEY_ENCRYPTION_KEY_FALLBACKS) can be removed."
        )


def reencrypt(options: dict[str, Any], io: CommandIO) -> None:
    io.emit({"reencrypted": signing_keys.reencrypt(options["from_old_kek"].encode())})


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(
        groups,
        "keys",
        help="session JWT signing keys",
        description="Rotation without downtime: `keys rotate` publishes a new key as next; "
        "`keys rotate` again after KEY_PUBLISH_SECONDS (or with --promote) makes it "
        "current; `keys retire` drops previous keys once no live JWT can carry them.",
    )
    add_action(actions, "list", list_, help="list keys with their state")
    parser = add_action(
        actions, "rotate", rotate, help="publish a next key, or promote the published one"
    )
    parser.add_argument(
        "--promote",
        action="store_true",
        help="promote the next key now, without waiting KEY_PUBLISH_SECONDS",
    )
    parser = add_action(actions, "retire", retire, help="remove previous keys from JWKS")
    parser.add_argument(
        "--force",
        action="store_true",
        help="retire even if session JWTs signed by them may still be live",
    )
    add_action(
        actions,
        "rewrap",
        rewrap,
        help="re-encrypt every stored private key under the current key-encryption key",
        description="Re-encrypt every stored private key under the current key-encryption key "
        "(KEY_ENCRYPTION_KEY, or the one derived from SECRET_KEY), reading the others with "
        "KEY_ENCRYPTION_KEY_FALLBACKS or SECRET_KEY_FALLBACKS. Run it once every process has "
        "the new settings; then the fallback can go.",
    )
    parser = add_action(
        actions,
        "reencrypt",
        reencrypt,
        help="re-encrypt private keys under the current key-encryption key, reading them with "
        "a key-encryption key no longer in the settings",
    )
    parser.add_argument(
        "--from-old-kek",
        required=True,
        metavar="FERNET_KEY",
        help="the key-encryption key the keys are stored under now; write "
        "--from-old-kek=KEY: a Fernet key may begin with '-', which "
        "argparse would take for an option after a space",
    )
