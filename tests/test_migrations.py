"""The models that left campaigns for their own apps keep every row: the move is state only.

A database migrated to the schema before the move (campaigns 0011) and filled there with the old
models is migrated to the latest schema, and the current models read the same rows.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import Profile
from api.models import ApiToken
from exports.models import Export
from generation.models import ProviderBatch
from webhooks.models import WebhookEndpoint
from workspaces.models import Invitation, Membership, Workspace

BEFORE_THE_MOVE = [
    ("campaigns", "0011_activity_queued_posts"),
    ("api", "0001_initial"),
    ("webhooks", "0001_initial"),
    ("accounts", None),
    ("workspaces", None),
    ("exports", None),
    ("generation", None),
]
MOVED = {
    "workspace": "workspaces",
    "membership": "workspaces",
    "invitation": "workspaces",
    "profile": "accounts",
    "export": "exports",
    "providerbatch": "generation",
}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def migrate_to_latest():
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


def fill_the_old_schema(old):
    """One of each moved model, written with the models as they were in campaigns."""
    user = old.get_model("auth", "User").objects.create(username="before-the-move")
    workspace = old.get_model("campaigns", "Workspace").objects.create(
        name="Team before", slug="team-before", monthly_budget_usd=Decimal("12.50"), ical_token="t" * 43
    )
    old.get_model("campaigns", "Membership").objects.create(workspace=workspace, user=user, role="owner")
    old.get_model("campaigns", "Invitation").objects.create(
        workspace=workspace, role="editor", token_hash="h" * 64, expires_at=timezone.now() + timedelta(days=7)
    )
    old.get_model("campaigns", "Profile").objects.create(user=user, time_zone="Europe/Madrid")
    campaign = old.get_model("campaigns", "Campaign").objects.create(
        workspace=workspace, owner=user, name="Launch", brief="Cold brew", platforms=["instagram"]
    )
    batch = old.get_model("campaigns", "BatchJob").objects.create(
        campaign=campaign, requested_count=2, platforms=["instagram"], mode="economy"
    )
    old.get_model("campaigns", "ProviderBatch").objects.create(
        batch=batch, phase="captions", post_ids=[1, 2], submission_key="k" * 32
    )
    old.get_model("campaigns", "Export").objects.create(campaign=campaign, download_name="launch.zip", total_count=2)
    old.get_model("api", "ApiToken").objects.create(
        workspace=workspace, user=user, name="CI", key_hash="d" * 64, prefix="cpk_before"
    )
    old.get_model("webhooks", "WebhookEndpoint").objects.create(
        workspace=workspace, url="https://hooks.example.com/in", secret="whsec_x", events=["batch.succeeded"]
    )
    return workspace.pk, campaign.pk, batch.pk


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_apps_split_are_read_after_it():
    try:
        old = migrate(BEFORE_THE_MOVE)
        # As in a database made before the move: the content types are campaigns' (this test
        # database was made after it, and going back may or may not have relabelled them).
        for model, app in MOVED.items():
            ContentType.objects.filter(app_label=app, model=model).update(app_label="campaigns")
        workspace_id, campaign_id, batch_id = fill_the_old_schema(old)
        old_types = dict(ContentType.objects.filter(app_label="campaigns", model__in=MOVED).values_list("model", "pk"))
    finally:
        migrate_to_latest()
    # The test database is left as every other test expects it: nothing left to apply.
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []

    workspace = Workspace.objects.get(pk=workspace_id)
    # ical_token was dropped later (workspaces 0002): each person has their own calendar feed.
    assert (workspace.name, workspace.monthly_budget_usd) == ("Team before", Decimal("12.50"))
    assert Membership.objects.get(workspace=workspace).role == "owner"
    assert Invitation.objects.get(workspace=workspace).state == "pending"
    assert Profile.objects.get(user__username="before-the-move").time_zone == "Europe/Madrid"
    assert workspace.campaigns.get().pk == campaign_id
    assert Export.objects.get().campaign_id == campaign_id
    assert ProviderBatch.objects.get().batch_id == batch_id
    assert ApiToken.objects.get().workspace_id == workspace_id
    assert WebhookEndpoint.objects.get().workspace_id == workspace_id

    # The content types followed their models: the same rows, so permissions and admin history stay attached.
    for model, app in MOVED.items():
        assert ContentType.objects.get(app_label=app, model=model).pk == old_types[model]
        assert not ContentType.objects.filter(app_label="campaigns", model=model).exists()
    assert Permission.objects.filter(content_type__app_label="workspaces", codename="change_workspace").exists()
