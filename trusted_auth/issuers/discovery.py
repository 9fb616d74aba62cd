"""OpenID Connect discovery: an issuer's JWKS URL and algorithms, read from its own document.

Fetched under the JWKS fetcher's rules; the document's ``issuer`` must equal the URL exactly
(Discovery 1.0 §4.3). Nothing is saved: the result fills a profile the user still confirms.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from trusted_auth.errors import InvalidJwksUrl, InvalidProfile, JwksUnavailable
from trusted_auth.issuers.jwks_http import fetch_capped
from trusted_auth.issuers.profile_rules import check_jwks_url, validate_issuer
from trusted_auth.models.profiles import SUPPORTED_ALGORITHMS

WELL_KNOWN_PATH = "/.well-known/openid-configuration"
# Real discovery documents are a few KiB; Google's and Microsoft's are under 4 KiB.
MAX_DISCOVERY_BYTES = 64 * 1024
WHAT = "OIDC discovery"
# OpenID Connect Discovery 1.0 §3: RS256 MUST be supported when the field is absent.
DEFAULT_ALGORITHMS = ("RS256",)


@dataclass
class DiscoveredIssuer:
    """What an issuer's discovery document says, reduced to what a profile uses."""

    issuer: str
    document_url: str
    jwks_url: str
    algorithms: list[str]
    advertised_algorithms: list[str]
    ignored_algorithms: list[str] = field(default_factory=list)
    claims_supported: list[str] = field(default_factory=list)

    def suggested_mapping(self) -> dict[str, str]:
        """email/token_id/external_user_id/name from the standard claims the issuer lists
        (email and jti when it lists no claims at all)."""
        listed = set(self.claims_supported)
        mapping = {"email": "email", "token_id": "jti"}
        if not listed or "sub" in listed:
            mapping["external_user_id"] = "sub"
        if "name" in listed:
            mapping["name"] = "name"
        return mapping

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One sentence for people: what was found and what was left out."""
        text = (
            f"{self.document_url} names issuer {self.issuer}, JWKS {self.jwks_url}, "
            f"algorithms {', '.join(self.algorithms)}"
        )
        if self.ignored_algorithms:
            text += f" (ignored, not supported here: {', '.join(self.ignored_algorithms)})"
        return text + "."


def discovery_url(issuer: str) -> str:
    """``<issuer>/.well-known/openid-configuration``, the issuer's trailing slash dropped."""
    return issuer.rstrip("/") + WELL_KNOWN_PATH


def discover_issuer(issuer: Any) -> DiscoveredIssuer:
    """Read and check ``issuer``'s discovery document. Raises ``InvalidProfile`` (its ``field``
    names what is wrong), ``InvalidJwksUrl`` or ``JwksUnavailable`` (the fetch failed)."""
    validate_issuer(issuer)
    if not issuer.startswith("https://"):
        raise InvalidProfile(
            "discovery needs the issuer's https URL (the iss of its tokens)", field="issuer"
        )
    url = discovery_url(issuer)
    body = fetch_capped(url, what=WHAT, cap=MAX_DISCOVERY_BYTES)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise JwksUnavailable(f"{WHAT} document at {url} is not JSON") from e
    if not isinstance(document, dict):
        raise JwksUnavailable(f"{WHAT} document at {url} is not a JSON object")
    named = document.get("issuer")
    if named != issuer:
        raise InvalidProfile(_issuer_mismatch(issuer, named, url), field="issuer")
    jwks_url = document.get("jwks_uri")
    if not isinstance(jwks_url, str) or not jwks_url:
        raise InvalidProfile(f"{url} names no jwks_uri", field="jwks_url")
    try:
        check_jwks_url(jwks_url)
    except InvalidJwksUrl as e:
        raise InvalidProfile(
            f"its jwks_uri {jwks_url[:200]} is refused: {e.message}", field="jwks_url"
        ) from e
    advertised = document.get("id_token_signing_alg_values_supported")
    if advertised is None:
        advertised = list(DEFAULT_ALGORITHMS)
    if not isinstance(advertised, list) or not all(isinstance(a, str) for a in advertised):
        raise JwksUnavailable(f"{url}: id_token_signing_alg_values_supported is not a list")
    algorithms = [alg for alg in SUPPORTED_ALGORITHMS if alg in advertised]
    ignored = [alg for alg in advertised if alg not in SUPPORTED_ALGORITHMS][:20]
    if not algorithms:
        raise InvalidProfile(
            f"{url} lists only {', '.join(a[:20] for a in advertised[:10]) or 'no algorithms'}; "
            f"none is one we verify ({', '.join(SUPPORTED_ALGORITHMS)})",
            field="algorithms",
        )
    claims = document.get("claims_supported")
    claims_supported = (
        [c for c in claims if isinstance(c, str)][:200] if isinstance(claims, list) else []
    )
    return DiscoveredIssuer(
        issuer=issuer,
        document_url=url,
        jwks_url=jwks_url,
        algorithms=algorithms,
        advertised_algorithms=[a[:40] for a in advertised[:40]],
        ignored_algorithms=[a[:40] for a in ignored],
        claims_supported=claims_supported,
    )


def _issuer_mismatch(issuer: str, named: Any, url: str) -> str:
    if not isinstance(named, str):
        return f"{url} names no issuer; an issuer's discovery document must"
    shown = named[:200]
    hint = ""
    if named.rstrip("/") == issuer.rstrip("/"):
        hint = " (they differ only by a trailing slash: its tokens carry exactly the document's)"
    elif named.lower() == issuer.lower():
        hint = " (they differ only by case)"
    return (
        f"the discovery document at {url} names issuer {shown!r}, not {issuer!r}{hint}; "
        f"its tokens carry {shown!r}: discover that URL if you trust it"
    )
