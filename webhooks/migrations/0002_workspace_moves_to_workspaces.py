"""The endpoint's workspace is now workspaces.Workspace: the same table, so state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("workspaces", "0001_initial"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="webhook_endpoints", to="workspaces.workspace"
            ),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
