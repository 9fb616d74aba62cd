"""Close the Supabase ``user_metadata`` hole in profiles made from the old preset.

The Supabase preset mapped ``email_verified`` to ``user_metadata.email_verified``, which every
Supabase user writes (``supabase.auth.updateUser({data})``): under ``link_policy=verified_email``
a token naming someone else's email could prove it verified. Each profile trusting a Supabase
project (issuer ``https://<ref>.supabase.co/auth/v1``) now lists ``user_metadata`` in its
``untrusted_claims``, and loses an ``email_verified`` mapping under it: such a token then says
nothing about verification (no policy link; ``require_verified_email`` refuses it).
"""

import re

from django.db import migrations

SUPABASE_ISSUER = re.compile(r"https://[a-z0-9]{1,63}\.supabase\.co/auth/v1")


def forwards(apps, schema_editor):
    Profile = apps.get_model("trusted_auth", "TrustedAuthTokenProfile")
    for profile in Profile.objects.all():
        if not SUPABASE_ISSUER.fullmatch(profile.issuer):
            continue
        mapping = dict(profile.attribute_mapping or {})
        verified = mapping.get("email_verified", "")
        if verified == "user_metadata" or verified.startswith("user_metadata."):
            del mapping["email_verified"]
        untrusted = list(profile.untrusted_claims or [])
        if "user_metadata" not in untrusted:
            untrusted.append("user_metadata")
        Profile.objects.filter(pk=profile.pk).update(
            attribute_mapping=mapping, untrusted_claims=untrusted
        )


class Migration(migrations.Migration):
    dependencies = [
        ("trusted_auth", "0014_profile_untrusted_claims"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
