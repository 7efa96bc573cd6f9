"""Each person's own calendar feed URL: the seed its token is made from, and the token's SHA-256 (accounts.calendar_tokens)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="calendar_token_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="profile",
            name="calendar_token_seed",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="profile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("calendar_token_hash", ""), _negated=True),
                fields=("calendar_token_hash",),
                name="profile_calendar_token_hash_unique",
            ),
        ),
    ]
