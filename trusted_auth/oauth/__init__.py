"""The OAuth 2.0 face of the one attest flow: server metadata (RFC 8414), the token endpoint's
grants (RFC 8693, RFC 7523, refresh), introspection (RFC 7662) and revocation (RFC 7009)."""
