"""A database at the schema before the apps split (campaigns 0011), filled with the old models,
then migrated to the latest schema and read back with today's models: tests/test_migrations.py runs
it in a child process against an empty database of its own (`python manage.py shell -c
"from tests.migration_scenario import run; run()"`), so going back and forth never touches the
database other tests run against. It prints what it read, as one JSON object.
"""

import json
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

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


def run() -> None:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import Profile
    from api.models import ApiToken
    from campaigns.models import Campaign
    from exports.models import Export
    from generation.models import ProviderBatch
    from webhooks.models import WebhookEndpoint
    from workspaces.models import Invitation, Membership, Workspace

    old = migrate(BEFORE_THE_MOVE)
    # As in a database made before the move: the moved models' content types are campaigns', with
    # their permissions (post_migrate makes them; migrations run alone do not).
    old_content_type = old.get_model("contenttypes", "ContentType")
    old_types = {model: old_content_type.objects.create(app_label="campaigns", model=model).pk for model in MOVED}
    old.get_model("auth", "Permission").objects.create(
        content_type_id=old_types["workspace"], codename="change_workspace", name="Can change workspace"
    )
    workspace_id, campaign_id, batch_id = fill_the_old_schema(old)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor = MigrationExecutor(connection)
    workspace = Workspace.objects.get(pk=workspace_id)
    read = {
        "left_to_apply": len(executor.migration_plan(executor.loader.graph.leaf_nodes())),
        "workspace": [workspace.name, str(workspace.monthly_budget_usd)],
        "membership_role": Membership.objects.get(workspace=workspace).role,
        "invitation_state": Invitation.objects.get(workspace=workspace).state,
        "time_zone": Profile.objects.get(user__username="before-the-move").time_zone,
        "campaign_in_workspace": Campaign.objects.get(workspace=workspace).pk == campaign_id,
        "export_of_campaign": Export.objects.get().campaign_id == campaign_id,
        "provider_batch_of_batch": ProviderBatch.objects.get().batch_id == batch_id,
        "token_in_workspace": ApiToken.objects.get().workspace_id == workspace_id,
        "endpoint_in_workspace": WebhookEndpoint.objects.get().workspace_id == workspace_id,
        "content_types_kept": {
            model: ContentType.objects.filter(app_label=app, model=model).values_list("pk", flat=True).first()
            == old_types[model]
            for model, app in MOVED.items()
        },
        "content_types_left_in_campaigns": ContentType.objects.filter(app_label="campaigns", model__in=MOVED).count(),
        "permission_followed": Permission.objects.filter(
            content_type__app_label="workspaces", codename="change_workspace"
        ).exists(),
    }
    print(json.dumps(read))
