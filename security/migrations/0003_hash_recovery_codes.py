"""Recovery codes stored so far in clear are replaced by their keyed hash (security.twofactor.recovery_hash), which
is what the portal compares from now on. Irreversible: a hash cannot be turned back into its code."""

import re

from django.db import migrations

from security.twofactor import recovery_hash

# What recovery_hash() makes; anything else in the column is a code in clear.
HASHED = re.compile(r"[A-Z2-7]{16}")


def hash_codes_in_clear(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.all().iterator():
        if not HASHED.fullmatch(token.token):
            token.token = recovery_hash(token.token)
            token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0002_enrolment_page_opened"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(hash_codes_in_clear, migrations.RunPython.noop, elidable=False)]
