"""Attest: verify an external token and sign its user or member in.

One flow (``flow.run_attest``) for both kinds; a principal resolver per kind says who the token
speaks for and what a session of that kind holds (``consumer.ConsumerResolver``,
``b2b.MemberResolver``).
"""

from trusted_auth.attest.b2b import b2b_attest
from trusted_auth.attest.consumer import attest
from trusted_auth.attest.flow import AttestRequest, AttestResult, record_malformed_attest

# The B2B request is the same request with ``organization_id`` set.
B2BAttestRequest = AttestRequest

__all__ = [
    "AttestRequest",
    "AttestResult",
    "B2BAttestRequest",
    "attest",
    "b2b_attest",
    "record_malformed_attest",
]
