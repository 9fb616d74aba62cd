"""``manage.py trusted_auth profile …``: trusted auth token profiles, and a dry run of a token.
The rules live in ``issuers.profiles``; a JWKS URL is fetched once before it is saved."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError, CommandParser

from trusted_auth.errors import InvalidProfile, JwksUnavailable, TrustedAuthError
from trusted_auth.issuers import profiles
from trusted_auth.issuers.discovery import discover_issuer
from trusted_auth.issuers.issuer_keys import store_keyset
from trusted_auth.issuers.presets import PRESETS, build_preset
from trusted_auth.management.cli import CommandIO, add_action, group_actions, read_input
from trusted_auth.models import TrustedAuthTokenProfile
from trusted_auth.models.profiles import (
    MAX_PEM_KEYS,
    OPTIONAL_MAPPING_KEYS,
    REQUIRED_MAPPING_KEYS,
    SUPPORTED_ALGORITHMS,
)

CREATE_EXAMPLE = """\
example:
  manage.py trusted_auth profile create --name "Acme Auth0" \\
      --issuer https://acme.eu.auth0.com/ --audience https://api.acme.example \\
      --jwks-url https://acme.eu.auth0.com/.well-known/jwks.json \\
      --map email=email token_id=jti external_user_id=sub name=name --jit

  manage.py trusted_auth profile create --preset auth0 \\
      --param domain=acme.eu.auth0.com --param audience=YOUR_CLIENT_ID --jit

  manage.py trusted_auth profile create --discover https://sso.example.com/realms/acme \\
      --audience my-app --jit

presets (trusted_auth presets lists their parameters): PRESET_NAMES
""".replace("PRESET_NAMES", ", ".join(PRESETS))
MAPPING_HELP = (
    f"Stytch attribute = claim name or dotted path (user_metadata.name); "
    f"{' and '.join(REQUIRED_MAPPING_KEYS)} are required, optional: "
    f"{', '.join(OPTIONAL_MAPPING_KEYS)}"
)


# Reading arguments ---------------------------------------------------------------------------


def _mapping_pair(text: str) -> tuple[str, str]:
    key, separator, claim = text.partition("=")
    if not separator or not key.strip() or not claim.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=CLAIM (like email=email), got {text!r}")
    return key.strip(), claim.strip()


def _param_pair(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE (like domain=acme.auth0.com), got {text!r}"
        )
    return key.strip(), value.strip()


def _pairs(pairs: list[tuple[str, str]], flag: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict; a key given twice with two values is refused."""
    found: dict[str, str] = {}
    for key, value in pairs:
        if key in found and found[key] != value:
            raise CommandError(f"{flag} names {key} twice ({found[key]} and {value})")
        found[key] = value
    return found


def _pem_keys(paths: list[str] | None, io: CommandIO) -> list[str] | None:
    """The text of each PEM file, checked one by one so an error names its file."""
    if paths is None:
        return None
    pems = []
    for path in paths:
        data = read_input(path, io, what="PEM file")
        try:
            key = profiles.validate_public_key_pem(data)
        except InvalidProfile as e:
            raise CommandError(f"{path}: {e.message}") from e
        io.note(f"{path}: {profiles.describe_public_key(key)} public key", level=2)
        pems.append(data.decode("ascii"))
    return pems


def _profile_fields(options: dict[str, Any], io: CommandIO) -> dict[str, Any]:
    """The profile settings given on the command line (None: not given)."""
    return {
        "name": options["name"],
        "issuer": options["issuer"],
        "audience": options["audience"],
        "jwks_url": options["jwks_url"],
        "pem_keys": _pem_keys(options["pem_files"], io),
        "attribute_mapping": None if options["map"] is None else _pairs(options["map"], "--map"),
        "can_jit_provision": options["jit"],
        "can_jit_create_organizations": options["jit_organizations"],
        "algorithms": options["algorithms"],
        "leeway_seconds": options["leeway"],
        "max_token_lifetime_seconds": options["max_lifetime"],
        "replay_policy": options["replay_policy"],
        "link_policy": options["link_policy"],
        "require_verified_email": options["require_verified_email"],
        "untrusted_claims": _untrusted(options["untrusted_claims"]),
        "grantable_roles": options["grantable_roles"],
    }


