"""Admin actions on many rows at once (start batches, export, cancel, retry, review, regenerate), and post filters."""

import csv
import io
import zipfile

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post, ReviewStatus
from exports.jobs import run_export
from exports.models import Export, ExportStatus
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, model: str, action: str, objects, **data):
    url = reverse(f"admin:campaigns_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects], **data}, follow=True)


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
    # The rules and words of batch_start, as generate_posts says them too.
    assert form.errors == {
        "count": ["The number of posts must be from 1 to 1000; got 1001."],
        "cost_cap_usd": ["The cost cap must be an amount in dollars from $0.01 to $9,999,999,999.99."],
    }
    assert "The number of posts must be from 1 to 1000; got 1001." in response.content.decode()
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


def test_the_admins_csv_holds_only_approved_posts_where_approval_is_required(staff_client):
    strict = CampaignFactory()
    strict.workspace.approval_required = True
    strict.workspace.save()
    approved = PostFactory(campaign=strict, review_status=ReviewStatus.APPROVED)
    PostFactory(campaign=strict)  # a draft there stays out
    relaxed_draft = PostFactory(campaign=CampaignFactory())
    response = run_action(staff_client, "campaign", "export_posts_csv", [strict, relaxed_draft.campaign])
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert sorted(int(row["post_id"]) for row in rows) == sorted([approved.pk, relaxed_draft.pk])


def test_export_posts_as_zip_starts_one_job_per_campaign_with_its_link_in_the_admin(staff_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaigns = [CampaignFactory(name="Cold Brew"), CampaignFactory(name="Iced Tea")]
    PostFactory.create_batch(2, campaign=campaigns[0])
    response = run_action(staff_client, "campaign", "export_posts_zip", campaigns)
    link = f'<a href="{reverse("admin:exports_export_changelist")}">follow them in Exports</a>'
    assert messages_of(response) == [f"Started 2 ZIP exports: {link}, where each gets its download link."]
    exports = list(Export.objects.order_by("campaign_id"))
    assert [export.campaign for export in exports] == campaigns
    assert all(export.status == ExportStatus.QUEUED for export in exports)  # nothing packed in the web process
    run_export(exports[0].pk)
    page = staff_client.get(reverse("admin:exports_export_changelist")).content.decode()
    download = reverse("admin:exports_export_download", args=[exports[0].pk])
    assert download in page
    response = staff_client.get(download)
    assert response["Content-Disposition"].startswith('attachment; filename="cold-brew-posts-')
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert archive.namelist() == ["posts.csv"]
        assert len(list(csv.DictReader(io.StringIO(archive.read("posts.csv").decode("utf-8-sig"))))) == 2
    # Staff without the permission to view exports get no file.
    clerk = UserFactory(is_staff=True)
    clerk_client = Client()
    clerk_client.force_login(clerk)
    assert clerk_client.get(download).status_code == 403


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
    assert (ready.status, ready.pending_work, ready.review_status) == ("pending", "caption", "draft")
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


# Delete -----------------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def with_images(post: Post, media) -> list:
    post.image.save(f"{post.pk}.jpg", ContentFile(b"jpeg"), save=False)
    post.thumbnail.save(f"{post.pk}-thumb.jpg", ContentFile(b"jpeg"), save=False)
    post.save()
    files = [media / post.image.name, media / post.thumbnail.name]
    assert all(path.exists() for path in files)
    return files


def deleted_log() -> list[str]:
    return sorted(LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True))


def test_deleting_posts_asks_first_then_goes_through_post_delete(
    staff_client, media, django_capture_on_commit_callbacks
):
    ready = PostFactory(status=GenerationStatus.SUCCEEDED)
    files = with_images(ready, media)
    busy = PostFactory(status=GenerationStatus.PENDING)
    response = run_action(staff_client, "post", "delete_selected", [ready, busy])
    assert response.templates[0].name == "admin/delete_selected_confirmation.html"
    assert Post.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "post", "delete_selected", [ready, busy], post="yes")
    assert list(Post.objects.values_list("pk", flat=True)) == [busy.pk]
    assert not any(path.exists() for path in files)
    assert messages_of(response) == [
        "Deleted 1 post.",
        f"Could not delete 1 post (#{busy.pk}): This post is being generated; delete it when it is ready.",
    ]
    assert deleted_log() == [str(ready.pk)]


def test_deleting_campaigns_spares_those_with_a_running_batch(staff_client, media, django_capture_on_commit_callbacks):
    running = BatchFactory(status=BatchStatus.RUNNING)
    ended = BatchFactory(status=BatchStatus.SUCCEEDED)
    files = with_images(PostFactory(campaign=ended.campaign, batch=ended), media)
    campaigns = [running.campaign, ended.campaign]
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "campaign", "delete_selected", campaigns, post="yes")
    assert list(Campaign.objects.values_list("pk", flat=True)) == [running.campaign.pk]
    assert not any(path.exists() for path in files)
    assert messages_of(response) == [
        "Deleted 1 campaign.",
        f"Could not delete 1 campaign (#{running.campaign.pk}): "
        "A batch of this campaign is still running; cancel it before deleting the campaign.",
    ]
    assert deleted_log() == [str(ended.campaign.pk)]


def test_deleting_batches_spares_running_ones_and_removes_the_files(
    staff_client, media, django_capture_on_commit_callbacks
):
    running = BatchFactory(status=BatchStatus.QUEUED)
    ended = BatchFactory(status=BatchStatus.PARTIALLY_FAILED)
    files = with_images(PostFactory(campaign=ended.campaign, batch=ended), media)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "batchjob", "delete_selected", [running, ended], post="yes")
    assert list(BatchJob.objects.values_list("pk", flat=True)) == [running.pk]
    assert not Post.objects.filter(batch_id=ended.pk).exists()
    assert not any(path.exists() for path in files)
    assert messages_of(response) == [
        "Deleted 1 batch.",
        f"Could not delete 1 batch (#{running.pk}): "
        f"Batch #{running.pk} is still running; cancel it before deleting it.",
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: BatchFactory(status=BatchStatus.RUNNING).campaign,
            "A batch of this campaign is still running; cancel it before deleting the campaign.",
        ),
        (lambda: BatchFactory(status=BatchStatus.RUNNING), "is still running; cancel it before deleting it."),
        (
            lambda: PostFactory(status=GenerationStatus.GENERATING, lease_expires_at=timezone.now()),
            "This post is being generated; delete it when it is ready.",
        ),
    ],
    ids=["campaign", "batch", "post"],
)
def test_the_delete_page_shows_the_services_refusal_and_deletes_nothing(staff_client, make, message):
    obj = make()
    opts = obj._meta
    delete = reverse(f"admin:campaigns_{opts.model_name}_delete", args=[obj.pk])
    assert staff_client.get(delete).status_code == 200  # "Are you sure?"
    response = staff_client.post(delete, {"post": "yes"}, follow=True)
    assert response.redirect_chain == [(reverse(f"admin:campaigns_{opts.model_name}_change", args=[obj.pk]), 302)]
    assert message in messages_of(response)[0]
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert not LogEntry.objects.exists()


def test_the_delete_page_deletes_through_the_service(staff_client, media, django_capture_on_commit_callbacks):
    post = PostFactory(status=GenerationStatus.FAILED)
    files = with_images(post, media)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:campaigns_post_delete", args=[post.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Post.objects.exists()
    assert not any(path.exists() for path in files)
    assert deleted_log() == [str(post.pk)]
