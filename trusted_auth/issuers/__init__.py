"""Issuers: trusted token profiles, their keys and JWKS fetching, verification of an external
token, issuer discovery, provider presets and the dry run.
"""