def _untrusted(paths: list[str] | None) -> list[str] | None:
    # An empty --untrusted-claim '' clears the list (update).
    return None if paths is None else [path.strip() for path in paths if path.strip()]


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _starting_fields(options: dict[str, Any], io: CommandIO) -> dict[str, Any]:
    """What --preset and --discover fill in, before the other flags override it."""
    fields: dict[str, Any] = {}
    params = _pairs(options.get("params") or [], "--param")
    if options.get("preset"):
        fields = build_preset(options["preset"], params)
        io.note(
            f"Preset {options['preset']}: issuer {fields['issuer']}, JWKS {fields['jwks_url']}."
        )
    elif params:
        raise CommandError("--param goes with --preset NAME (trusted_auth presets lists them)")
    if options.get("discover"):
        found = discover_issuer(options["discover"])
        io.note(f"Discovered: {found.summary()}")
        fields.update(
            issuer=found.issuer, jwks_url=found.jwks_url, algorithms=list(found.algorithms)
        )
        fields.setdefault("attribute_mapping", found.suggested_mapping())
        fields.setdefault("name", found.issuer.split("://", 1)[-1].rstrip("/"))
    return fields


def _fetch_jwks_once(url: str, options: dict[str, Any], io: CommandIO, *, verb: str):
    """Fetch the JWKS through the safe fetcher and say which keys it holds (or why none)."""
    if options.get("no_fetch"):
        io.note("JWKS not fetched (--no-fetch): the first attest fetches it.", level=2)
        return None
    try:
        fetched = profiles.usable_jwks(url)
    except JwksUnavailable as e:  # the fetch failed; the URL itself passed every check
        raise CommandError(
            f"{e.message} (nothing was {verb}; --no-fetch {verb.removesuffix('d')}s it without "
            "fetching)"
        ) from e
    except TrustedAuthError as e:  # a URL or a JWKS the attest would refuse as well
        raise CommandError(f"{e.message} (nothing was {verb})") from e
    io.note(
        f"JWKS fetched: {len(fetched.keys)} usable key(s): {profiles.describe_jwks_keys(fetched)}."
    )
    for dropped in fetched.dropped:
        io.warn(f"Dropped from the JWKS: {dropped['kid'] or '(no kid)'}: {dropped['reason']}.")
    return fetched


# Actions -------------------------------------------------------------------------------------


def create(options: dict[str, Any], io: CommandIO) -> None:
    fields = _starting_fields(options, io)
    given = _given(_profile_fields(options, io))
    if "pem_keys" in given:
        fields.pop("jwks_url", None)  # the PEM files replace the preset's or issuer's JWKS
    fields.update(given)
    missing = [f"--{name}" for name in ("name", "issuer", "audience") if name not in fields]
    if "attribute_mapping" not in fields:
        missing.append("--map")
    if not fields.get("jwks_url") and not fields.get("pem_keys"):
        missing.append("--jwks-url or --pem-file")
    if missing:
        raise CommandError(
            f"missing {', '.join(missing)} (or start from --preset NAME / --discover ISSUER_URL)"
        )
    fetched = None
    if fields.get("jwks_url"):
        fetched = _fetch_jwks_once(fields["jwks_url"], options, io, verb="created")
    profile = profiles.create_profile(**fields)
    if fetched is not None:
        store_keyset(profile, fetched.keys)
    io.emit(profiles.profile_as_dict(profile))
    io.note(
        f"Created {profile.profile_id}. Check a token against it without side effects: "
        f"trusted_auth profile test --profile-id {profile.profile_id} --token …"
    )


def list_(options: dict[str, Any], io: CommandIO) -> None:
    io.emit([profiles.profile_as_dict(profile) for profile in profiles.list_profiles()])


def show(options: dict[str, Any], io: CommandIO) -> None:
    profile = profiles.get_profile(options["profile_id"])
    io.emit(profiles.profile_as_dict(profile, include_pem=True))


def update(options: dict[str, Any], io: CommandIO) -> None:
    changes = _given(_profile_fields(options, io))
    if not changes:
        raise CommandError(
            "nothing to change: give at least one option (trusted_auth profile update --help)"
        )
    fetched = None
    if changes.get("jwks_url"):
        profiles.get_profile(options["profile_id"])  # an unknown id is refused before any fetch
        fetched = _fetch_jwks_once(changes["jwks_url"], options, io, verb="changed")
    profile = profiles.update_profile(options["profile_id"], changes)
    if fetched is not None:
        store_keyset(profile, fetched.keys)
    io.emit(profiles.profile_as_dict(profile))
    io.note(f"Updated {', '.join(sorted(changes))} of {profile.profile_id}.", level=2)


def delete(options: dict[str, Any], io: CommandIO) -> None:
    described = profiles.delete_profile(options["profile_id"])
    io.emit({"deleted": True, "profile": described})
    io.note(
        f"Deleted {described['profile_id']}. Sessions it started stay valid until they "
        "expire or are revoked."
    )


