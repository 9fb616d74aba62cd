"""Signals sent by trusted_auth. Connect with ``@receiver(attest_succeeded)`` and so on.

attest_succeeded
    Sent after a token was attested and its session (if any) saved.
    Arguments: ``sender`` (the service function), ``event`` (the ``AuditEvent``), ``user`` (the
    Django user), ``session`` (the ``Session`` or None when none was started).

attest_failed
    Sent after an attest was refused.
    Arguments: ``sender``, ``event`` (the ``AuditEvent``), ``error`` (the ``TrustedAuthError``).

user_provisioned
    Sent after a consumer user was created (``POST /v1/users``, ``trusted_auth user create``).
    Arguments: ``sender`` (``UserIdentity``), ``identity`` (the ``UserIdentity``), ``user`` (its
    Django user).

member_provisioned
    Sent after a B2B member was created (``POST /v1/b2b/organizations/{id}/members``,
    ``trusted_auth member create``).
    Arguments: ``sender`` (``Member``), ``member`` (the ``Member``).
"""

from django.dispatch import Signal

attest_succeeded = Signal()
attest_failed = Signal()
user_provisioned = Signal()
member_provisioned = Signal()
