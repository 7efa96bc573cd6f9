"""Canceled posts are not posts: the grid, the counts and the exports leave them out unless a filter asks,
and a canceled or failed batch shows an honest bar and label."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from campaigns import selectors
from campaigns.models import BatchStatus, GenerationStatus
from campaigns.services import batch_cancel, batch_start
from tests.factories import BatchFactory, PostFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def canceled_batch(campaign):
    """A batch of 10 that was canceled after 3 posts were written."""
    batch = batch_start(campaign=campaign, count=10, enqueue=False, actor=None)
    batch.posts.filter(sequence__lt=3).update(status=GenerationStatus.SUCCEEDED, caption="Written.")
    batch.__class__.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, succeeded_count=3)
    assert batch_cancel(batch=batch, actor=None) == 7
    batch.refresh_from_db()
    return batch


def card_ids(response) -> list[str]:
    return re.findall(r'data-post-id="(\d+)"', response.content.decode())


def test_the_grid_hides_canceled_posts_and_a_filter_shows_them(signed_in_client, campaign, canceled_batch):
    page = signed_in_client.get(campaign.get_absolute_url())
    assert len(card_ids(page)) == 3
    assert 'value="canceled"' in page.content.decode()  # the status filter offers them
    shown = signed_in_client.get(campaign.get_absolute_url(), {"status": "canceled"})
    assert len(card_ids(shown)) == 7
    assert all(post.status == "canceled" for post in selectors.campaign_posts(campaign, status="canceled"))
    # The batch page's grid too.
    assert len(card_ids(signed_in_client.get(canceled_batch.get_absolute_url()))) == 3


def test_counts_leave_canceled_posts_out(user, campaign, canceled_batch):
    [row] = selectors.campaign_list(user=user)
    assert row.posts_total == 3


def test_exports_leave_canceled_posts_out_unless_asked(signed_in_client, campaign, canceled_batch, tmp_path):
    response = signed_in_client.get(reverse("exports:export_csv", args=[campaign.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 3 and {row["status"] for row in rows} == {"succeeded"}

    out = tmp_path / "posts.csv"
    stderr = io.StringIO()
    call_command("export_posts", str(campaign.pk), "--out", str(out), stderr=stderr)
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))) == 3
    assert "Exported 3 posts" in stderr.getvalue()
    call_command("export_posts", str(campaign.pk), "--out", str(out), "--status", "canceled", stderr=stderr)
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))) == 7


def test_export_command_says_post_for_one(campaign, tmp_path):
    PostFactory(campaign=campaign)
    stderr = io.StringIO()
    call_command("export_posts", str(campaign.pk), "--out", str(tmp_path / "one.csv"), stderr=stderr)
    assert "Exported 1 post of" in stderr.getvalue()


def test_a_canceled_batch_shows_what_was_made_not_a_full_bar(signed_in_client, canceled_batch):
    html = signed_in_client.get(canceled_batch.get_absolute_url()).content.decode()
    assert 'data-percent="30"' in html
    assert 'value="3"' in html and "100%" not in html
    assert "Canceled after 3 of 10 posts." in html


def test_a_failed_batch_says_so(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, requested_count=4, status=BatchStatus.FAILED, failed_count=4)
    html = signed_in_client.get(batch.get_absolute_url()).content.decode()
    assert "is-failed" in html and "No post could be made." in html


def test_cancel_notice_uses_plurals(signed_in_client, campaign):
    batch = batch_start(campaign=campaign, count=1, enqueue=False, actor=None)
    response = signed_in_client.post(reverse("campaigns:batch_cancel", args=[batch.pk]), headers=HTMX)
    assert "Batch canceled: 1 post will not be generated." in response.content.decode()
