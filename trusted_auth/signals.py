"""Signals sent by trusted_auth. Connect with ``@receiver(attest_succeeded)`` and so on.

attest_succeeded
    Sent after a token was attested and its session (if any) saved.
    Arguments: ``sender`` (the service function), ``event`` (the ``AuditEvent``), ``user`` (the
    Django user), ``session`` (the ``Session`` or None when none was started).

attest_failed
    Sent after an attest was refused.
    Arguments: ``sender``, ``event`` (the ``AuditEvent``), ``error`` (the ``TrustedAuthError``).
"""

from django.dispatch import Signal

attest_succeeded = Signal()
attest_failed = Signal()
