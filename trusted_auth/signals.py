"""Signals sent by trusted_auth. ``sender`` is a model class; accept ``**kwargs``.

Signals about a change are sent once it commits (``transaction.on_commit``), so a receiver never
hears of a row a rolled-back attest did not keep; ``attest_failed`` is sent after the rollback.
"""

from django.dispatch import Signal

# attest_succeeded
#     Sent after an attest committed: its session (if any) and its audit event are saved.
#     sender:  ``AuditEvent``
#     event:   the ``AuditEvent`` row written for this attest
#     user:    the Django user (consumer), or the member's linked user or None (B2B)
#     session: the ``Session`` started or extended, or None (no ``session_duration_minutes``)
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
#     Sent when ``authenticate`` touched a live session, or an attest added a factor to it.
#     sender:   ``Session``
#     session:  the ``Session``, after the change
#     reason:   ``"authenticate"`` or ``"factor_added"``
#     extended: True when ``expires_at`` moved (``session_duration_minutes`` was given)
session_refreshed = Signal()

# session_revoked
#     Sent when sessions stopped being live before their expiry: revoked (API, admin, browser
#     logout, a deleted user or member) or idle (refused by ``authenticate``).
#     sender:      ``Session``
#     session_ids: the public ids revoked, in no particular order; never empty
#     reason:      ``"revoked"`` or ``"idle_timeout"``
session_revoked = Signal()

# user_provisioned
#     Sent when a consumer user and its identity were created (JIT, API or CLI).
#     sender:   ``UserIdentity``
#     identity: the new ``UserIdentity``
#     user:     its Django user
#     profile:  the ``TrustedAuthTokenProfile`` whose JIT provisioning made it, or None
user_provisioned = Signal()

# member_provisioned
#     Sent when a B2B member was created (JIT, API or CLI).
#     sender:  ``Member``
#     member:  the new ``Member`` (``member.organization`` is its organization)
#     profile: the ``TrustedAuthTokenProfile`` whose JIT provisioning made it, or None
member_provisioned = Signal()

# identity_linked
#     Sent when an issuer was linked to a user or member (its origin says how).
#     sender: ``IdentityLink``
#     link:   the new ``IdentityLink`` (``link.identity`` or ``link.member`` is set)
#     origin: ``IdentityLink.Origin``: ``"jit"``, ``"claimed"``, ``"policy"`` or ``"operator"``
identity_linked = Signal()

# identity_unlinked
#     Sent when an operator removed a link (admin or CLI). The row is already deleted.
#     sender: ``IdentityLink``
#     link:   the deleted ``IdentityLink`` (its attributes are still readable)
identity_unlinked = Signal()

# rbac_policy_changed
#     Sent after the project policy or an organization's roles changed.
#     sender:       ``RbacPolicy`` (project) or ``OrganizationRbacPolicy``
#     organization: the ``Organization`` whose roles changed, or None for the project policy
#     policy:       the new policy, as stored (``{"roles": [...]}`` for an organization)
rbac_policy_changed = Signal()

# member_roles_changed
#     Sent after the members API changed a member's explicit roles. Its live sessions hold
#     the new ones from their next authenticate or session-token use.
#     sender:         ``Member``
#     member:         the ``Member``, after the change (``member.roles``)
#     previous_roles: the role ids it held before
member_roles_changed = Signal()
