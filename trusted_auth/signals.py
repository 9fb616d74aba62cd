"""Signals sent by trusted_auth. Connect with ``@receiver(session_started)`` and so on.

Every signal's ``sender`` is a model class (``AuditEvent``, ``Session``, ``UserIdentity``,
``Member``, the identity link model), so ``@receiver(session_started, sender=Session)`` works as it
does for Django's own model signals. Receivers get keyword arguments only; accept ``**kwargs``
so new arguments can be added without breaking them.

The session signals are sent once the change is committed (``transaction.on_commit``): a
receiver never hears of a session that a rolled-back attest did not keep. In tests run inside a
transaction, use pytest-django's ``django_capture_on_commit_callbacks(execute=True)``.
"""

from django.dispatch import Signal

# attest_succeeded
#     Sent after a token was attested and its session (if any) saved.
#     sender:  ``AuditEvent``
#     event:   the ``AuditEvent`` row written for this attest
#     user:    the Django user (consumer), or the member's linked user or None (B2B)
#     session: the ``Session`` started or extended, or None when none was (consumer attest
#              without ``session_duration_minutes``)
attest_succeeded = Signal()

# attest_failed
#     Sent after an attest was refused (its audit event is written after the rollback).
#     sender: ``AuditEvent``
#     event:  the ``AuditEvent`` row (outcome ``failure``)
#     error:  the ``TrustedAuthError`` (``error.error_type``, ``error.message``)
attest_failed = Signal()

# session_started
#     Sent when a new session was created by an attest (API, browser flow).
#     sender:  ``Session``
#     session: the new ``Session`` (``session.user`` or ``session.member`` is set)
#     profile: the ``TrustedAuthTokenProfile`` whose token started it
#     token_id: the mapped ``token_id`` of that token (its first factor)
session_started = Signal()

# session_refreshed
#     Sent when a live session was used and touched: ``authenticate`` (consumer or B2B), or an
#     attest that added a trusted token factor to it.
#     sender:   ``Session``
#     session:  the ``Session``, after the change
#     reason:   ``"authenticate"`` or ``"factor_added"``
#     extended: True when ``expires_at`` moved (``session_duration_minutes`` was given)
session_refreshed = Signal()

# session_revoked
#     Sent when sessions stopped being live before their expiry: a revoke call (API, admin,
#     browser logout) or an idle session refused by ``authenticate``.
#     sender:      ``Session``
#     session_ids: list of the public ids (``session-…`` / ``member-session-…``) revoked, in
#                  no particular order; never empty
#     reason:      ``"revoked"`` or ``"idle_timeout"``
session_revoked = Signal()

# user_provisioned
#     Sent when an attest created a consumer user (JIT provisioning) and its identity.
#     sender:   ``UserIdentity``
#     identity: the new ``UserIdentity`` (``identity.user`` is the Django user)
#     profile:  the ``TrustedAuthTokenProfile`` that allowed it
user_provisioned = Signal()

# member_provisioned
#     Sent when a B2B attest created a member (JIT provisioning).
#     sender:       ``Member``
#     member:       the new ``Member``
#     organization: its ``Organization`` (``organization_created`` says whether it is new too)
#     organization_created: True when the same attest created the organization
#     profile:      the ``TrustedAuthTokenProfile`` that allowed it
member_provisioned = Signal()

# identity_linked
#     Sent when an issuer's identity was linked to a user: created by JIT provisioning, by the
#     profile's link policy, or explicitly from the admin or the CLI.
#     sender: the identity link model class
#     link:   the new link row (issuer, subject or email, user)
#     user:   the Django user it reaches
#     source: ``"jit"``, ``"policy"``, ``"admin"`` or ``"cli"``
identity_linked = Signal()

# identity_unlinked
#     Sent when such a link was removed (admin or CLI). The row is already deleted.
#     sender: the identity link model class
#     link:   the deleted link row (its attributes are still readable)
#     user:   the Django user it reached
#     source: ``"admin"`` or ``"cli"``
identity_unlinked = Signal()
