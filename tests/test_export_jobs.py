"""ZIP exports as jobs: a real worker writes the archive to storage with progress; the link is for
members only and expires; expired files are swept."""

import io
import re
import zipfile
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from exports import services as export_services
from exports.jobs import run_export
from exports.models import Export, ExportStatus
from tests.factories import CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from tests.support import wait_for
from webhooks import services as webhook_services
from webhooks.models import Event, WebhookDelivery
from workspaces.roles import Role
from workspaces.services.workspaces import personal_workspace

HTMX = {"HX-Request": "true"}


def posts_with_images(campaign, count: int) -> list:
    posts = []
    for n in range(count):
        post = PostFactory(campaign=campaign, platform="x" if n % 2 else "instagram")
        post.image.save(f"{post.pk}.jpg", ContentFile(b"\xff\xd8" + bytes([n % 256]) * 2000), save=True)
        posts.append(post)
    return posts


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.workers
@pytest.mark.slow
def test_a_zip_export_runs_on_a_worker_with_progress_and_ends_in_a_members_only_link(workers, user):
    campaign = CampaignFactory(owner=user, name="Harvest")
    posts = posts_with_images(campaign, 40)
    owner = signed_in(user)
    response = owner.post(reverse("exports:export_zip", args=[campaign.pk]) + "?platform=x")
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{export.pk}/"
    # Nothing was packed in the web process: the export waits for a worker.
    page = owner.get(export.get_absolute_url()).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page

    workers.start("exporter")
    seen_progress = set()

    def ended():
        export.refresh_from_db()
        seen_progress.add(export.done_count)
        return not export.is_active

    wait_for(ended, timeout=60, message="the export to end")
    assert export.status == ExportStatus.SUCCEEDED, export.error_message
    assert (export.done_count, export.total_count) == (20, 20)
    assert re.fullmatch(rf"exports/{campaign.pk}/[0-9a-f]{{32}}\.zip", export.file.name)
    assert default_storage.exists(export.file.name)
    assert export.expires_at > timezone.now() + timedelta(hours=23)

    # The final panel has the link and no trigger left, so the polling stops.
    panel = owner.get(export.get_absolute_url(), headers=HTMX).content.decode()
    assert reverse("exports:export_download", args=[export.pk]) in panel
    assert "hx-trigger" not in panel

    response = owner.get(reverse("exports:export_download", args=[export.pk]))
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="harvest-posts-x-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    x_posts = [post for post in posts if post.platform == "x"]
    assert sorted(archive.namelist()) == sorted(["posts.csv"] + [f"images/x-{post.pk}.jpg" for post in x_posts])

    # Someone who may not see the campaign gets 404 for the page, the panel and the file alike.
    stranger = signed_in(UserFactory())
    for url in (export.get_absolute_url(), reverse("exports:export_download", args=[export.pk])):
        assert stranger.get(url).status_code == 404
        assert Client().get(url).status_code == 302  # signed out: to sign-in