def _emit_key(io: CommandIO, what: str, row: Any, profile_id: str) -> None:
    profile = profiles.profile_as_dict(profiles.get_profile(profile_id))
    io.emit({what: profiles.pem_key_as_dict(row), "profile": profile})


def add_pem(options: dict[str, Any], io: CommandIO) -> None:
    [pem] = _pem_keys([options["pem_file"]], io) or [""]
    row = profiles.add_pem_key(options["profile_id"], pem)
    _emit_key(io, "added_key", row, options["profile_id"])


def remove_pem(options: dict[str, Any], io: CommandIO) -> None:
    row = profiles.remove_pem_key(options["profile_id"], options["key_id"])
    _emit_key(io, "removed_key", row, options["profile_id"])


def test(options: dict[str, Any], io: CommandIO) -> None:
    token = options["token"]
    if token == "-":
        token = read_input("-", io, what="token from").decode("utf-8", "replace")
    result = profiles.dry_run_token(options["profile_id"], token.strip())
    io.emit(result.as_dict())
    for check in result.trace.checks:
        io.note(f"  {'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}", level=2)
    if result.error is not None:
        raise CommandError(
            f"the token fails the {result.failed_check!r} check: "
            f"{result.error.message} ({result.error.error_type})"
        )
    io.note(
        f"The token passes all {len(result.trace.checks)} checks. Dry run: no session was "
        "started, the token was not marked as used, no audit event was written."
    )


# Parsers -------------------------------------------------------------------------------------


def _add_profile_id(parser: CommandParser) -> None:
    parser.add_argument("--profile-id", required=True, metavar="ID", help="the ttp-… id")


def _add_profile_fields(parser: CommandParser, *, creating: bool) -> None:
    """The settings ``create`` needs (unless a preset or discovery fills them) and ``update``
    may change."""
    if creating:
        start = parser.add_argument_group(
            "starting point", "fill the profile from a provider preset or the issuer's discovery"
        )
        start.add_argument(
            "--preset",
            choices=list(PRESETS),
            metavar="NAME",
            help=f"a provider preset: {', '.join(PRESETS)} (see: trusted_auth presets)",
        )
        start.add_argument(
            "--param",
            dest="params",
            action="extend",
            nargs="+",
            type=_param_pair,
            metavar="KEY=VALUE",
            help="the preset's parameters, e.g. --param domain=acme.eu.auth0.com audience=…",
        )
        start.add_argument(
            "--discover",
            metavar="ISSUER_URL",
            help="read ISSUER_URL/.well-known/openid-configuration: its issuer (must equal "
            "ISSUER_URL exactly), jwks_uri and algorithms",
        )
    issuer = parser.add_argument_group("issuer")
    issuer.add_argument("--name", help="a name for people")
    issuer.add_argument("--issuer", metavar="ISS", help="the exact `iss` claim of accepted tokens")
    issuer.add_argument(
        "--audience",
        metavar="AUD",
        help="the exact `aud` claim (or one entry of it) of accepted tokens",
    )
    keys = parser.add_argument_group(
        "keys",
        "where the issuer's public keys come from: one of"
        if creating
        else "replacing the key source: --jwks-url drops the PEM keys, --pem-file the JWKS URL",
    )
    source = keys.add_mutually_exclusive_group()
    source.add_argument(
        "--jwks-url",
        metavar="URL",
        help="https URL of the issuer's JWKS (fetched once now, unless --no-fetch)",
    )
    source.add_argument(
        "--pem-file",
        dest="pem_files",
        action="extend",
        nargs="+",
        metavar="PATH",
        help=f"PEM public key file(s), 1 to {MAX_PEM_KEYS}: RSA >= 2048 bits, EC P-256/P-384/"
        "P-521 or Ed25519; '-' reads stdin" + ("" if creating else "; replaces every PEM key"),
    )
    claims = parser.add_argument_group("claims")
    claims.add_argument(
        "--map",
        action="extend",
        nargs="+",
        type=_mapping_pair,
        metavar="KEY=CLAIM",
        help=MAPPING_HELP + ("" if creating else "; replaces the whole mapping"),
    )
    claims.add_argument(
        "--untrusted-claim",
        dest="untrusted_claims",
        action="append",
        metavar="PATH",
        help="a claim path the issuer's end users write themselves (user_metadata), or a "
        "prefix ending in * (custom:*); repeatable. email, email_verified, external ids, "
        "organization_id and role_ids are never mapped under one"
        + (
            " (a preset fills its provider's)" if creating else "; replaces the list ('' clears it)"
        ),
    )
    keys.add_argument(
        "--no-fetch",
        action="store_true",
        default=False,
        help="do not fetch the JWKS URL now (the first attest will)",
    )
    claims.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="create unknown users/members on first attest (default: off)",
    )
    claims.add_argument(
        "--jit-organizations",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="B2B: create the organization a mapped organization_id names (default: off)",
    )
    policy = parser.add_argument_group("policy")
    policy.add_argument(
        "--algorithms",
        nargs="+",
        choices=SUPPORTED_ALGORITHMS,
        metavar="ALG",
        help=f"allowed signing algorithms, from {' '.join(SUPPORTED_ALGORITHMS)} "
        "(default: RS256 ES256)" + ("" if creating else "; replaces the list"),
    )
    policy.add_argument(
        "--leeway",
        type=int,
        metavar="SECONDS",
        help="clock skew allowed on exp/nbf/iat, 0..300 (default: 30)",
    )
    policy.add_argument(
        "--max-lifetime",
        type=int,
        metavar="SECONDS",
        help="largest exp - iat accepted (default: 3600)",
    )
    policy.add_argument(
        "--replay-policy",
        choices=TrustedAuthTokenProfile.ReplayPolicy.values,
        help="single_use: a token is attested once (default); allow: reuse until it expires",
    )
    policy.add_argument(
        "--link-policy",
        choices=TrustedAuthTokenProfile.LinkPolicy.values,
        help="how a token may reach an existing account this issuer has no link to: none "
        "(default: only linked, JIT or pre-provisioned accounts), verified_email (also link by "
        "an email the token proves verified), email (by email alone: you own the issuer); "
        "staff, superusers and inactive users are never linked automatically",
    )
    claims.add_argument(
        "--grantable-role",
        dest="grantable_roles",
        action="append",
        default=None,
        metavar="ROLE_ID",
        help="an RBAC role the token's mapped role_ids may grant (repeatable; default: none; "
        "any other role a token names is dropped)" + ("" if creating else "; replaces the list"),
    )
    policy.add_argument(
        "--require-verified-email",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse tokens that do not say email_verified: true (default: off)",
    )


