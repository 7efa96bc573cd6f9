"""Post.scope is named for what it holds, pending_work. The column and its CHECK keep their names and
SQL, so nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0012_models_move_to_their_apps'),
    ]

    state_operations = [
        migrations.RemoveConstraint(
            model_name='post',
            name='campaigns_post_scope_valid',
        ),
        migrations.AlterField(
            model_name='post',
            name='scope',
            field=models.CharField(choices=[('batch', 'Batch post'), ('caption', 'Regenerate caption'), ('image', 'Regenerate image'), ('both', 'Regenerate caption and image')], db_column='scope', default='batch', max_length=10),
        ),
        migrations.RenameField(
            model_name='post',
            old_name='scope',
            new_name='pending_work',
        ),
        migrations.AddConstraint(
            model_name='post',
            constraint=models.CheckConstraint(condition=models.Q(('pending_work__in', ['batch', 'caption', 'image', 'both'])), name='campaigns_post_scope_valid'),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
