"""The admin's change forms go through the services: structural fields are read-only, edits obey the pages' rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.admin.batches import BatchJobAdmin
from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, PendingWork, Post, ReviewStatus
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory, WorkspaceFactory
from workspaces.services.workspaces import personal_workspace

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return reverse(f"admin:campaigns_{obj._meta.model_name}_change", args=[obj.pk])


def post_form(post: Post, **changes) -> dict:
    """The post's change form as the admin page submits it unchanged, with `changes` on top."""
    scheduled = timezone.localtime(post.scheduled_at) if post.scheduled_at else None
    data = {
        "caption": post.caption,
        "hashtags": " ".join(post.hashtags),
        "review_status": post.review_status,
        "scheduled_at_0": f"{scheduled:%Y-%m-%d}" if scheduled else "",
        "scheduled_at_1": f"{scheduled:%H:%M:%S}" if scheduled else "",
    }
    return {**data, **changes}


def campaign_form(campaign: Campaign, **changes) -> dict:
    data = {
        "name": campaign.name,
        "brief": campaign.brief,
        "target_audience": campaign.target_audience,
        "tone": campaign.tone,
        "platforms": list(campaign.platforms),
        "language": campaign.language,
        "keywords": ", ".join(campaign.keywords),
        "hashtags": " ".join(campaign.hashtags),
        "call_to_action": campaign.call_to_action,
        "brand_color": campaign.brand_color,
        "start_date": "",
        "end_date": "",
    }
    return {**data, **changes}


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    return {field: list(errors) for field, errors in response.context["adminform"].form.errors.items()}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# ---------- posts: what is read-only ----------


STRUCTURAL_POST_FIELDS = {
    "campaign",
    "batch",
    "sequence",
    "platform",
    "status",
    "pending_work",
    "attempts",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "lease_owner",
    "lease_expires_at",
}


def test_a_posts_structural_fields_are_read_only(staff_client):
    batch = BatchFactory(status=BatchStatus.SUCCEEDED)
    post = PostFactory(campaign=batch.campaign, batch=batch, sequence=3, platform="x", caption="Before.")
    other = BatchFactory(status=BatchStatus.SUCCEEDED)
    form = staff_client.get(change_url(post)).context["adminform"].form
    assert set(form.fields) == {"caption", "hashtags", "review_status", "scheduled_at"}
    tampered = {
        "campaign": other.campaign.pk,
        "batch": other.pk,
        "sequence": "99",
        "platform": "linkedin",
        "status": GenerationStatus.FAILED,
        "pending_work": PendingWork.BOTH,
        "attempts": "7",
        "prompt_tokens": "1",
        "completion_tokens": "1",
        "cost_usd": "9.99",
        "lease_owner": "someone",
        "lease_expires_at_0": "2030-01-01",
        "lease_expires_at_1": "10:00:00",
    }
    assert {name.removesuffix("_0").removesuffix("_1") for name in tampered} >= STRUCTURAL_POST_FIELDS
    response = staff_client.post(change_url(post), post_form(post, caption="After.", **tampered))
    assert response.status_code == 302
    stored = Post.objects.get(pk=post.pk)
    assert stored.caption == "After."
    assert (stored.campaign_id, stored.batch_id, stored.sequence, stored.platform) == (
        batch.campaign_id,
        batch.pk,
        3,
        "x",
    )
    assert (stored.status, stored.pending_work, stored.attempts) == (post.status, post.pending_work, post.attempts)
    assert (stored.prompt_tokens, stored.completion_tokens, stored.cost_usd) == (0, 0, Decimal("0"))
    assert (stored.lease_owner, stored.lease_expires_at) == ("", None)


def test_posts_are_not_added_in_the_admin(staff_client):
    """A post is one of its batch's N, made by batch_start."""
    assert staff_client.get(reverse("admin:campaigns_post_add")).status_code == 403
    assert staff_client.post(reverse("admin:campaigns_post_add"), {"caption": "x"}).status_code == 403
    assert not Post.objects.exists()


# ---------- posts: edits obey the services ----------