@pytest.mark.django_db
def test_a_teammate_downloads_the_export_until_removed_from_the_workspace(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    team = WorkspaceFactory()
    author = MembershipFactory(workspace=team, role=Role.EDITOR).user
    viewer = MembershipFactory(workspace=team, role=Role.VIEWER)
    campaign = CampaignFactory(workspace=team, owner=author)
    posts_with_images(campaign, 2)
    signed_in(author).post(reverse("exports:export_zip", args=[campaign.pk]))
    export = Export.objects.get()
    run_export(export.pk)
    download = reverse("exports:export_download", args=[export.pk])
    teammate = signed_in(viewer.user)
    assert teammate.get(export.get_absolute_url()).status_code == 200
    assert teammate.get(download).status_code == 200
    viewer.delete()
    assert teammate.get(export.get_absolute_url()).status_code == 404
    assert teammate.get(download).status_code == 404


@pytest.mark.django_db
def test_the_link_expires_and_the_next_export_sweeps_expired_files(user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = CampaignFactory(owner=user)
    posts_with_images(campaign, 3)
    owner = signed_in(user)
    owner.post(reverse("exports:export_zip", args=[campaign.pk]))
    old = Export.objects.get()
    run_export(old.pk)
    old.refresh_from_db()
    download = reverse("exports:export_download", args=[old.pk])
    assert owner.get(download).status_code == 200

    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert owner.get(download).status_code == 410
    assert "This link has expired" in owner.get(old.get_absolute_url()).content.decode()

    owner.post(reverse("exports:export_zip", args=[campaign.pk]))
    new = Export.objects.exclude(pk=old.pk).get()
    run_export(new.pk)
    assert not Export.objects.filter(pk=old.pk).exists()
    assert not default_storage.exists(old.file.name)
    new.refresh_from_db()
    assert new.status == ExportStatus.SUCCEEDED and default_storage.exists(new.file.name)


@pytest.mark.django_db
def test_a_failed_export_says_so_and_offers_no_link(user, monkeypatch):
    campaign = CampaignFactory(owner=user)
    owner = signed_in(user)
    owner.post(reverse("exports:export_zip", args=[campaign.pk]))
    export = Export.objects.get()

    def broken_storage(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", broken_storage)
    run_export(export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "OSError" in export.error_message
    page = owner.get(export.get_absolute_url()).content.decode()
    assert "The export failed" in page and "Download the ZIP" not in page
    assert owner.get(reverse("exports:export_download", args=[export.pk])).status_code == 302


@pytest.mark.django_db
def test_an_export_whose_job_never_ended_stops_polling_and_says_so(user, settings):
    settings.EXPORT_JOB_TIMEOUT = 60
    campaign = CampaignFactory(owner=user)
    owner = signed_in(user)
    owner.post(reverse("exports:export_zip", args=[campaign.pk]))
    export = Export.objects.get()
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    assert 'hx-trigger="every 1s"' in owner.get(export.get_absolute_url(), headers=HTMX).content.decode()
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    panel = owner.get(export.get_absolute_url(), headers=HTMX).content.decode()
    assert "hx-trigger" not in panel and "The export did not finish" in panel


@pytest.mark.django_db
def test_a_ready_zip_emits_export_ready_once_with_a_link_that_downloads_it(user, settings, tmp_path):
    """export.ready is the workspace's: a ZIP started on the page (as in the admin or the API) emits it
    when its job marks it ready, in that transaction, and a second run of the job emits nothing."""
    settings.MEDIA_ROOT = tmp_path
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.SITE_URL = "https://posts.example.com"
    webhook_services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/hooks", events=[Event.EXPORT_READY]
    )
    campaign = CampaignFactory(owner=user)
    posts_with_images(campaign, 2)
    signed_in(user).post(reverse("exports:export_zip", args=[campaign.pk]))
    export = Export.objects.get()
    assert not WebhookDelivery.objects.exists()  # queued is not ready

    run_export(export.pk)
    run_export(export.pk)  # a job run twice (RQ retried it) finds the export taken
    delivery = WebhookDelivery.objects.get()
    data = delivery.payload["data"]
    assert delivery.event == "export.ready" and delivery.payload["type"] == "export.ready"
    assert (data["export_id"], data["campaign_id"], data["format"]) == (str(export.pk), campaign.pk, "zip")
    assert data["url"].startswith(f"https://posts.example.com/api/v1/exports/{export.pk}/download?link=")
    response = Client().get(data["url"].removeprefix(settings.SITE_URL))  # no session, no token
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()) == 3


@pytest.mark.django_db
def test_an_export_whose_campaign_went_while_it_ran_emits_nothing_and_keeps_no_file(user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    webhook_services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/hooks", events=[Event.EXPORT_READY]
    )
    campaign = CampaignFactory(owner=user)
    posts_with_images(campaign, 1)
    export = export_services.export_zip_start(campaign=campaign, actor=user, download_name="gone.zip")
    real_save = default_storage.save

    def save_then_lose_the_campaign(name, content, **kwargs):
        stored = real_save(name, content, **kwargs)
        Campaign.objects.filter(pk=campaign.pk).delete()
        return stored

    with mock.patch.object(default_storage, "save", save_then_lose_the_campaign):
        run_export(export.pk)
    assert not WebhookDelivery.objects.exists()
    assert not any((tmp_path / "exports").rglob("*.zip"))
