"""The activity log names who changed what: campaign edits (with the fields that changed), from the
pages and the admin, and the staff member behind each change made in the admin. The pages say
"Staff" only when no user is known."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.models import PLATFORM_VALUES, Activity, ActivityVerb, BatchStatus, GenerationStatus
from tests.factories import BatchFactory, PostFactory
from tests.test_admin_actions import run_action
from tests.test_admin_changes import campaign_form, change_url, post_form


@pytest.fixture
def campaign(campaign):
    """The campaign as its form saves it: platforms in the platform table's order."""
    campaign.platforms = [platform for platform in PLATFORM_VALUES if platform in campaign.platforms]
    campaign.save()
    return campaign


def test_a_campaign_edit_is_logged_with_its_author_and_the_fields_that_changed(signed_in_client, user, campaign):
    url = reverse("campaigns:update", args=[campaign.pk])
    data = campaign_form(campaign, tone="calm, expert", brief="A new brief for the winter launch.")
    assert signed_in_client.post(url, data).status_code == 302
    entry = Activity.objects.get()
    assert (entry.verb, entry.actor, entry.campaign, entry.batch, entry.post) == (
        ActivityVerb.EDITED,
        user,
        campaign,
        None,
        None,
    )
    assert entry.detail == "brief, tone"

    # Saved unchanged, or refused: nothing to log.
    campaign.refresh_from_db()
    assert signed_in_client.post(url, campaign_form(campaign)).status_code == 302
    with pytest.raises(ValidationError):
        services.campaign_update(campaign=campaign, actor=user, name="")
    assert Activity.objects.count() == 1


def test_the_log_names_the_staff_member_behind_each_admin_change(staff_client, staff_user, user, campaign):
    response = staff_client.post(change_url(campaign), campaign_form(campaign, call_to_action="Book a table."))
    assert response.status_code == 302
    edit = Activity.objects.get(campaign=campaign, post=None, batch=None)
    assert (edit.verb, edit.actor, edit.detail) == (ActivityVerb.EDITED, staff_user, "call to action")

    batch = BatchFactory(campaign=campaign, requested_count=2, status=BatchStatus.PARTIALLY_FAILED, failed_count=1)
    post = PostFactory(campaign=campaign, batch=batch, platform="x", caption="Before.", hashtags=[])
    PostFactory(campaign=campaign, batch=batch, status=GenerationStatus.FAILED, caption="")
    staff_client.post(change_url(post), post_form(post, caption="After.", review_status="approved"))
    run_action(staff_client, "batchjob", "retry_failed_posts", [batch])
    run_action(staff_client, "post", "regenerate_images", [post])
    run_action(staff_client, "campaign", "start_batch", [campaign], apply="1", count="1")
    started = campaign.batches.exclude(pk=batch.pk).get()
    run_action(staff_client, "batchjob", "cancel_batches", [started])
    logged = Activity.objects.exclude(pk=edit.pk).order_by("pk")
    assert [(a.actor, a.verb) for a in logged] == [
        (staff_user, ActivityVerb.EDITED),
        (staff_user, ActivityVerb.APPROVED),
        (staff_user, ActivityVerb.RETRIED),
        (staff_user, ActivityVerb.REGENERATED),
        (staff_user, ActivityVerb.CREATED),
        (staff_user, ActivityVerb.CANCELED),
    ]

    # The member sees the staff member's name on the post and batch pages, not "Staff".
    member = Client()
    member.force_login(user)
    post_page = member.get(post.get_absolute_url()).content.decode()
    assert f"<strong>{staff_user.username}</strong> edited" in post_page
    assert f"<strong>{staff_user.username}</strong> approved" in post_page
    batch_page = member.get(batch.get_absolute_url()).content.decode()
    assert f"<strong>{staff_user.username}</strong> retried the failed posts of" in batch_page
    assert "<strong>Staff</strong>" not in post_page + batch_page


def test_staff_is_shown_only_when_no_user_is_known(signed_in_client, campaign):
    """An operator's command (generate_posts) acts for no one: its entries say "Staff"."""
    batch = services.batch_start(campaign=campaign, count=1, actor=None, enqueue=False)
    page = signed_in_client.get(batch.get_absolute_url()).content.decode()
    assert "<strong>Staff</strong> created" in page