@pytest.mark.parametrize(
    ("platform", "caption", "hashtags", "expected"),
    [
        ("x", "a" * 281, "", {"caption": ["The post is 281 characters with hashtags; X allows 280."]}),
        ("x", "a" * 270, "#OneTag #TwoTag", {"caption": ["The post is 287 characters with hashtags; X allows 280."]}),
        ("x", "Short.", "#a #b #c #d", {"hashtags": ["X allows at most 3 hashtags."]}),
        ("instagram", "   ", "", {"caption": ["Write a caption: a post cannot be published without one."]}),
    ],
    ids=["too-long", "too-long-with-hashtags", "too-many-hashtags", "blank"],
)
def test_a_caption_the_platform_refuses_is_refused_on_its_field(staff_client, platform, caption, hashtags, expected):
    post = PostFactory(platform=platform, caption="Before.", hashtags=[])
    response = staff_client.post(change_url(post), post_form(post, caption=caption, hashtags=hashtags))
    assert form_errors(response) == expected
    post.refresh_from_db()
    assert (post.caption, post.hashtags) == ("Before.", [])


def test_only_a_finished_post_can_be_approved(staff_client):
    failed = PostFactory(status=GenerationStatus.FAILED)
    response = staff_client.post(change_url(failed), post_form(failed, review_status=ReviewStatus.APPROVED))
    assert form_errors(response) == {"review_status": ["Only a finished post can be approved."]}
    failed.refresh_from_db()
    assert failed.review_status == ReviewStatus.DRAFT
    # Rejecting it is fine, as on the pages.
    response = staff_client.post(change_url(failed), post_form(failed, review_status=ReviewStatus.REJECTED))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.review_status == ReviewStatus.REJECTED


def test_only_a_finished_post_is_scheduled_and_only_in_the_future(staff_client):
    tomorrow = timezone.localtime() + timedelta(days=1)
    when = {"scheduled_at_0": f"{tomorrow:%Y-%m-%d}", "scheduled_at_1": "10:00:00"}
    failed = PostFactory(status=GenerationStatus.FAILED)
    response = staff_client.post(change_url(failed), post_form(failed, **when))
    assert form_errors(response) == {"scheduled_at": ["Only a finished post can be scheduled."]}
    ready = PostFactory(status=GenerationStatus.SUCCEEDED)
    past = {"scheduled_at_0": "2001-01-01", "scheduled_at_1": "10:00:00"}
    response = staff_client.post(change_url(ready), post_form(ready, **past))
    assert form_errors(response) == {"scheduled_at": ["Pick a time in the future."]}
    assert not Post.objects.filter(scheduled_at__isnull=False).exists()
    assert staff_client.post(change_url(ready), post_form(ready, **when)).status_code == 302
    ready.refresh_from_db()
    assert timezone.localtime(ready.scheduled_at).strftime("%Y-%m-%d %H:%M") == f"{tomorrow:%Y-%m-%d} 10:00"


def test_an_edit_is_saved_by_the_services_and_logged(staff_client):
    post = PostFactory(platform="instagram", caption="Before.", hashtags=[], status=GenerationStatus.SUCCEEDED)
    data = post_form(post, caption="  New words.  ", hashtags="coffee, #summer #Coffee", review_status="approved")
    response = staff_client.post(change_url(post), data)
    assert response.status_code == 302
    post.refresh_from_db()
    # post_update strips the caption and normalises the hashtags, as for the marketer's edits.
    assert (post.caption, post.hashtags, post.review_status) == ("New words.", ["#Coffee", "#Summer"], "approved")
    entry = LogEntry.objects.get(object_id=str(post.pk))
    assert entry.action_flag == CHANGE and "Caption" in entry.get_change_message()


def test_each_changed_part_is_saved_by_the_pages_service(staff_client, monkeypatch):
    calls = []
    for name in ("post_update", "post_review", "post_schedule"):
        service = getattr(services, name)
        monkeypatch.setattr(
            services, name, lambda *, _service=service, _name=name, **kw: calls.append(_name) or _service(**kw)
        )
    post = PostFactory(status=GenerationStatus.SUCCEEDED, caption="Before.", hashtags=[])
    staff_client.post(change_url(post), post_form(post, hashtags="#new", review_status=ReviewStatus.REJECTED))
    assert calls == ["post_update", "post_review"]
    calls.clear()
    post.refresh_from_db()
    staff_client.post(change_url(post), post_form(post, scheduled_at_0="2099-01-01", scheduled_at_1="09:00:00"))
    assert calls == ["post_schedule"]
    post.refresh_from_db()
    assert (post.hashtags, post.review_status, post.scheduled_at.year) == (["#New"], ReviewStatus.REJECTED, 2099)


