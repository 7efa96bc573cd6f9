"""ProviderBatch moves here from campaigns: state only, the table keeps its name."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("campaigns", "0011_activity_queued_posts"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="ProviderBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("phase", models.CharField(choices=[("captions", "Captions"), ("images", "Images")], max_length=10)),
                ("round", models.PositiveSmallIntegerField(default=0)),
                ("post_ids", models.JSONField(default=list, help_text="The posts whose lines this batch carries.")),
                ("submission_key", models.CharField(max_length=64)),
                ("input_file_id", models.CharField(blank=True, max_length=100)),
                (
                    "create_sent_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When a create request was sent: the batch may exist without our knowing its id.",
                        null=True,
                    ),
                ),
                ("provider_batch_id", models.CharField(blank=True, max_length=100)),
                ("output_file_id", models.CharField(blank=True, max_length=100)),
                ("error_file_id", models.CharField(blank=True, max_length=100)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("preparing", "Preparing"),
                            ("validating", "Validating"),
                            ("in_progress", "In progress"),
                            ("finalizing", "Finalizing"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                            ("expired", "Expired"),
                            ("cancelling", "Cancelling"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="preparing",
                        max_length=12,
                    ),
                ),
                ("total_count", models.PositiveIntegerField(default=0)),
                ("completed_count", models.PositiveIntegerField(default=0)),
                ("failed_count", models.PositiveIntegerField(default=0)),
                ("cancel_sent", models.BooleanField(default=False)),
                (
                    "done",
                    models.BooleanField(
                        default=False, help_text="Its results are written: nothing more to do with it."
                    ),
                ),
                ("poll_owner", models.CharField(blank=True, max_length=120)),
                ("poll_expires_at", models.DateTimeField(blank=True, null=True)),
                ("next_poll_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="provider_batches",
                        to="campaigns.batchjob",
                    ),
                ),
            ],
            options={
                "db_table": "campaigns_providerbatch",
                "ordering": ["batch", "created_at", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("done", False)), fields=["next_poll_at"], name="provider_batch_due"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("phase__in", ["captions", "images"])),
                        name="campaigns_providerbatch_phase_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                [
                                    "preparing",
                                    "validating",
                                    "in_progress",
                                    "finalizing",
                                    "completed",
                                    "failed",
                                    "expired",
                                    "cancelling",
                                    "cancelled",
                                ],
                            )
                        ),
                        name="campaigns_providerbatch_status_valid",
                    ),
                    models.UniqueConstraint(fields=("batch", "phase", "round"), name="provider_batch_unique_round"),
                ],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
