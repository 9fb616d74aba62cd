"""Provider presets: the exact issuer, audience, JWKS URL, algorithms and claim mapping of an IdP.

Every IdP writes its ``iss`` its own way, and a profile matches it exactly: Supabase without a
trailing slash, Auth0 with one, Cognito with its region and pool id, Entra ID with the tenant
GUID and ``v2.0``, Clerk as its Frontend API URL, Firebase as
``https://securetoken.google.com/<project>``. A preset turns the few values a user knows (a
project ref, a tenant domain, a client id) into those strings, and names the IdP documentation
each value follows in its docstring.

A preset only *fills* a profile: ``build_preset(name, params)`` returns plain profile fields
that ``manage.py trusted_auth profile create --preset NAME --param KEY=VALUE …`` (where any other
flag overrides them) and the admin's "Start from a provider" hand to the ordinary profile
service. The result is an ordinary profile, edited like any other.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trusted_auth.errors import InvalidProfile


class InvalidPresetParameters(InvalidProfile):
    """A preset name we do not have, or parameters it cannot build a profile from."""

    error_type = "invalid_preset"

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message, field="preset")
        self.parameter = parameter


@dataclass(frozen=True)
class Parameter:
    """One value a preset needs from the user."""

    name: str
    help: str
    example: str
    required: bool = True
    default: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "required": self.required,
            "default": self.default,
            "example": self.example,
            "help": self.help,
        }


@dataclass(frozen=True)
class Preset:
    """An IdP: its parameters, and the function that builds profile fields from them."""

    name: str
    title: str
    parameters: tuple[Parameter, ...]
    build: Callable[[dict[str, str]], dict[str, Any]]
    docs: tuple[str, ...]
    notes: str = ""
    audience_from: str = field(default="audience")

    @property
    def summary(self) -> str:
        """The first paragraph of the builder's docstring."""
        return " ".join((self.build.__doc__ or "").strip().split("\n\n", 1)[0].split())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "parameters": [p.as_dict() for p in self.parameters],
            "audience_from": self.audience_from,
            "docs": list(self.docs),
            "notes": self.notes,
        }


PRESETS: dict[str, Preset] = {}

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)  # noqa: E501
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
_COGNITO_POOL = re.compile(r"^(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)_[A-Za-z0-9]+$")
_ENTRA_ALIASES = ("common", "organizations", "consumers")


def _preset(
    name: str,
    title: str,
    *parameters: Parameter,
    docs: tuple[str, ...],
    notes: str = "",
    audience_from: str = "audience",
) -> Callable[[Callable[[dict[str, str]], dict[str, Any]]], Callable[[dict[str, str]], Any]]:
    def register(build: Callable[[dict[str, str]], dict[str, Any]]):
        PRESETS[name] = Preset(name, title, parameters, build, docs, notes, audience_from)
        return build

    return register


def _host(params: dict[str, str], name: str) -> str:
    """A bare host name (``acme.eu.auth0.com``); an https:// prefix or a trailing slash is
    refused with what to give instead, since the host is spliced into an exact issuer."""
    value = params[name]
    bare = re.sub(r"^https?://", "", value).rstrip("/")
    if bare != value or not _HOST.match(value):
        hint = f" (give {bare!r})" if bare != value and _HOST.match(bare) else ""
        raise InvalidPresetParameters(
            f"{name} must be a bare host name like {_example(name)}{hint}", parameter=name
        )
    return value.lower()


def _slug(params: dict[str, str], name: str) -> str:
    value = params[name]
    if not _SLUG.match(value):
        raise InvalidPresetParameters(
            f"{name} must be letters, digits, '-', '_' or '.', like {_example(name)}",
            parameter=name,
        )
    return value


_EXAMPLES: dict[str, str] = {}


def _example(name: str) -> str:
    return _EXAMPLES.get(name, "…")


def _param(name: str, help: str, example: str, **kwargs: Any) -> Parameter:
    _EXAMPLES.setdefault(name, example)
    return Parameter(name, help, example, **kwargs)


# The presets ---------------------------------------------------------------------------------