def test_a_refused_part_leaves_the_other_parts_unwritten(staff_client):
    failed = PostFactory(status=GenerationStatus.FAILED, caption="Before.", platform="x")
    data = post_form(failed, caption="A fine new caption.", review_status=ReviewStatus.APPROVED)
    response = staff_client.post(change_url(failed), data)
    assert form_errors(response) == {"review_status": ["Only a finished post can be approved."]}
    failed.refresh_from_db()
    assert (failed.caption, failed.review_status) == ("Before.", ReviewStatus.DRAFT)
    assert not LogEntry.objects.exists()


def test_an_old_caption_over_the_limit_does_not_stop_a_review(staff_client):
    """Only what changed is checked, as on the pages: approving is not editing the caption."""
    post = PostFactory(platform="x", caption="a" * 400, status=GenerationStatus.SUCCEEDED)
    response = staff_client.post(change_url(post), post_form(post, review_status=ReviewStatus.APPROVED))
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.review_status, len(post.caption)) == (ReviewStatus.APPROVED, 400)


# ---------- posts being generated ----------


@pytest.mark.parametrize("status", [GenerationStatus.PENDING, GenerationStatus.GENERATING])
def test_a_post_being_generated_is_read_only(staff_client, status):
    post = PostFactory(status=status, lease_expires_at=timezone.now(), caption="Before.")
    response = staff_client.get(change_url(post))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>View post</h1>" in page
    assert not any(f'name="{field}"' in page for field in ("caption", "hashtags", "review_status", "scheduled_at_0"))
    assert 'name="_save"' not in page and "deletelink" not in page
    assert messages_of(response) == ["This post is being generated: it can be changed once it is ready."]
    response = staff_client.post(change_url(post), post_form(post, caption="After."))
    post.refresh_from_db()
    assert post.caption == "Before."


def test_a_post_that_starts_generating_while_its_form_is_open_is_left_alone(staff_client):
    post = PostFactory(status=GenerationStatus.SUCCEEDED, caption="Before.")
    data = post_form(post, caption="After.")  # the form as it was opened
    Post.objects.filter(pk=post.pk).update(status=GenerationStatus.PENDING)  # a regeneration starts meanwhile
    response = staff_client.post(change_url(post), data, follow=True)
    assert response.redirect_chain == [(change_url(post), 302)]
    assert messages_of(response) == [
        "This post is being generated: it can be changed once it is ready. Nothing was saved.",
        "This post is being generated: it can be changed once it is ready.",
    ]
    post.refresh_from_db()
    assert post.caption == "Before."


@pytest.mark.postgres
def test_the_post_is_locked_from_the_check_to_the_write(staff_client):
    """A regeneration cannot start between the form's check and the services' write."""
    post = PostFactory(status=GenerationStatus.SUCCEEDED, caption="Before.")
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.post(change_url(post), post_form(post, caption="After."))
    assert response.status_code == 302
    statements = [query["sql"] for query in captured.captured_queries if '"campaigns_post"' in query["sql"]]
    locked = next(i for i, sql in enumerate(statements) if sql.startswith("SELECT") and sql.endswith("FOR UPDATE"))
    written = next(i for i, sql in enumerate(statements) if sql.startswith("UPDATE"))
    assert locked < written


# ---------- batches ----------


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        ("0.001", "The cost cap must be an amount in dollars from $0.01 to $9,999,999,999.99."),
        ("0", "The cost cap must be an amount in dollars from $0.01 to $9,999,999,999.99."),
        ("2.015", "The cost cap is in dollars and cents: use at most two decimals."),
    ],
)
def test_a_batch_cost_cap_is_checked_like_batch_starts(staff_client, cap, message):
    batch = BatchFactory(status=BatchStatus.RUNNING, cost_cap_usd=Decimal("5.00"))
    response = staff_client.post(change_url(batch), {"cost_cap_usd": cap})
    assert form_errors(response) == {"cost_cap_usd": [message]}
    batch.refresh_from_db()
    assert batch.cost_cap_usd == Decimal("5.00")


