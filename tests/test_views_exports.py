"""Exports from the campaign page: a CSV and a ZIP of the posts, filtered as on screen, with sensible names."""

import csv
import io
import zipfile

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from campaigns.models import GenerationStatus, ReviewStatus
from exports.jobs import run_export
from exports.models import Export, ExportStatus
from tests.factories import CampaignFactory, PostFactory


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def test_csv_of_every_post(signed_in_client, user):
    campaign = CampaignFactory(owner=user, name="Summer Cold Brew!")
    first = PostFactory(campaign=campaign, platform="x", caption="One", hashtags=["#A", "#B"])
    second = PostFactory(campaign=campaign, platform="instagram", caption="Two")
    response = signed_in_client.get(reverse("exports:export_csv", args=[campaign.pk]))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="summer-cold-brew-posts-{today}.csv"'
    rows = csv_rows(response)
    assert [row["post_id"] for row in rows] == [str(second.pk), str(first.pk)]
    assert rows[1]["hashtags"] == "#A #B" and rows[1]["text"] == "One\n\n#A #B"
    assert rows[1]["campaign"] == "Summer Cold Brew!"


def test_csv_is_filtered_as_on_screen_and_named_after_the_filters(signed_in_client, campaign):
    approved = PostFactory(campaign=campaign, platform="x", review_status=ReviewStatus.APPROVED)
    PostFactory(campaign=campaign, platform="x")
    PostFactory(campaign=campaign, platform="instagram", review_status=ReviewStatus.APPROVED)
    PostFactory(campaign=campaign, platform="x", review_status=ReviewStatus.APPROVED, status=GenerationStatus.FAILED)
    url = reverse("exports:export_csv", args=[campaign.pk])
    response = signed_in_client.get(url, {"review": "approved", "platform": "x", "status": "succeeded"})
    assert [row["post_id"] for row in csv_rows(response)] == [str(approved.pk)]
    assert "-posts-approved-succeeded-x-" in response["Content-Disposition"]


def test_csv_neutralises_formulas(signed_in_client, campaign):
    PostFactory(campaign=campaign, caption='=HYPERLINK("http://evil.example","click")', hashtags=[])
    rows = csv_rows(signed_in_client.get(reverse("exports:export_csv", args=[campaign.pk])))
    assert rows[0]["caption"].startswith("'=HYPERLINK")


def test_csv_of_a_campaign_whose_name_has_no_ascii(signed_in_client, user):
    campaign = CampaignFactory(owner=user, name="夏のコールドブリュー")
    response = signed_in_client.get(reverse("exports:export_csv", args=[campaign.pk]))
    assert f'filename="campaign-{campaign.pk}-posts-' in response["Content-Disposition"]


def test_zip_with_the_csv_and_the_images(signed_in_client, campaign, settings, tmp_path):
    """The ZIP is made by a job (tests/test_export_jobs.py runs it on a worker); here it runs in-process."""
    settings.MEDIA_ROOT = tmp_path
    with_image = PostFactory(campaign=campaign, platform="linkedin")
    with_image.image.save("picture.jpg", ContentFile(b"\xff\xd8jpeg"), save=True)
    PostFactory(campaign=campaign, platform="x")
    url = reverse("exports:export_zip", args=[campaign.pk]) + "?platform=linkedin"
    response = signed_in_client.post(url)
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == export.get_absolute_url()
    assert (export.status, export.filters) == (ExportStatus.QUEUED, {"platform": "linkedin"})
    run_export(export.pk)
    response = signed_in_client.get(reverse("exports:export_download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="campaign-')
    assert "-posts-linkedin-" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    image_name = f"images/linkedin-{with_image.pk}.jpg"
    assert sorted(archive.namelist()) == sorted(["posts.csv", image_name])
    rows = list(csv.DictReader(io.StringIO(archive.read("posts.csv").decode("utf-8").lstrip("\ufeff"))))
    assert [(row["post_id"], row["image_file"]) for row in rows] == [(str(with_image.pk), image_name)]
    assert archive.read(image_name) == b"\xff\xd8jpeg"