@_preset(
    "supabase",
    "Supabase Auth",
    _param(
        "project_ref", "the project ref, the subdomain of <ref>.supabase.co", "abcdefghijklmnopqrst"
    ),
    _param(
        "audience",
        "the aud of the access token: 'authenticated' for signed-in users",
        "authenticated",
        required=False,
        default="authenticated",
    ),
    docs=(
        "https://supabase.com/docs/guides/auth/jwt-fields",
        "https://supabase.com/docs/guides/auth/signing-keys",
        "https://supabase.com/docs/guides/auth/jwts",
    ),
    notes="Needs asymmetric JWT signing keys (ES256 or RS256); the legacy HS256 secret is "
    "symmetric and cannot be trusted through a JWKS.",
)
def supabase(params: dict[str, str]) -> dict[str, Any]:
    """A Supabase project's access tokens: ``iss`` ``https://<ref>.supabase.co/auth/v1`` (no
    trailing slash), ``aud`` ``authenticated``, keys at ``<iss>/.well-known/jwks.json``.

    Follows Supabase's "JWT Claims Reference" (supabase.com/docs/guides/auth/jwt-fields:
    required claims ``iss aud exp iat sub role aal session_id``; ``email``, ``user_metadata``
    optional) and "JWT Signing Keys" (supabase.com/docs/guides/auth/signing-keys: ES256 (P-256)
    or RS256 keys published at ``/auth/v1/.well-known/jwks.json``). ``jti`` is not a required
    claim, so the factor's token_id is the ``session_id``; replay protection falls back to the
    token's digest. Supabase keeps the verification flag in ``user_metadata.email_verified``.

    Sources:
    https://supabase.com/docs/guides/auth/jwt-fields
    https://supabase.com/docs/guides/auth/signing-keys
    https://supabase.com/docs/guides/auth/jwts
    """
    ref = params["project_ref"]
    if not re.fullmatch(r"[a-z0-9]{1,63}", ref):
        raise InvalidPresetParameters(
            "project_ref is the lowercase subdomain of <ref>.supabase.co, like "
            "abcdefghijklmnopqrst (not the whole URL)",
            parameter="project_ref",
        )
    issuer = f"https://{ref}.supabase.co/auth/v1"
    return {
        "name": f"Supabase {ref}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": f"{issuer}/.well-known/jwks.json",
        "algorithms": ["ES256", "RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "session_id",
            "external_user_id": "sub",
            "name": "user_metadata.full_name",
            "email_verified": "user_metadata.email_verified",
        },
    }


