"""ApiToken.scope is named for what it holds, access (read or write). The column and its CHECK keep
their names and SQL, so nothing changes in the database."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0002_workspace_moves_to_workspaces'),
        ('workspaces', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.RemoveConstraint(
            model_name='apitoken',
            name='api_token_scope_valid',
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='scope',
            field=models.CharField(choices=[('read', 'Read'), ('write', 'Read and write')], db_column='scope', default='read', max_length=5),
        ),
        migrations.RenameField(
            model_name='apitoken',
            old_name='scope',
            new_name='access',
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.CheckConstraint(condition=models.Q(('access__in', ['read', 'write'])), name='api_token_scope_valid'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