def test_a_new_cost_cap_keeps_the_counters_workers_moved_meanwhile(staff_client, monkeypatch):
    batch = BatchFactory(status=BatchStatus.RUNNING, requested_count=10, succeeded_count=2)
    read = BatchJobAdmin.get_object

    def read_then_a_worker_finishes_a_post(self, request, object_id, from_field=None):
        stale = read(self, request, object_id, from_field)
        BatchJob.objects.filter(pk=batch.pk).update(succeeded_count=F("succeeded_count") + 1)
        return stale

    monkeypatch.setattr(BatchJobAdmin, "get_object", read_then_a_worker_finishes_a_post)
    assert staff_client.post(change_url(batch), {"cost_cap_usd": "3.50"}).status_code == 302
    batch.refresh_from_db()
    assert (batch.cost_cap_usd, batch.succeeded_count) == (Decimal("3.50"), 3)
    # And removed again with an empty field.
    assert staff_client.post(change_url(batch), {"cost_cap_usd": ""}).status_code == 302
    batch.refresh_from_db()
    assert batch.cost_cap_usd is None


# ---------- campaigns ----------


def test_a_campaigns_workspace_and_owner_are_read_only_once_it_exists(staff_client):
    campaign = CampaignFactory()
    owner, workspace = campaign.owner, campaign.workspace
    form = staff_client.get(change_url(campaign)).context["adminform"].form
    assert "owner" not in form.fields
    assert "workspace" not in form.fields
    elsewhere = WorkspaceFactory()
    data = campaign_form(campaign, owner=UserFactory().pk, workspace=elsewhere.pk, tone="calm")
    response = staff_client.post(change_url(campaign), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.owner, campaign.workspace, campaign.tone) == (owner, workspace, "calm")


def test_a_campaign_is_changed_with_the_pages_rules(staff_client):
    campaign = CampaignFactory(name="Winter")
    CampaignFactory(owner=campaign.owner, name="Spring Shoes")
    CampaignFactory(name="Summer")  # someone else's: the name is free for this owner
    response = staff_client.post(change_url(campaign), campaign_form(campaign, name="  spring   SHOES "))
    assert form_errors(response) == {"name": ["This workspace already has a campaign with this name."]}
    response = staff_client.post(change_url(campaign), campaign_form(campaign, platforms=["x", "myspace"]))
    assert form_errors(response) == {
        "platforms": ["Select a valid choice. myspace is not one of the available choices."]
    }
    campaign.refresh_from_db()
    assert (campaign.name, campaign.platforms) == ("Winter", ["instagram", "x", "linkedin"])
    data = campaign_form(campaign, name=" Summer  ", platforms=["x", "instagram"], hashtags="brew better, #cold")
    assert staff_client.post(change_url(campaign), data).status_code == 302
    campaign.refresh_from_db()
    # As CampaignForm cleans it on the marketer's page: spaces, the platform table's order, hashtags.
    assert (campaign.name, campaign.platforms, campaign.hashtags) == (
        "Summer",
        ["instagram", "x"],
        ["#Brew", "#Better", "#Cold"],
    )


def test_staff_create_a_campaign_for_a_marketer(staff_client):
    marketer = UserFactory()
    CampaignFactory(owner=marketer, name="Taken")
    add = reverse("admin:campaigns_campaign_add")
    blank = campaign_form(Campaign(owner=marketer, name="Taken", brief="Sell coats.", platforms=["x"]))
    workspace = personal_workspace(marketer)
    response = staff_client.post(add, {**blank, "owner": marketer.pk})
    assert form_errors(response) == {"workspace": ["This field is required."]}
    response = staff_client.post(add, {**blank, "workspace": workspace.pk, "owner": marketer.pk})
    assert form_errors(response) == {"name": ["This workspace already has a campaign with this name."]}
    data = {**blank, "workspace": workspace.pk, "owner": marketer.pk, "name": "Coats", "hashtags": "warm"}
    response = staff_client.post(add, data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Coats")
    assert (campaign.workspace, campaign.owner, campaign.platforms, campaign.hashtags) == (
        workspace,
        marketer,
        ["x"],
        ["#Warm"],
    )
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id) == (ADDITION, str(campaign.pk))
    assert response["Location"] == reverse("admin:campaigns_campaign_changelist")
