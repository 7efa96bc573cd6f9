"""The workspace-wide calendar feed token goes, once each person can have their own feed (accounts 0002).

Its URLs answer 404 from now on: a removed member kept reading the feed with the one they had copied.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0001_initial"),
        ("accounts", "0002_profile_calendar_feed"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="workspace",
            name="workspace_ical_token_unique",
        ),
        migrations.RemoveField(
            model_name="workspace",
            name="ical_token",
        ),
    ]
