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
    Sent after a consumer user was created: by a JIT attest (once it committed), ``POST
    /v1/users`` or ``trusted_auth user create``.
    Arguments: ``sender`` (``UserIdentity``), ``identity`` (the ``UserIdentity``), ``user`` (its
    Django user).

member_provisioned
    Sent after a B2B member was created: by a JIT attest (once it committed), ``POST
    /v1/b2b/organizations/{id}/members`` or ``trusted_auth member create``.
    Arguments: ``sender`` (``Member``), ``member`` (the ``Member``).

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
