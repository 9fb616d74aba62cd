"""Signals sent by trusted_auth. Connect with ``@receiver(attest_succeeded)`` and so on.

attest_succeeded
    Sent after an attest committed: its session (if any) and its audit event are saved.
    Arguments: ``sender`` (``AuditEvent``), ``event`` (the ``AuditEvent``), ``user`` (the
    Django user), ``session`` (the ``Session`` or None when none was started).

attest_failed
    Sent after an attest was refused.
    Arguments: ``sender`` (``AuditEvent``), ``event`` (the ``AuditEvent``), ``error`` (the
    ``TrustedAuthError``).

user_provisioned
    Sent when a JIT attest created a consumer user (after the attest committed).
    Arguments: ``sender`` (``UserIdentity``), ``identity`` (the new ``UserIdentity``).

member_provisioned
    Sent when a JIT attest created a B2B member (after the attest committed).
    Arguments: ``sender`` (``Member``), ``member`` (the new ``Member``).

identity_linked
    Sent when an issuer was linked to a user or member (after the change committed).
    Arguments: ``sender`` (``IdentityLink``), ``link`` (the new ``IdentityLink``), ``origin``
    (``IdentityLink.Origin``: jit, claimed, policy, operator).

identity_unlinked
    Sent when an operator removed a link (after the change committed).
    Arguments: ``sender`` (``IdentityLink``), ``link`` (the deleted ``IdentityLink``, unsaved).
"""

from django.dispatch import Signal

attest_succeeded = Signal()
attest_failed = Signal()
user_provisioned = Signal()
member_provisioned = Signal()
identity_linked = Signal()
identity_unlinked = Signal()
