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
#     browser logout), a deleted user or member, or an idle session refused by ``authenticate``.
#     sender:      ``Session``
#     session_ids: list of the public ids (``session-…`` / ``member-session-…``) revoked, in
#                  no particular order; never empty
#     reason:      ``"revoked"`` or ``"idle_timeout"``
session_revoked = Signal()

# user_provisioned
#     Sent when a consumer user and its identity were created: by a JIT attest, ``POST
#     /v1/users`` or ``trusted_auth user create``.
#     sender:   ``UserIdentity``
#     identity: the new ``UserIdentity``
#     user:     its Django user
#     profile:  the ``TrustedAuthTokenProfile`` whose JIT provisioning made it, or None when an
#               operator did (a pre-provisioned identity)
user_provisioned = Signal()

# member_provisioned
#     Sent when a B2B member was created: by a JIT attest, ``POST
#     /v1/b2b/organizations/{id}/members`` or ``trusted_auth member create``.
#     sender:  ``Member``
#     member:  the new ``Member`` (``member.organization`` is its organization)
#     profile: the ``TrustedAuthTokenProfile`` whose JIT provisioning made it, or None
member_provisioned = Signal()

# identity_linked
#     Sent when an issuer was linked to a user or member: by JIT provisioning, by claiming a
#     pre-provisioned identity, by the profile's link policy, or by an operator (admin, CLI).
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
#     Sent after an RBAC policy change committed: the project policy (import, admin) or an
#     organization's roles (API, admin).
#     sender:       ``RbacPolicy`` (project) or ``OrganizationRbacPolicy``
#     organization: the ``Organization`` whose roles changed, or None for the project policy
#     policy:       the new policy, as stored (``{"roles": [...]}`` for an organization)
rbac_policy_changed = Signal()

# member_roles_changed
#     Sent after a change to a member's explicit roles through the members API (``PUT
#     .../members/{member_id}``, ``update_member``) committed. The member's live sessions keep
#     their roles; its next session has the new ones.
#     sender:         ``Member``
#     member:         the ``Member``, after the change (``member.roles``)
#     previous_roles: the role ids it held before
member_roles_changed = Signal()
