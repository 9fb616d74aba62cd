"""Every ``error_type`` trusted_auth answers with: its HTTP status, what it means, how to fix it.
Source of the Errors page and of each ``error_url``; tests/test_error_reference.py checks it
against the code and ``openapi.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from trusted_auth.conf import trusted_auth_settings

ERRORS_PATH = "/trusted_auth/errors"


@dataclass(frozen=True)
class ErrorInfo:
    status: int
    meaning: str
    fix: str


ERRORS: dict[str, ErrorInfo] = {
    # --- any endpoint ---
    "bad_request": ErrorInfo(
        400,
        "A request argument is missing or malformed, or the body is not a JSON object.",
        "Read error_message: it names the field. Send Content-Type: application/json.",
    ),
    "unauthorized_credentials": ErrorInfo(
        401,
        "HTTP Basic credentials are missing, or project_id:secret does not match a live secret.",
        "Send HTTP Basic project_id:secret (curl -u, or the SDK's project_id and secret) with "
        "a secret from `manage.py trusted_auth secret create`.",
    ),
    "not_found": ErrorInfo(
        404,
        "No endpoint at this path (or /metrics is disabled).",
        "Check the path against the OpenAPI document; the SDK's base URL ends with '/'.",
    ),
    "method_not_allowed": ErrorInfo(
        405,
        "The endpoint exists but not for this HTTP method.",
        "Use the method the OpenAPI document lists for the path.",
    ),
    "unsupported_media_type": ErrorInfo(
        415,
        "The body is not sent as JSON.",
        "Send Content-Type: application/json.",
    ),
    "too_many_requests": ErrorInfo(
        429,
        "A rate limit (THROTTLE_RATES) was reached for this client IP or profile.",
        "Wait the Retry-After seconds; raise THROTTLE_RATES if the traffic is legitimate.",
    ),
    "internal_server_error": ErrorInfo(
        500,
        "An unexpected error; it is logged by the server with its request_id.",
        "Report it with the request_id: bad input should never cause it.",
    ),
    "service_unavailable": ErrorInfo(
        503,
        "A dependency (database or cache) did not answer; nothing was accepted.",
        "Retry after Retry-After seconds; check the database and cache.",
    ),
    "project_not_found": ErrorInfo(
        404,
        "The project_id in the JWKS path is not this deployment's PROJECT_ID.",
        "Fetch /v1/sessions/jwks/<TRUSTED_AUTH['PROJECT_ID']>.",
    ),
    # --- attest: the external token ---
    "invalid_trusted_auth_token": ErrorInfo(
        401,
        "The external token failed verification: size, format, algorithm, key or signature.",
        "Check the profile's keys and algorithms; `trusted_auth profile test` shows each step.",
    ),
    "jwt_invalid_issuer": ErrorInfo(
        401,
        "The token's iss is not the profile's issuer (exact match).",
        "Set the profile's issuer to the token's iss exactly (trailing slash included).",
    ),
    "jwt_invalid_audience": ErrorInfo(
        401,
        "The token's aud does not contain the profile's audience.",
        "Set the profile's audience to the value your IdP puts in aud.",
    ),
    "jwt_invalid_claims": ErrorInfo(
        401,
        "A claim is missing or unacceptable: exp/iat, lifetime, email, email_verified, token_id,"
        " roles.",
        "Read error_message; map the claim the profile expects (attribute_mapping).",
    ),
    "trusted_token_replayed": ErrorInfo(
        401,
        "This token was already attested and the profile's replay policy is single_use.",
        "Mint a new token for every attest (a fresh jti).",
    ),
    "jwks_unavailable": ErrorInfo(
        503,
        "The issuer's JWKS could not be fetched and no good copy is cached.",
        "Retry later; check the profile's jwks_url is reachable from the server.",
    ),
    "invalid_jwks_url": ErrorInfo(
        400,
        "A JWKS URL we refuse to fetch: not https, or a private network address.",
        "Use a public https URL (JWKS_ALLOW_PRIVATE_NETWORKS is for tests and demos only).",
    ),
    "trusted_token_profile_not_found": ErrorInfo(
        404,
        "No trusted auth token profile with this profile_id.",
        "Use a profile_id from `trusted_auth profile list`.",
    ),
    # --- attest: who the token is for ---
    "user_inactive": ErrorInfo(
        403,
        "The token's user exists but its Django account is inactive (is_active is false).",
        "Reactivate the Django user if it should sign in again; its sessions ended with it.",
    ),
    "user_not_found": ErrorInfo(
        404,
        "No user with this id, or no user the token may reach and the profile does not JIT "
        "provision.",
        "Create the user (POST /v1/users) or enable the profile's JIT provisioning.",
    ),
    "identity_link_required": ErrorInfo(
        403,
        "A user with this email exists but the issuer has no link to it, and the link policy "
        "does not allow one.",
        "Run the `trusted_auth identity link` command error_message names (it links by the "
        "token's external id when the profile maps one), or change the profile's link policy.",
    ),
    "member_not_found": ErrorInfo(
        404,
        "No member with this id or email in the organization.",
        "Create the member (POST /v1/b2b/organizations/{id}/members) or enable JIT provisioning.",
    ),
    "organization_not_found": ErrorInfo(
        404,
        "No organization with this id, slug or external id.",
        "Create it (POST /v1/b2b/organizations) or pass an existing organization_id.",
    ),
    "organization_mismatch": ErrorInfo(
        400,
        "The token's organization claim names another organization than organization_id.",
        "Attest the token for the organization it was issued for.",
    ),
    "email_jit_provisioning_not_allowed": ErrorInfo(
        403,
        "JIT would create a member whose email domain is not in email_allowed_domains.",
        "Add the domain to the organization's email_allowed_domains, or create the member.",
    ),
    # --- sessions ---
    "session_not_found": ErrorInfo(
        404,
        "No live session for these credentials: unknown, expired, idle, revoked, or the other "
        "kind (consumer vs B2B).",
        "Start a new session with attest.",
    ),
    "session_user_mismatch": ErrorInfo(
        400,
        "The session_token/session_jwt belongs to another user or member than the token.",
        "Pass the session of the same user, or none to start a new session.",
    ),
    "consumer_session_authorization_error": ErrorInfo(
        403,
        "authenticate's authorization_check was denied: none of the session's roles grants the "
        "action on the resource, or the RBAC policy does not define that resource or action. "
        "The session stays live.",
        "Give the user a role that grants it (a profile's grantable_roles and the token's "
        "role_ids), or define the resource and action in the policy (`trusted_auth rbac show`).",
    ),
    "session_authorization_error": ErrorInfo(
        403,
        "B2B authenticate's authorization_check was denied: none of the member's roles (project "
        "or organization roles) grants the action on the resource, or the policy does not "
        "define that resource or action. The session stays live.",
        "Assign the member a role that grants it, or define the resource and action in the "
        "policy (`trusted_auth rbac show`).",
    ),
    "session_authorization_tenancy_error": ErrorInfo(
        403,
        "The organization_id in authorization_check is not the member session's organization.",
        "Check permissions in the organization the session belongs to.",
    ),
    "too_many_session_arguments": ErrorInfo(
        400,
        "Both session_token and session_jwt were passed.",
        "Pass one of them.",
    ),
    "invalid_session_duration_minutes": ErrorInfo(
        400,
        "session_duration_minutes is not an integer from 5 to 527040.",
        "Pass minutes within that range.",
    ),
    "reserved_claims_in_custom_claims": ErrorInfo(
        400,
        "session_custom_claims names a registered claim (iss sub aud exp nbf iat jti) or a "
        "https://stytch.com/ claim.",
        "Rename the claim.",
    ),
    "custom_claims_too_large": ErrorInfo(
        400,
        "session_custom_claims is larger than 4 KiB or nested too deeply.",
        "Keep custom claims small; store the rest in your database.",
    ),
    # --- users, organizations, members ---
    "duplicate_email": ErrorInfo(
        409,
        "A user (or a Django account) with this email already exists.",
        "Get or update that user; link an existing Django account explicitly (admin or CLI).",
    ),
    "duplicate_external_id": ErrorInfo(
        409,
        "Another user has this external_id.",
        "External ids are unique per project: choose another or update the other user.",
    ),
    "duplicate_organization": ErrorInfo(
        409,
        "Another organization has this organization_slug or organization_external_id.",
        "Choose another slug or external id.",
    ),
    "duplicate_member": ErrorInfo(
        409,
        "A member of this organization already has this email or external_id.",
        "Get or update that member (reactivate it if it was deleted).",
    ),
    # --- administration (CLI and admin) ---
    "invalid_profile": ErrorInfo(
        400,
        "A trusted auth token profile (or a PEM key) that cannot be saved as given.",
        "Read error_message: it names the field.",
    ),
    "invalid_preset": ErrorInfo(
        400,
        "A provider preset that does not exist, or a parameter it needs that is missing or "
        'malformed (profile create --preset, the admin\'s "Start from a provider").',
        "Run `trusted_auth presets` for each preset's parameters, and pass them with --param.",
    ),
    "profile_key_not_found": ErrorInfo(
        404,
        "No PEM key with this id on the profile.",
        "Use a key id from `trusted_auth profile show`.",
    ),
    "secret_not_found": ErrorInfo(
        404,
        "No (live) API secret with this id.",
        "Use a secret id from `trusted_auth secret list`.",
    ),
    "secret_rotation_in_progress": ErrorInfo(
        409,
        "Revoking this secret would leave no live secret, or a rotation is unfinished.",
        "Create the new secret first, move clients to it, then revoke the old one.",
    ),
    "key_rotation_refused": ErrorInfo(
        409,
        "A signing-key rotation step was asked for too early (JWKS caches or live JWTs).",
        "Wait the time the message names, or pass --promote/--force knowingly.",
    ),
    "invalid_key_encryption_key": ErrorInfo(
        400,
        "A stored signing key decrypts with neither the current key-encryption key nor a "
        "fallback (nor the old KEK given to `keys reencrypt`).",
        "Put the key it was encrypted under in SECRET_KEY_FALLBACKS or "
        "KEY_ENCRYPTION_KEY_FALLBACKS, then run `keys rewrap`.",
    ),
    "cross_site_request": ErrorInfo(
        403,
        "The browser flow received a cross-site request.",
        "Call /browser/exchange from a page of the same origin.",
    ),
}


def error_url(error_type: str) -> str:
    """Where ``error_type``'s reference entry lives: ``ERROR_DOCS_URL#error_type`` when set, else
    the Errors page this deployment serves at ``ISSUER + /trusted_auth/errors``."""
    base = trusted_auth_settings.ERROR_DOCS_URL or (
        trusted_auth_settings.ISSUER.rstrip("/") + ERRORS_PATH
    )
    return f"{base}#{error_type}"