@_preset(
    "auth0",
    "Auth0",
    _param(
        "domain",
        "the tenant domain (acme.eu.auth0.com) or your custom domain",
        "acme.eu.auth0.com",
    ),
    _param(
        "audience",
        "the application's Client ID (ID tokens) or the API Identifier (access tokens)",
        "3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN",
    ),
    docs=(
        "https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure",
        "https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-sets",
        "https://auth0.com/docs/get-started/applications/signing-algorithms",
    ),
    notes="Access tokens carry no email unless an Action adds one; ID tokens do.",
)
def auth0(params: dict[str, str]) -> dict[str, Any]:
    """An Auth0 tenant's ID tokens: ``iss`` ``https://<domain>/`` (with the trailing slash),
    ``aud`` the Client ID, keys at ``https://<domain>/.well-known/jwks.json``.

    Follows Auth0's "ID Token Structure" (auth0.com/docs/secure/tokens/id-tokens/
    id-token-structure: ``iss`` ends in ``/``, ``sub`` like ``auth0|…``, ``sid`` the session,
    ``email``/``email_verified``/``name`` with the email and profile scopes), "JSON Web Key Sets"
    (``/.well-known/jwks.json``) and "Signing Algorithms" (RS256 by default, PS256 available;
    HS256 is symmetric and refused). ID tokens carry no ``jti``: token_id is ``sid``. Auth0's
    default ID token lifetime is 36000 s (10 hours), so the profile accepts that lifetime.

    Sources:
    https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure
    https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-sets
    https://auth0.com/docs/get-started/applications/signing-algorithms
    """
    domain = _host(params, "domain")
    return {
        "name": f"Auth0 {domain}",
        "issuer": f"https://{domain}/",
        "audience": params["audience"],
        "jwks_url": f"https://{domain}/.well-known/jwks.json",
        "algorithms": ["RS256", "PS256"],
        "max_token_lifetime_seconds": 36000,
        "attribute_mapping": {
            "email": "email",
            "token_id": "sid",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "clerk",
    "Clerk",
    _param(
        "frontend_api",
        "the Frontend API host: clerk.<your domain> (production) or <slug>.clerk.accounts.dev",
        "clerk.example.com",
    ),
    _param(
        "audience",
        "the aud your JWT template sets (Clerk session tokens carry none)",
        "https://api.example.com",
    ),
    docs=(
        "https://clerk.com/docs/guides/sessions/session-tokens",
        "https://clerk.com/docs/guides/sessions/jwt-templates",
        "https://clerk.com/docs/guides/sessions/manual-jwt-verification",
    ),
    notes='Needs a JWT template with {"aud": "<audience>", "email": '
    '"{{user.primary_email_address}}", "email_verified": "{{user.email_verified}}", '
    '"name": "{{user.full_name}}"}: the default session token has neither aud nor email.',
)
def clerk(params: dict[str, str]) -> dict[str, Any]:
    """Tokens of a Clerk JWT template: ``iss`` the Frontend API URL ``https://<frontend_api>``
    (no trailing slash), keys at ``<iss>/.well-known/jwks.json``, RS256.

    Follows Clerk's "Session tokens" (clerk.com/docs/guides/sessions/session-tokens: default
    claims ``azp exp fva iat iss nbf sid sub`` that templates cannot override; ``iss`` is
    ``https://clerk.your-site.com`` or ``https://your-site.clerk.accounts.dev``), "JWT
    templates" (custom claims with shortcodes such as ``{{user.primary_email_address}}``) and
    "Manual JWT verification" (JWKS at ``<Frontend API>/.well-known/jwks.json``, RS256). The
    default session token has no ``aud`` and no ``email``, so the template must add them;
    token_id is the session ``sid``.

    Sources:
    https://clerk.com/docs/guides/sessions/session-tokens
    https://clerk.com/docs/guides/sessions/jwt-templates
    https://clerk.com/docs/guides/sessions/manual-jwt-verification
    """
    frontend_api = _host(params, "frontend_api")
    return {
        "name": f"Clerk {frontend_api}",
        "issuer": f"https://{frontend_api}",
        "audience": params["audience"],
        "jwks_url": f"https://{frontend_api}/.well-known/jwks.json",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "sid",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "cognito",
    "Amazon Cognito user pool",
    _param("region", "the AWS region of the user pool", "eu-west-1"),
    _param("user_pool_id", "the user pool id, <region>_<id>", "eu-west-1_AbCdEf123"),
    _param("client_id", "the app client id: the aud of the pool's ID tokens", "1example23456789"),
    docs=(
        "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html",
        "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html",
    ),
    notes="Use ID tokens: Cognito access tokens carry client_id instead of aud, and no email.",
    audience_from="client_id",
)
def cognito(params: dict[str, str]) -> dict[str, Any]:
    """A Cognito user pool's ID tokens: ``iss``
    ``https://cognito-idp.<region>.amazonaws.com/<user_pool_id>``, ``aud`` the app client id,
    keys at ``<iss>/.well-known/jwks.json``, RS256.

    Follows AWS's "Understanding the identity (ID) token" (claims ``sub email_verified iss
    cognito:username origin_jti aud event_id token_use auth_time exp iat jti email``) and
    "Verifying a JSON Web Token" (the issuer and JWKS URL above; ``token_use`` is ``id`` for ID
    tokens, whose ``aud`` is the app client id). Access tokens have ``client_id`` and no
    ``aud``, so they cannot pass the audience check: give ID tokens.

    Sources:
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
    """
    region = params["region"]
    if not _AWS_REGION.match(region):
        raise InvalidPresetParameters(
            f"region {region!r} is not an AWS region like eu-west-1", parameter="region"
        )
    pool = params["user_pool_id"]
    match = _COGNITO_POOL.match(pool)
    if match is None:
        raise InvalidPresetParameters(
            "user_pool_id looks like eu-west-1_AbCdEf123 (region, underscore, id)",
            parameter="user_pool_id",
        )
    if match["region"] != region:
        raise InvalidPresetParameters(
            f"user pool {pool} lives in {match['region']}, not {region}: give "
            f"region={match['region']}",
            parameter="region",
        )
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    return {
        "name": f"Cognito {pool}",
        "issuer": issuer,
        "audience": _slug(params, "client_id"),
        "jwks_url": f"{issuer}/.well-known/jwks.json",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "firebase",
    "Firebase Authentication (Google Identity Platform)",
    _param("project_id", "the Firebase project id", "my-project-1234"),
    docs=(
        "https://firebase.google.com/docs/auth/admin/verify-id-tokens#verify_id_tokens_using_a_third-party_jwt_library",
    ),
    audience_from="project_id",
)
def firebase(params: dict[str, str]) -> dict[str, Any]:
    """A Firebase project's ID tokens: ``iss`` ``https://securetoken.google.com/<project_id>``,
    ``aud`` the project id, RS256, Google's securetoken JWKS.

    Follows Firebase's "Verify ID tokens using a third-party JWT library" (header ``alg``
    RS256 and a ``kid`` from
    ``https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com``,
    whose JWK form is served at ``…/service_accounts/v1/jwk/securetoken@…``; payload ``exp iat
    aud iss sub auth_time``, ``sub`` the uid). ID tokens carry no ``jti``: token_id is the uid
    (``sub``) and replay protection uses the token's digest.

    Sources:
    https://firebase.google.com/docs/auth/admin/verify-id-tokens#verify_id_tokens_using_a_third-party_jwt_library
    """
    project = params["project_id"]
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", project):
        raise InvalidPresetParameters(
            "project_id is the Firebase project id, like my-project-1234 (lowercase)",
            parameter="project_id",
        )
    return {
        "name": f"Firebase {project}",
        "issuer": f"https://securetoken.google.com/{project}",
        "audience": project,
        "jwks_url": "https://www.googleapis.com/service_accounts/v1/jwk/"
        "securetoken@system.gserviceaccount.com",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "sub",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "okta",
    "Okta",
    _param("domain", "the Okta org domain or custom domain", "acme.okta.com"),
    _param(
        "authorization_server",
        "the custom authorization server id ('default'), or 'org' for the org server",
        "default",
        required=False,
        default="default",
    ),
    _param(
        "audience",
        "the Client ID (ID tokens) or the authorization server's audience (api://default)",
        "0oa1example2345678",
    ),
    docs=(
        "https://developer.okta.com/docs/reference/api/oidc/#id-token",
        "https://developer.okta.com/docs/concepts/auth-servers/",
        "https://developer.okta.com/docs/guides/validate-id-tokens/main/",
    ),
    notes="Access tokens carry no email claim by default; ID tokens with the email scope do.",
)
def okta(params: dict[str, str]) -> dict[str, Any]:
    """An Okta authorization server's ID tokens: ``iss`` ``https://<domain>/oauth2/<server>``
    (custom server, ``default`` unless named) or ``https://<domain>`` (org server), keys at
    ``<iss>/v1/keys`` (org server: ``https://<domain>/oauth2/v1/keys``), RS256.

    Follows Okta's OpenID Connect API reference ("ID token": claims ``ver jti iss aud iat exp
    sub`` plus ``email email_verified name`` with the email and profile scopes), "Authorization
    servers" (the org server's issuer is the org URL; a custom server's is
    ``https://<domain>/oauth2/<authorizationServerId>``) and "Validate ID tokens".

    Sources:
    https://developer.okta.com/docs/reference/api/oidc/#id-token
    https://developer.okta.com/docs/concepts/auth-servers/
    https://developer.okta.com/docs/guides/validate-id-tokens/main/
    """
    domain = _host(params, "domain")
    server = params["authorization_server"]
    if server == "org":
        issuer, jwks_url = f"https://{domain}", f"https://{domain}/oauth2/v1/keys"
    else:
        server = _slug(params, "authorization_server")
        issuer = f"https://{domain}/oauth2/{server}"
        jwks_url = f"{issuer}/v1/keys"
    return {
        "name": f"Okta {domain}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": jwks_url,
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "entra-id",
    "Microsoft Entra ID (v2.0 tokens)",
    _param(
        "tenant_id", "the directory (tenant) id, a GUID", "9188040d-6c67-4c5b-b112-36a304b66dad"
    ),
    _param(
        "client_id",
        "the application (client) id: the aud of its ID tokens",
        "6731de76-14a6-49ae-97bc-6eba6914391e",
    ),
    docs=(
        "https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference",
        "https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference",
        "https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims",
    ),
    notes="Add the optional 'email' claim to the app's ID token; Entra ID has no email_verified.",
    audience_from="client_id",
)
def entra_id(params: dict[str, str]) -> dict[str, Any]:
    """An Entra ID tenant's v2.0 ID tokens: ``iss``
    ``https://login.microsoftonline.com/<tenant GUID>/v2.0``, ``aud`` the application id, keys
    at ``https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys``, RS256.

    Follows Microsoft's "ID token claims reference" (``iss`` carries the tenant GUID and
    ``v2.0``; ``oid`` the user's immutable id in the tenant, ``sub`` pairwise per app, ``tid``
    the tenant, ``uti`` a unique token identifier, ``ver`` ``2.0``) and "Optional claims"
    (``email`` must be added as an optional claim). ``common``/``organizations`` are endpoint
    aliases, never an ``iss``: tokens always name the real tenant.

    Sources:
    https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
    https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
    https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims
    """
    tenant = params["tenant_id"]
    if tenant.lower() in _ENTRA_ALIASES:
        raise InvalidPresetParameters(
            f"{tenant!r} is an endpoint alias, never a token's iss: give the tenant's GUID "
            "(Entra admin center → Overview → Tenant ID)",
            parameter="tenant_id",
        )
    tenant = _guid(tenant, "tenant_id")
    client_id = _guid(params["client_id"], "client_id")
    return {
        "name": f"Entra ID {tenant}",
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "audience": client_id,
        "jwks_url": f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "uti",
            "external_user_id": "oid",
            "name": "name",
        },
    }


