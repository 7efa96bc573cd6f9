"""A workspace's monthly budget: a batch that would overrun it is refused with the numbers, a batch's cap
never reaches past what is left, the form tells before starting, and the admin shows each workspace's spend."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.budgets import BudgetExceeded
from campaigns.models import Activity, ActivityVerb, BatchJob, BatchMode, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_retry_failed, batch_start
from tests.factories import BatchFactory, CampaignFactory, PostFactory
from workspaces.selectors import month_start
from workspaces.services.workspaces import personal_workspace

HTMX = {"HX-Request": "true"}


@pytest.fixture
def budgeted(openai_settings, user, campaign):
    """gpt-4o-mini and gpt-image-1 at the default prices ($0.042285 a post), a $10 budget, $8 spent this
    month and $100 last month (which does not count)."""
    workspace = personal_workspace(user)
    workspace.monthly_budget_usd = Decimal("10.00")
    workspace.save()
    BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, cost_usd=Decimal("8.00"))
    last_month = BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, cost_usd=Decimal("100"))
    BatchJob.objects.filter(pk=last_month.pk).update(created_at=month_start() - timedelta(seconds=1))
    return workspace


def test_a_batch_that_would_overrun_the_budget_is_refused_with_the_numbers(budgeted, user, campaign):
    with pytest.raises(BudgetExceeded) as refusal:
        batch_start(campaign=campaign, count=100, actor=user, enqueue=False)
    assert refusal.value.messages == [
        "This batch would cost about $4.23: more than is left of the workspace's $10.00 budget this month "
        "($8.00 spent, $2.00 left). Ask for fewer posts, or ask an owner to raise the budget."
    ]
    assert BatchJob.objects.count() == 2 and not Post.objects.exists()

    # 40 posts fit ($1.70), and the batch may not spend more than what was left.
    first = batch_start(campaign=campaign, count=40, actor=user, enqueue=False)
    assert first.cost_cap_usd == Decimal("2.00")
    # What it is expected to spend yet counts too: another 40 do not fit in the rest.
    with pytest.raises(
        BudgetExceeded, match=r"\(\$8.00 spent and about \$1.69 on its way in running batches, \$0.31 left\)"
    ):
        batch_start(campaign=campaign, count=40, actor=user, enqueue=False)
    # The shell and the admin (no actor) are held to the budget as well.
    with pytest.raises(BudgetExceeded):
        batch_start(campaign=campaign, count=40, actor=None, enqueue=False)
    # $0.3086 left, to the cent below.
    assert batch_start(campaign=campaign, count=5, actor=None, enqueue=False).cost_cap_usd == Decimal("0.30")


def test_a_lower_cap_is_what_a_batch_is_weighed_at(budgeted, user, campaign):
    """500 posts would cost $21.15, but a $1.50 cap means the batch cannot spend more than that."""
    batch = batch_start(campaign=campaign, count=500, actor=user, cost_cap_usd=Decimal("1.50"), enqueue=False)
    assert batch.cost_cap_usd == Decimal("1.50")


def failed_batch(campaign, failed: int, **fields) -> BatchJob:
    """A batch that ended with `failed` failed posts (and nothing spent)."""
    batch = BatchFactory(
        campaign=campaign, requested_count=failed, status=BatchStatus.FAILED, failed_count=failed, **fields
    )
    PostFactory.create_batch(failed, campaign=campaign, batch=batch, status=GenerationStatus.FAILED, caption="")
    return batch


def test_retrying_failed_posts_is_weighed_against_the_budget_like_a_new_batch(budgeted, user, campaign):
    batch = failed_batch(campaign, 100)
    with pytest.raises(BudgetExceeded) as refusal:
        batch_retry_failed(batch=batch, actor=user)
    assert refusal.value.messages == [
        "This batch would cost about $4.23: more than is left of the workspace's $10.00 budget this month "
        "($8.00 spent, $2.00 left). Ask for fewer posts, or ask an owner to raise the budget."
    ]
    # Nothing changed: the posts are still failed, the batch ended, and the log says nothing.
    batch.refresh_from_db()
    assert (batch.status, batch.failed_count) == (BatchStatus.FAILED, 100)
    assert set(batch.posts.values_list("status", flat=True)) == {GenerationStatus.FAILED}
    assert not Activity.objects.filter(verb=ActivityVerb.RETRIED).exists()
    # Staff in the admin (no actor) are held to the budget as well.
    with pytest.raises(BudgetExceeded):
        batch_retry_failed(batch=batch, actor=None)

    # 40 of them ($1.70) fit.
    smaller = failed_batch(campaign, 40)
    assert batch_retry_failed(batch=smaller, actor=user) == 40
    assert smaller.posts.filter(status=GenerationStatus.PENDING).count() == 40


def test_a_retry_is_weighed_at_its_batchs_cost_cap_and_at_the_standard_prices(budgeted, user, campaign):
    # 100 posts would cost $4.23, but the batch's cap leaves it $1.50 to spend.
    capped = failed_batch(campaign, 100, cost_cap_usd=Decimal("2.00"), cost_usd=Decimal("0.50"))
    assert batch_retry_failed(batch=capped, actor=user) == 100

    BatchJob.objects.filter(pk=capped.pk).update(status=BatchStatus.CANCELED)  # no longer running: spends nothing
    # $1.50 left. 60 posts: $2.54 at the standard prices. An economy batch's retried posts go through
    # the live path (the chunk jobs), so they are weighed at the standard prices too, not the Batch API's $1.27.
    with pytest.raises(BudgetExceeded, match=r"would cost about \$2\.54"):
        batch_retry_failed(batch=failed_batch(campaign, 60), actor=user)
    with pytest.raises(BudgetExceeded, match=r"would cost about \$2\.54"):
        batch_retry_failed(batch=failed_batch(campaign, 60, mode=BatchMode.ECONOMY), actor=user)
    assert batch_retry_failed(batch=failed_batch(campaign, 30, mode=BatchMode.ECONOMY), actor=user) == 30


def test_no_budget_means_no_refusal(openai_settings, user, campaign):
    BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, cost_usd=Decimal("5000"))
    assert batch_start(campaign=campaign, count=100, actor=user, enqueue=False)


def test_the_form_tells_the_budget_before_starting_and_the_page_shows_the_refusal(budgeted, signed_in_client, campaign):
    estimate_url = reverse("campaigns:batch_estimate", args=[campaign.pk])
    html = signed_in_client.get(estimate_url, {"count": "40"}, headers=HTMX).content.decode()
    assert "This month: $8.00 of the workspace's $10.00 budget spent." in html
    assert "the batch would be refused" not in html
    html = signed_in_client.get(estimate_url, {"count": "100"}, headers=HTMX).content.decode()
    assert "That is more than is left: the batch would be refused." in html
    response = signed_in_client.post(
        reverse("campaigns:batch_start", args=[campaign.pk]),
        {"count": "100", "platforms": campaign.platforms[:1]},
        headers=HTMX,
    )
    assert "This batch would cost about $4.23: more than is left of the workspace&#x27;s $10.00 budget" in (
        response.content.decode()
    )
    assert BatchJob.objects.count() == 2


def test_the_admin_shows_each_workspaces_spend_this_month(budgeted, staff_client, other_user):
    CampaignFactory(owner=other_user)  # a workspace with no budget and nothing spent
    html = staff_client.get(reverse("admin:workspaces_workspace_changelist")).content.decode()
    assert "$8.00 of $10.00 (80%)" in html
    assert "$0.00 (no budget)" in html


def test_owners_set_the_budget_on_the_members_page_with_this_months_spend_beside_it(db, client):
    from tests.factories import MembershipFactory, WorkspaceFactory
    from workspaces.roles import Role

    team = WorkspaceFactory(name="Acme marketing")
    owner = MembershipFactory(workspace=team, role=Role.OWNER).user
    editor = MembershipFactory(workspace=team, role=Role.EDITOR).user
    BatchFactory(campaign=CampaignFactory(workspace=team, owner=editor), cost_usd=Decimal("3.25"))
    url = reverse("workspaces:workspace_settings")
    for user, status in ((editor, 403), (owner, 302)):
        client.force_login(user)
        client.post(reverse("workspaces:workspace_switch"), {"workspace": team.pk, "next": "/"})
        response = client.post(url, {"name": "Acme marketing", "monthly_budget_usd": "250"})
        assert response.status_code == status
    team.refresh_from_db()
    assert team.monthly_budget_usd == Decimal("250.00")
    page = client.get(reverse("workspaces:members")).content.decode()
    assert "Spent this month: $3.25." in page and 'value="250.00"' in page
