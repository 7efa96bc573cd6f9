"""A regeneration is weighed like a one-post batch: against the workspace's budget, and against its
batch's cost cap while that batch runs. Before, five "regenerate both" went through a $0.00 budget."""

from decimal import Decimal

import django_rq
from django.urls import reverse

from campaigns.models import (
    Activity,
    ActivityVerb,
    BatchStatus,
    GenerationStatus,
    ReviewStatus,
)
from tests.factories import BatchFactory, PostFactory
from workspaces.services.workspaces import personal_workspace

HTMX = {"HX-Request": "true"}
BUDGET_REFUSAL = (
    "This batch would cost about $0.05: more than is left of the workspace&#x27;s $0.00 budget this month "
    "($0.00 spent, $0.00 left). Ask for fewer posts, or ask an owner to raise the budget."
)


def generation_queue_ids() -> list[str]:
    return django_rq.get_queue("generation").job_ids


def finished_post(campaign, **batch_fields):
    batch = BatchFactory(campaign=campaign, requested_count=1, succeeded_count=1, **batch_fields)
    return PostFactory(
        campaign=campaign,
        batch=batch,
        status=GenerationStatus.SUCCEEDED,
        review_status=ReviewStatus.APPROVED,
        caption="The words as they were.",
    )


def regenerate(client, post, capture):
    with capture(execute=True):  # what is queued on commit is queued
        return client.post(reverse("campaigns:post_regenerate", args=[post.pk]), {"part": "both"}, headers=HTMX)


def assert_regeneration_refused(client, post, refusal: str, capture) -> None:
    before = (post.status, post.review_status, post.caption, post.updated_at)
    for _ in range(5):
        response = regenerate(client, post, capture)
        assert response.status_code == 200
        assert refusal in response.content.decode()
    post.refresh_from_db()
    assert (post.status, post.review_status, post.caption, post.updated_at) == before
    assert generation_queue_ids() == []
    assert not Activity.objects.filter(verb=ActivityVerb.REGENERATED).exists()


def test_a_regeneration_is_weighed_against_the_workspaces_budget_like_a_one_post_batch(
    openai_settings, signed_in_client, user, campaign, django_capture_on_commit_callbacks
):
    workspace = personal_workspace(user)
    workspace.monthly_budget_usd = Decimal("0.00")
    workspace.save()
    post = finished_post(campaign, status=BatchStatus.SUCCEEDED)
    assert_regeneration_refused(signed_in_client, post, BUDGET_REFUSAL, django_capture_on_commit_callbacks)
    # The same words as a new batch's refusal (the API answers that one 422).
    response = signed_in_client.post(
        reverse("campaigns:batch_start", args=[campaign.pk]),
        {"count": "1", "platforms": campaign.platforms[:1]},
        headers=HTMX,
    )
    assert BUDGET_REFUSAL.replace("This batch would cost about $0.05", "") in response.content.decode()

    workspace.monthly_budget_usd = None
    workspace.save()
    regenerate(signed_in_client, post, django_capture_on_commit_callbacks)
    post.refresh_from_db()
    assert post.status == GenerationStatus.PENDING and len(generation_queue_ids()) == 1


def test_a_regeneration_in_a_running_batch_is_weighed_against_its_cost_cap(
    openai_settings, signed_in_client, campaign, django_capture_on_commit_callbacks
):
    post = finished_post(campaign, status=BatchStatus.RUNNING, cost_cap_usd=Decimal("1.00"), cost_usd=Decimal("0.98"))
    assert_regeneration_refused(
        signed_in_client,
        post,
        f"This regeneration would cost about $0.05: more than is left of batch #{post.batch_id}&#x27;s "
        "$1.00 cost cap ($0.98 spent, $0.02 left).",
        django_capture_on_commit_callbacks,
    )
