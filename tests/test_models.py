"""The data model's rules hold in the database itself, not only in forms."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from campaigns.models import BatchJob, Campaign, Post
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def refused(statement) -> bool:
    """True when the database refuses the write (in its own savepoint, so the test goes on)."""
    try:
        with transaction.atomic():
            statement()
    except IntegrityError:
        return True
    return False


def test_campaign_name_is_unique_per_workspace_ignoring_case():
    owner = UserFactory()
    CampaignFactory(owner=owner, name="Spring Sale")
    assert refused(lambda: CampaignFactory(owner=owner, name="spring sale"))
    # Nor by another member of the same workspace.
    team = WorkspaceFactory()
    CampaignFactory(owner=owner, workspace=team, name="Autumn")
    assert refused(lambda: CampaignFactory(owner=UserFactory(), workspace=team, name="AUTUMN"))
    # Another workspace may use the same name.
    CampaignFactory(owner=UserFactory(), name="Spring Sale")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE campaigns_batchjob SET status = 'exploded'",
        "UPDATE campaigns_batchjob SET succeeded_count = -1",
        "UPDATE campaigns_batchjob SET requested_count = 1001",
        "UPDATE campaigns_batchjob SET requested_count = 0",
        "UPDATE campaigns_batchjob SET succeeded_count = requested_count + 1",
        "UPDATE campaigns_post SET status = 'lost'",
        "UPDATE campaigns_post SET review_status = 'maybe'",
        "UPDATE campaigns_post SET platform = 'myspace'",
        "UPDATE campaigns_post SET attempts = -1",
        "UPDATE campaigns_post SET status = 'generating', lease_expires_at = NULL",
    ],
)
def test_database_refuses_invalid_values(sql):
    batch = BatchFactory()
    PostFactory(campaign=batch.campaign, batch=batch)

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql)

    assert refused(run)


def test_campaign_end_date_cannot_precede_start_date():
    import datetime

    assert refused(lambda: CampaignFactory(start_date=datetime.date(2026, 5, 2), end_date=datetime.date(2026, 5, 1)))


def test_a_batch_cannot_hold_two_posts_at_one_position():
    batch = BatchFactory()
    PostFactory(campaign=batch.campaign, batch=batch, sequence=3)
    assert refused(lambda: PostFactory(campaign=batch.campaign, batch=batch, sequence=3))


@pytest.mark.postgres
def test_indexes_the_pages_use_exist():
    with connection.cursor() as cursor:
        post_indexes = connection.introspection.get_constraints(cursor, Post._meta.db_table)
        batch_indexes = connection.introspection.get_constraints(cursor, BatchJob._meta.db_table)
        campaign_indexes = connection.introspection.get_constraints(cursor, Campaign._meta.db_table)

    def columns(constraints):
        return {tuple(info["columns"]) for info in constraints.values() if info["index"]}

    assert ("campaign_id", "status", "created_at") in columns(post_indexes)
    assert ("batch_id", "status") in columns(post_indexes)
    assert ("status", "created_at") in columns(batch_indexes)
    assert ("campaign_id",) in columns(batch_indexes) or ("campaign_id", "created_at") in columns(batch_indexes)
    assert ("workspace_id", "created_at") in columns(campaign_indexes)
    assert post_indexes["post_claimable_pending"]["index"]


def test_models_know_their_pages_and_names():
    batch = BatchFactory(requested_count=5)
    post = PostFactory(campaign=batch.campaign, batch=batch, caption="Hello sunny world")
    assert batch.campaign.get_absolute_url() == reverse("campaigns:detail", args=[batch.campaign.pk])
    assert batch.get_absolute_url() == reverse("campaigns:batch_detail", args=[batch.pk])
    assert post.get_absolute_url() == reverse("campaigns:post_detail", args=[post.pk])
    assert str(batch.campaign) == batch.campaign.name
    assert str(batch) == f"Batch #{batch.pk} · 5 posts for {batch.campaign.name}"
    assert str(post) == f"Instagram post #{post.pk}: Hello sunny world"


def test_batch_progress_figures():
    batch = BatchFactory(requested_count=10, succeeded_count=3, failed_count=1, canceled_count=1)
    assert batch.done_count == 5
    assert batch.progress_percent == 50
