"""The staff admin: change lists that stay fast, actions on many rows, a batch page with live progress."""

import csv
import io
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django_rq.settings import get_queues_map

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post, ReviewStatus
from generation import dispatch
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

PROGRESS_TEMPLATE = "campaigns/partials/batch_progress.html"


@pytest.fixture
def thousand_posts(user):
    campaign = CampaignFactory(owner=user)
    batch = BatchFactory(campaign=campaign, requested_count=1000)
    Post.objects.bulk_create(
        Post(
            campaign=campaign,
            batch=batch,
            sequence=i,
            platform="instagram",
            status=GenerationStatus.SUCCEEDED,
            caption=f"post {i}",
            thumbnail=f"posts/{campaign.pk}/{i}-thumb.jpg",
        )
        for i in range(1000)
    )
    return campaign


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, model: str, action: str, objects, **data):
    url = reverse(f"admin:campaigns_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects], **data}, follow=True)


@pytest.mark.parametrize("model", ["campaign", "batchjob", "post"])
def test_change_lists_load_in_a_fixed_number_of_queries(
    staff_client, thousand_posts, model, django_assert_max_num_queries
):
    url = reverse(f"admin:campaigns_{model}_changelist")
    with django_assert_max_num_queries(12):
        response = staff_client.get(url)
    assert response.status_code == 200


def test_post_change_list_shows_thumbnails_from_storage(staff_client, thousand_posts):
    response = staff_client.get(reverse("admin:campaigns_post_changelist"))
    assert f"/media/posts/{thousand_posts.pk}/999-thumb.jpg" in response.content.decode()


def test_marketers_are_refused_the_admin(signed_in_client):
    response = signed_in_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    response = signed_in_client.get(reverse("admin:campaigns_post_changelist"))
    assert response.status_code == 302


def test_rq_dashboard_is_reachable_from_the_admin(staff_client):
    response = staff_client.get(reverse("admin:django_rq_home"))
    assert response.status_code == 200
    assert b"generation" in response.content


# Start a batch ---------------------------------------------------------------------------------------


def test_start_batch_asks_for_count_and_platforms_first(staff_client):
    campaigns = [CampaignFactory(name="Cold Brew"), CampaignFactory(name="Iced Tea")]
    response = run_action(staff_client, "campaign", "start_batch", campaigns)
    assert response.status_code == 200
    assert response.templates[0].name == "admin/campaigns/campaign/start_batch.html"
    page = response.content.decode()
    assert 'name="count"' in page and 'name="platforms"' in page
    assert "Cold Brew" in page and "Iced Tea" in page
    assert 'value="Start 2 batches"' in page
    assert not BatchJob.objects.exists()


def test_start_batch_shows_errors_on_its_page_and_starts_nothing(staff_client):
    campaign = CampaignFactory()
    response = run_action(
        staff_client, "campaign", "start_batch", [campaign], apply="1", count="1001", cost_cap_usd="-1"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "count" in form.errors and "cost_cap_usd" in form.errors
    assert "Ensure this value is less than or equal to 1000." in response.content.decode()
    assert not BatchJob.objects.exists()
    response = run_action(
        staff_client, "campaign", "start_batch", [campaign], apply="1", count="5", platforms="myspace"
    )
    assert "platforms" in response.context["form"].errors
    assert not BatchJob.objects.exists()


def test_start_batch_starts_one_batch_per_campaign_for_the_staff_member(staff_client, staff_user):
    campaigns = [CampaignFactory(platforms=["instagram", "x"]), CampaignFactory(platforms=["linkedin"])]
    response = run_action(
        staff_client,
        "campaign",
        "start_batch",
        campaigns,
        apply="1",
        count="4",
        platforms=["tiktok", "x"],
        cost_cap_usd="2.50",
    )
    assert response.redirect_chain[-1][0].endswith(reverse("admin:campaigns_campaign_changelist"))
    batches = list(BatchJob.objects.order_by("pk"))
    assert [b.campaign_id for b in batches] == [c.pk for c in campaigns]
    for batch in batches:
        assert (batch.requested_by, batch.requested_count, batch.platforms) == (staff_user, 4, ["x", "tiktok"])
        assert str(batch.cost_cap_usd) == "2.50"
        assert batch.posts.count() == 4
    [message] = messages_of(response)
    assert message.startswith("Started 2 batches of 4 posts: ")
    assert reverse("admin:campaigns_batchjob_change", args=[batches[0].pk]) in message


def test_start_batch_without_platforms_uses_each_campaigns_own(staff_client):
    campaign = CampaignFactory(platforms=["linkedin", "facebook"])
    run_action(staff_client, "campaign", "start_batch", [campaign], apply="1", count="2")
    assert BatchJob.objects.get().platforms == ["facebook", "linkedin"]


def test_start_batch_refuses_too_many_campaigns_at_once(staff_client):
    campaigns = CampaignFactory.create_batch(51)
    response = run_action(staff_client, "campaign", "start_batch", campaigns)
    assert "Select at most 50 campaigns" in messages_of(response)[0]
    assert not BatchJob.objects.exists()


# Export -----------------------------------------------------------------------------------------------


def test_export_posts_of_the_selected_campaigns_as_csv(staff_client):
    chosen, other = CampaignFactory(), CampaignFactory()
    PostFactory.create_batch(3, campaign=chosen, caption="=HYPERLINK(1)")
    PostFactory(campaign=other)
    response = run_action(staff_client, "campaign", "export_posts_csv", [chosen])
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="posts-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 3
    assert {row["campaign"] for row in rows} == {chosen.name}
    assert rows[0]["caption"] == "'=HYPERLINK(1)"


def test_export_posts_as_zip(staff_client):
    campaign = CampaignFactory()
    PostFactory.create_batch(2, campaign=campaign)
    response = run_action(staff_client, "campaign", "export_posts_zip", [campaign])
    assert response["Content-Disposition"].endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert archive.namelist() == ["posts.csv"]
        assert len(list(csv.DictReader(io.StringIO(archive.read("posts.csv").decode("utf-8-sig"))))) == 2


# Batches and posts -----------------------------------------------------------------------------------


def test_cancel_batches_reports_the_ones_that_had_ended(staff_client):
    running = BatchFactory(status=BatchStatus.RUNNING, requested_count=3)
    PostFactory.create_batch(3, campaign=running.campaign, batch=running, status=GenerationStatus.PENDING)
    ended = BatchFactory(status=BatchStatus.SUCCEEDED)
    response = run_action(staff_client, "batchjob", "cancel_batches", [running, ended])
    running.refresh_from_db()
    assert (running.status, running.canceled_count) == (BatchStatus.CANCELED, 3)
    assert messages_of(response) == [
        "Canceled 1 batch.",
        f"Could not cancel 1 batch (#{ended.pk}): Batch #{ended.pk} has already ended (succeeded).",
    ]


def test_retry_failed_posts_of_batches(staff_client):
    finished = BatchFactory(status=BatchStatus.PARTIALLY_FAILED, requested_count=2, succeeded_count=1, failed_count=1)
    PostFactory(campaign=finished.campaign, batch=finished, sequence=0, status=GenerationStatus.SUCCEEDED)
    PostFactory(campaign=finished.campaign, batch=finished, sequence=1, status=GenerationStatus.FAILED)
    running = BatchFactory(status=BatchStatus.RUNNING)
    clean = BatchFactory(status=BatchStatus.SUCCEEDED)
    response = run_action(staff_client, "batchjob", "retry_failed_posts", [finished, running, clean])
    finished.refresh_from_db()
    assert (finished.status, finished.failed_count) == (BatchStatus.RUNNING, 0)
    assert messages_of(response) == [
        "Put the failed posts back in the queue for 1 batch.",
        f"Could not retry 1 batch (#{running.pk}): Batch #{running.pk} is still running; "
        "retry its failed posts when it ends.",
        f"Could not retry 1 batch (#{clean.pk}): Batch #{clean.pk} has no failed posts to retry.",
    ]


def test_approve_and_reject_posts(staff_client):
    ready = PostFactory.create_batch(2, status=GenerationStatus.SUCCEEDED)
    failed = PostFactory(status=GenerationStatus.FAILED)
    response = run_action(staff_client, "post", "approve_posts", [*ready, failed])
    assert sorted(Post.objects.filter(review_status=ReviewStatus.APPROVED).values_list("pk", flat=True)) == [
        p.pk for p in ready
    ]
    assert messages_of(response) == [
        "Approved 2 posts.",
        f"Could not approve 1 post (#{failed.pk}): Only a finished post can be approved.",
    ]
    run_action(staff_client, "post", "reject_posts", [ready[0], failed])
    assert Post.objects.filter(review_status=ReviewStatus.REJECTED).count() == 2


def test_regenerate_posts(staff_client):
    ready = PostFactory(status=GenerationStatus.SUCCEEDED, review_status=ReviewStatus.APPROVED)
    busy = PostFactory(status=GenerationStatus.PENDING)
    response = run_action(staff_client, "post", "regenerate_captions", [ready, busy])
    ready.refresh_from_db()
    assert (ready.status, ready.scope, ready.review_status) == ("pending", "caption", "draft")
    assert messages_of(response) == [
        "Queued 1 post.",
        f"Could not regenerate 1 post (#{busy.pk}): This post is already being generated.",
    ]


def test_post_actions_refuse_more_than_500_posts(staff_client):
    campaign = CampaignFactory()
    Post.objects.bulk_create(Post(campaign=campaign, platform="x", status="succeeded") for _ in range(501))
    url = reverse("admin:campaigns_post_changelist")
    response = staff_client.post(
        url, {"action": "approve_posts", "select_across": "1", "index": "0", "_selected_action": ["1"]}, follow=True
    )
    assert "Select at most 500 posts" in messages_of(response)[0]
    assert not Post.objects.filter(review_status=ReviewStatus.APPROVED).exists()


def test_posts_filtered_by_batch_and_campaign(staff_client):
    batch = BatchFactory()
    mine = PostFactory.create_batch(2, campaign=batch.campaign, batch=batch)
    PostFactory(campaign=batch.campaign)
    PostFactory()
    url = reverse("admin:campaigns_post_changelist")
    response = staff_client.get(url, {"batch": batch.pk})
    assert {p.pk for p in response.context["cl"].result_list} == {p.pk for p in mine}
    assert f"Batch #{batch.pk}" in response.content.decode()
    response = staff_client.get(url, {"campaign": batch.campaign.pk})
    assert len(response.context["cl"].result_list) == 3
    assert staff_client.get(url, {"batch": "x"}).context["cl"].result_list.count() == 0


# The batch page --------------------------------------------------------------------------------------


@pytest.fixture
def running_batch():
    batch = BatchFactory(requested_count=5, status=BatchStatus.RUNNING, succeeded_count=1, failed_count=3)
    reasons = ["request timed out (after 5 tries)"] * 2 + ["refused by the provider's content policy: no"]
    for sequence, reason in enumerate(reasons):
        PostFactory(campaign=batch.campaign, batch=batch, sequence=sequence, status="failed", error_message=reason)
    PostFactory(campaign=batch.campaign, batch=batch, sequence=3, status="succeeded")
    PostFactory(campaign=batch.campaign, batch=batch, sequence=4, status="pending")
    return batch


def test_the_batch_page_shows_live_progress_failures_cost_and_links(
    staff_client, running_batch, django_assert_max_num_queries
):
    job_ids = dispatch.enqueue_batch(running_batch.pk, 5)
    url = reverse("admin:campaigns_batchjob_change", args=[running_batch.pk])
    with django_assert_max_num_queries(10):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert PROGRESS_TEMPLATE in [t.name for t in response.templates]
    page = response.content.decode()
    poll_url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    assert f'hx-get="{poll_url}" hx-trigger="every 1s"' in page
    assert "js/htmx.min.js" in page and "css/admin.css" in page
    assert "Batch details" not in page  # show_actions is off: those are the marketer's buttons
    assert '<tr><td>request timed out (after 5 tries)</td><td class="numeric">2</td></tr>' in page
    assert f'href="/admin/campaigns/post/?batch={running_batch.pk}"' in page
    assert f'href="/admin/campaigns/post/?batch={running_batch.pk}&amp;status__exact=failed"' in page
    job_url = reverse("admin:django_rq_job_detail", args=[get_queues_map()["generation"], job_ids[0]])
    assert f'href="{job_url}"' in page
    assert staff_client.get(job_url).status_code == 200


def test_a_finished_batch_page_does_not_poll(staff_client):
    batch = BatchFactory(status=BatchStatus.SUCCEEDED, requested_count=10, succeeded_count=10)
    page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert "hx-trigger" not in page
    assert "No failed posts." in page
    assert "No jobs were enqueued" in page


def test_only_the_cost_cap_of_a_batch_can_be_changed(staff_client, running_batch):
    url = reverse("admin:campaigns_batchjob_change", args=[running_batch.pk])
    response = staff_client.post(url, {"cost_cap_usd": "3.00", "requested_count": "999"})
    assert response.status_code == 302
    running_batch.refresh_from_db()
    assert (str(running_batch.cost_cap_usd), running_batch.requested_count) == ("3.00", 5)


def test_the_progress_endpoint_renders_the_shared_partial(staff_client, running_batch, django_assert_max_num_queries):
    url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    with django_assert_max_num_queries(3):  # session, user, batch
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.templates[0].name == PROGRESS_TEMPLATE
    assert f'hx-get="{url}"' in response.content.decode()
    BatchJob.objects.filter(pk=running_batch.pk).update(status=BatchStatus.PARTIALLY_FAILED, succeeded_count=2)
    final = staff_client.get(url).content.decode()
    assert "hx-trigger" not in final and "Partially failed" in final


def test_the_progress_endpoint_is_for_staff_only(running_batch, staff_client):
    url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    marketer = Client()
    marketer.force_login(UserFactory())
    assert marketer.get(url).status_code == 302  # to the admin's sign-in
    assert staff_client.post(url).status_code == 405
    missing = reverse("admin:campaigns_batchjob_progress", args=[987654])
    assert staff_client.get(missing).status_code == 404