@_preset(
    "google",
    "Google (Sign in with Google ID tokens)",
    _param(
        "client_id",
        "the OAuth client id: the aud of its ID tokens",
        "1234567890-abc123.apps.googleusercontent.com",
    ),
    docs=(
        "https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken",
        "https://developers.google.com/identity/gsi/web/reference/js-reference#credential",
    ),
    notes="Google may also write iss as accounts.google.com (no scheme); this preset trusts "
    "https://accounts.google.com, the issuer of Google's discovery document.",
    audience_from="client_id",
)
def google(params: dict[str, str]) -> dict[str, Any]:
    """Google ID tokens for one OAuth client: ``iss`` ``https://accounts.google.com``, ``aud``
    the client id, keys at ``https://www.googleapis.com/oauth2/v3/certs``, RS256.

    Follows Google's OpenID Connect guide ("Validating an ID token": ``iss`` is
    ``https://accounts.google.com`` or ``accounts.google.com``, ``aud`` your client id; claims
    ``sub email email_verified name``) and the Sign In With Google credential reference
    (payload with ``jti``).

    Sources:
    https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
    https://developers.google.com/identity/gsi/web/reference/js-reference#credential
    """
    client_id = params["client_id"]
    if not re.fullmatch(r"[A-Za-z0-9._-]+\.apps\.googleusercontent\.com", client_id):
        raise InvalidPresetParameters(
            "client_id looks like 1234567890-abc123.apps.googleusercontent.com",
            parameter="client_id",
        )
    return {
        "name": "Google",
        "issuer": "https://accounts.google.com",
        "audience": client_id,
        "jwks_url": "https://www.googleapis.com/oauth2/v3/certs",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "keycloak",
    "Keycloak",
    _param(
        "base_url",
        "the server URL: https://sso.example.com (Keycloak 17+), https://…/auth before",
        "https://sso.example.com",
    ),
    _param("realm", "the realm name", "acme"),
    _param("audience", "the client id (the aud of its ID tokens)", "my-app"),
    docs=(
        "https://www.keycloak.org/docs/latest/server_admin/#_oidc",
        "https://www.keycloak.org/securing-apps/oidc-layers",
    ),
)
def keycloak(params: dict[str, str]) -> dict[str, Any]:
    """A Keycloak realm's ID tokens: ``iss`` ``<base_url>/realms/<realm>``, keys at
    ``<iss>/protocol/openid-connect/certs``, RS256.

    Follows Keycloak's "Securing applications: OpenID Connect layers" (endpoints under
    ``/realms/{realm-name}/protocol/openid-connect/``, ``certs`` the JWKS; the issuer is
    ``/realms/{realm-name}``; the ``/auth`` context path was dropped in Keycloak 17) and the
    server admin guide (ID tokens with ``jti sub email email_verified name``; ``aud`` the client).

    Sources:
    https://www.keycloak.org/docs/latest/server_admin/#_oidc
    https://www.keycloak.org/securing-apps/oidc-layers
    """
    base = params["base_url"]
    if not re.fullmatch(r"https://[^/?#\s]+(?:/[^?#\s]*)?", base) or base.endswith("/"):
        raise InvalidPresetParameters(
            "base_url is the https server URL without a trailing slash, like "
            "https://sso.example.com (or https://sso.example.com/auth before Keycloak 17)",
            parameter="base_url",
        )
    realm = _slug(params, "realm")
    issuer = f"{base}/realms/{realm}"
    return {
        "name": f"Keycloak {realm}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": f"{issuer}/protocol/openid-connect/certs",
        "algorithms": ["RS256", "PS256", "ES256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    }


@_preset(
    "workos",
    "WorkOS AuthKit",
    _param("client_id", "the environment's client id, client_…", "client_01HXYZEXAMPLE"),
    _param(
        "audience",
        "the aud of your access tokens (default: the client id)",
        "client_01HXYZEXAMPLE",
        required=False,
    ),
    docs=(
        "https://workos.com/docs/reference/authkit/session-tokens",
        "https://workos.com/docs/authkit/jwt-templates",
    ),
    notes='Access tokens carry no email: add {"email": "{{user.email}}"} with a JWT template.',
    audience_from="audience",
)
def workos(params: dict[str, str]) -> dict[str, Any]:
    """WorkOS AuthKit access tokens: ``iss`` ``https://api.workos.com/user_management/<client_id>``,
    keys at ``https://api.workos.com/sso/jwks/<client_id>``, RS256.

    Follows WorkOS's AuthKit "Session tokens" reference (the JWKS at ``/sso/jwks/<client_id>``;
    access token claims ``iss sub sid jti org_id role permissions exp iat``, ``sub`` a
    ``user_…`` id) and "JWT templates" (access tokens have no email until a template adds
    ``{{user.email}}``). With a custom authentication domain the issuer is that domain: override
    it with ``--issuer``.

    Sources:
    https://workos.com/docs/reference/authkit/session-tokens
    https://workos.com/docs/authkit/jwt-templates
    """
    client_id = params["client_id"]
    if not re.fullmatch(r"client_[A-Za-z0-9]+", client_id):
        raise InvalidPresetParameters(
            "client_id looks like client_01HXYZEXAMPLE", parameter="client_id"
        )
    return {
        "name": f"WorkOS {client_id}",
        "issuer": f"https://api.workos.com/user_management/{client_id}",
        "audience": params.get("audience") or client_id,
        "jwks_url": f"https://api.workos.com/sso/jwks/{client_id}",
        "algorithms": ["RS256"],
        "attribute_mapping": {
            "email": "email",
            "token_id": "jti",
            "external_user_id": "sub",
            "name": "name",
        },
    }


def _guid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as e:
        raise InvalidPresetParameters(
            f"{name} must be a GUID like {_example(name)}", parameter=name
        ) from e


# Using them ----------------------------------------------------------------------------------


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or ``InvalidPresetParameters`` listing the ones we have."""
    preset = PRESETS.get(name)
    if preset is None:
        raise InvalidPresetParameters(
            f"no preset {name[:40]!r}; presets: {', '.join(PRESETS)}", parameter="preset"
        )
    return preset


def build_preset(name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """Profile fields (name, issuer, audience, jwks_url, algorithms, attribute_mapping) for
    preset ``name`` from its parameters. Unknown or missing parameters, and values that cannot
    be what the IdP uses, raise ``InvalidPresetParameters`` naming the parameter."""
    preset = get_preset(name)
    known = {p.name: p for p in preset.parameters}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidPresetParameters(
            f"preset {name} takes {', '.join(known)}; not {', '.join(unknown)}",
            parameter=unknown[0],
        )
    values: dict[str, str] = {}
    for parameter in preset.parameters:
        value = (params.get(parameter.name) or "").strip()
        if not value and parameter.default is not None:
            value = parameter.default
        if not value and parameter.required:
            raise InvalidPresetParameters(
                f"preset {name} needs {parameter.name}: {parameter.help} "
                f"(--param {parameter.name}={parameter.example})",
                parameter=parameter.name,
            )
        if value:
            values[parameter.name] = value
    return preset.build(values)


def list_presets() -> list[dict[str, Any]]:
    """Every preset with its parameters, as plain data (``trusted_auth presets``)."""
    return [preset.as_dict() for preset in PRESETS.values()]