def add_group(groups: argparse._SubParsersAction) -> None:
    actions = group_actions(
        groups,
        "profile",
        help="trusted auth token profiles: whose tokens to accept",
        description="Trusted auth token profiles: which issuer, audience and keys to trust, and "
        "how token claims map to users and members.",
    )
    parser = add_action(
        actions,
        "create",
        create,
        help="create a profile",
        description=f"Create a profile trusting a JWKS URL or 1 to {MAX_PEM_KEYS} PEM public keys.",
        epilog=CREATE_EXAMPLE,
    )
    _add_profile_fields(parser, creating=True)
    add_action(actions, "list", list_, help="list profiles")
    parser = add_action(actions, "show", show, help="show one profile, PEM keys included")
    _add_profile_id(parser)
    parser = add_action(
        actions,
        "update",
        update,
        help="change some settings of a profile",
        description="Change the settings given; leave the others as they are.",
    )
    _add_profile_id(parser)
    _add_profile_fields(parser, creating=False)
    parser = add_action(actions, "delete", delete, help="delete a profile and its PEM keys")
    _add_profile_id(parser)
    parser = add_action(
        actions,
        "add-pem",
        add_pem,
        help=f"add a PEM public key to a PEM profile (at most {MAX_PEM_KEYS})",
    )
    _add_profile_id(parser)
    parser.add_argument(
        "--pem-file", required=True, metavar="PATH", help="the PEM public key file; '-' reads stdin"
    )
    parser = add_action(
        actions,
        "remove-pem",
        remove_pem,
        help="remove a PEM key from a profile (never its last one)",
    )
    _add_profile_id(parser)
    parser.add_argument("--key-id", required=True, metavar="KEY_ID", help="the pem-… id")
    parser = add_action(
        actions,
        "test",
        test,
        help="dry run: check a token against a profile",
        description="Run every verification check on a token and print each outcome, the "
        "decoded header and claims and the mapped attributes. Starts no session, "
        "does not mark the token as used, writes no audit event. Exit status 1 "
        "when a check fails.",
    )
    _add_profile_id(parser)
    parser.add_argument(
        "--token",
        required=True,
        metavar="TOKEN",
        help="the external JWT; '-' reads it from stdin (keeps it out of the shell history)",
    )
