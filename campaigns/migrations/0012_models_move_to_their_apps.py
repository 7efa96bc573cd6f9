"""The models that moved to workspaces, accounts, exports and generation leave campaigns' state.

No table changes; the content types follow the models, so permissions and admin history stay attached."""

import django.db.models.deletion
from django.db import migrations, models


MOVED = {
    "workspace": "workspaces",
    "membership": "workspaces",
    "invitation": "workspaces",
    "profile": "accounts",
    "export": "exports",
    "providerbatch": "generation",
}


def _relabel(apps, schema_editor, *, backwards: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app in MOVED.items():
        old, new = ("campaigns", app) if not backwards else (app, "campaigns")
        # A fresh database has no content types yet (post_migrate makes them): nothing to move.
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def move_content_types(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, backwards=False)


def move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('accounts', '0001_initial'),
        ('exports', '0001_initial'),
        ('generation', '0001_initial'),
        ('api', '0002_workspace_moves_to_workspaces'),
        ('campaigns', '0011_activity_queued_posts'),
        ('webhooks', '0002_workspace_moves_to_workspaces'),
        ('workspaces', '0001_initial'),
    ]

    state_operations = [
        migrations.RemoveField(
            model_name='invitation',
            name='accepted_by',
        ),
        migrations.RemoveField(
            model_name='invitation',
            name='created_by',
        ),
        migrations.RemoveField(
            model_name='invitation',
            name='workspace',
        ),
        migrations.RemoveField(
            model_name='membership',
            name='user',
        ),
        migrations.RemoveField(
            model_name='membership',
            name='workspace',
        ),
        migrations.RemoveField(
            model_name='profile',
            name='user',
        ),
        migrations.RemoveField(
            model_name='providerbatch',
            name='batch',
        ),
        migrations.RemoveField(
            model_name='workspace',
            name='personal_for',
        ),
        migrations.AlterField(
            model_name='campaign',
            name='workspace',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='workspaces.workspace'),
        ),
        migrations.DeleteModel(
            name='Export',
        ),
        migrations.DeleteModel(
            name='Invitation',
        ),
        migrations.DeleteModel(
            name='Membership',
        ),
        migrations.DeleteModel(
            name='Profile',
        ),
        migrations.DeleteModel(
            name='ProviderBatch',
        ),
        migrations.DeleteModel(
            name='Workspace',
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=state_operations,
            database_operations=[migrations.RunPython(move_content_types, move_content_types_back)],
        )
    ]
