"""Carry the identities made before links existed over to ``IdentityLink`` rows.

- A user identity's ``(external_issuer, external_id)`` becomes an external-id link.
- Every profile that signed a user or member in (a success ``AuditEvent``) and maps no external
  id becomes an email link for that issuer; a B2B profile mapping ``external_member_id`` becomes
  an external-id link for the member's ``external_id``.
- Identities and members that never signed in were made by an operator: they stay claimable by
  the first verified token with their email. The others are marked JIT-provisioned.
- ``UserIdentity.external_id`` keeps its value (Stytch's user ``external_id``) but no longer
  identifies anyone: the link does.
"""

from django.db import migrations


def _profiles_that_signed_in(AuditEvent, public_id):
    return (
        AuditEvent.objects.filter(outcome="success", user_id=public_id, profile__isnull=False)
        .values_list("profile", flat=True)
        .distinct()
    )


def forwards(apps, schema_editor):
    UserIdentity = apps.get_model("trusted_auth", "UserIdentity")
    Member = apps.get_model("trusted_auth", "Member")
    IdentityLink = apps.get_model("trusted_auth", "IdentityLink")
    AuditEvent = apps.get_model("trusted_auth", "AuditEvent")
    Profile = apps.get_model("trusted_auth", "TrustedAuthTokenProfile")
    profiles = {profile.pk: profile for profile in Profile.objects.all()}

    def link(issuer, kind, subject, **owner):
        if not (issuer and subject):
            return
        unique = {"issuer": issuer, "kind": kind, "subject": subject}
        if "member" in owner:
            unique["organization_id"] = owner["organization_id"]
        else:
            unique["identity__isnull"] = False
        if not IdentityLink.objects.filter(**unique).exists():
            fields = {"issuer": issuer, "kind": kind, "subject": subject, **owner}
            IdentityLink.objects.create(**fields, origin="migration")

    for identity in UserIdentity.objects.order_by("pk").iterator():
        signed_in = [profiles[pk] for pk in _profiles_that_signed_in(AuditEvent, identity.user_id)]
        if identity.external_issuer:
            link(identity.external_issuer, "external_id", identity.external_id, identity=identity)
        for profile in signed_in:
            if "external_user_id" not in (profile.attribute_mapping or {}):
                link(profile.issuer, "email", identity.email.lower(), identity=identity)
        if signed_in or identity.external_issuer:
            identity.provisioned_by = "jit"
            identity.save(update_fields=["provisioned_by"])

    for member in Member.objects.order_by("pk").iterator():
        signed_in = [profiles[pk] for pk in _profiles_that_signed_in(AuditEvent, member.member_id)]
        owner = {"member": member, "organization_id": member.organization_id}
        for profile in signed_in:
            mapping = profile.attribute_mapping or {}
            if "external_member_id" in mapping and member.external_id:
                link(profile.issuer, "external_id", member.external_id, **owner)
            else:
                link(profile.issuer, "email", member.email.lower(), **owner)
        if signed_in:
            member.provisioned_by = "jit"
            member.save(update_fields=["provisioned_by"])


class Migration(migrations.Migration):
    dependencies = [
        ("trusted_auth", "0006_identity_links_consumed_tokens"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
