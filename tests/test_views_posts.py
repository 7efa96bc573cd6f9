"""Post card actions: each answers with the one card (htmx) or redirects to the post's page (no JavaScript)."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from campaigns.models import GenerationStatus, PendingWork, Post, ReviewStatus
from tests.factories import PostFactory

HTMX = {"HX-Request": "true"}


def url(name: str, post: Post) -> str:
    return reverse(f"campaigns:{name}", args=[post.pk])


def card_of(response) -> str:
    """The response is exactly one card (an htmx swap of that card)."""
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<article class="post-card') and html.endswith("</article>"), html[:200]
    assert html.count("<article") == 1
    return html


@pytest.fixture
def post(campaign):
    return PostFactory(campaign=campaign, platform="x", caption="Cold brew, hot days.", hashtags=["#BrewBetter"])


# ---------- page and card ----------


def test_post_page(signed_in_client, post):
    html = signed_in_client.get(url("post_detail", post)).content.decode()
    assert "Cold brew, hot days." in html and "#BrewBetter" in html
    assert "X allows 280 characters, hashtags included." in html
    assert 'aria-describedby="id_caption_helptext"' in html


def test_card_and_edit_mode(signed_in_client, post):
    card = card_of(signed_in_client.get(url("post_card", post), headers=HTMX))
    assert f'id="post-{post.pk}"' in card and "Approve" in card and 'hx-target="this"' in card
    assert "hx-trigger" not in card  # a finished post does not poll
    edit = card_of(signed_in_client.get(url("post_edit", post), headers=HTMX))
    assert "is-editing" in edit and "<textarea" in edit
    assert f'id="post-{post.pk}-caption"' in edit  # unique ids: several cards may be edited at once
    assert f'aria-describedby="post-{post.pk}-caption_helptext"' in edit
    assert 'data-limit="280"' in edit
    # Without JavaScript the same links lead to the post's page.
    assert signed_in_client.get(url("post_card", post))["Location"] == post.get_absolute_url()
    assert signed_in_client.get(url("post_edit", post))["Location"] == post.get_absolute_url()


# ---------- edit ----------


def test_edit_caption_inline(signed_in_client, post):
    data = {"caption": "  New words.  ", "hashtags": "coffee, #summer #Coffee"}
    card = card_of(signed_in_client.post(url("post_edit", post), data, headers=HTMX))
    post.refresh_from_db()
    assert (post.caption, post.hashtags) == ("New words.", ["#Coffee", "#Summer"])
    assert "is-editing" not in card and "New words." in card


def test_edit_without_javascript(signed_in_client, post):
    response = signed_in_client.post(url("post_edit", post), {"caption": "Plain form.", "hashtags": ""})
    assert response.status_code == 302 and response["Location"] == post.get_absolute_url()
    post.refresh_from_db()
    assert (post.caption, post.hashtags) == ("Plain form.", [])


@pytest.mark.parametrize(
    ("platform", "caption", "hashtags", "message"),
    [
        ("x", "a" * 281, "", "281 characters with hashtags; X allows 280"),
        ("x", "a" * 270, "#OneTag #TwoTag", "287 characters with hashtags; X allows 280"),
        ("x", "short", "#a #b #c #d", "X allows at most 3 hashtags"),
        ("instagram", "a" * 10_000, "", "10,000 characters with hashtags; Instagram allows 2,200"),
        ("linkedin", "a" * 3001, "", "LinkedIn allows 3,000"),
        ("x", "fine", "#!!!", "not a usable hashtag"),
    ],
)
def test_edit_refuses_what_the_platform_does_not_allow(
    signed_in_client, campaign, platform, caption, hashtags, message
):
    post = PostFactory(campaign=campaign, platform=platform, caption="Before.", hashtags=[])
    card = card_of(
        signed_in_client.post(url("post_edit", post), {"caption": caption, "hashtags": hashtags}, headers=HTMX)
    )
    assert "is-editing" in card and message in card
    assert 'aria-invalid="true"' in card
    post.refresh_from_db()
    assert post.caption == "Before."
    # The same refusal without JavaScript: the post's page with the error next to the field.
    page = signed_in_client.post(url("post_edit", post), {"caption": caption, "hashtags": hashtags})
    assert page.status_code == 200 and message in page.content.decode()


def test_edit_refused_while_the_post_is_generated(signed_in_client, campaign):
    post = PostFactory(campaign=campaign, status=GenerationStatus.GENERATING, lease_expires_at=timezone.now())
    card = card_of(signed_in_client.post(url("post_edit", post), {"caption": "x", "hashtags": ""}, headers=HTMX))
    assert "being generated" in card


# ---------- review ----------


@pytest.mark.parametrize("decision", ["approved", "rejected", "draft"])
def test_review(signed_in_client, post, decision):
    card = card_of(signed_in_client.post(url("post_review", post), {"decision": decision}, headers=HTMX))
    post.refresh_from_db()
    assert post.review_status == decision
    assert f'data-review="{decision}"' in card


def test_approved_card_offers_to_undo(signed_in_client, post):
    card = card_of(signed_in_client.post(url("post_review", post), {"decision": "approved"}, headers=HTMX))
    assert 'aria-pressed="true"' in card and "✓ Approved" in card
    assert '<input type="hidden" name="decision" value="draft">' in card


def test_review_without_javascript(signed_in_client, post):
    response = signed_in_client.post(url("post_review", post), {"decision": "approved"})
    assert response.status_code == 302 and response["Location"] == post.get_absolute_url()
    assert "Post marked approved." in signed_in_client.get(response["Location"]).content.decode()


def test_review_refuses_nonsense_and_unfinished_posts(signed_in_client, campaign, post):
    card = card_of(signed_in_client.post(url("post_review", post), {"decision": "published"}, headers=HTMX))
    assert "Choose approve, reject or back to draft." in card
    failed = PostFactory(campaign=campaign, status=GenerationStatus.FAILED, caption="")
    card = card_of(signed_in_client.post(url("post_review", failed), {"decision": "approved"}, headers=HTMX))
    assert "Only a finished post can be approved." in card
    failed.refresh_from_db()
    assert failed.review_status == ReviewStatus.DRAFT


# ---------- regenerate ----------


@pytest.mark.parametrize(("part", "work"), [("caption", "caption"), ("image", "image"), ("both", "both")])
def test_regenerate_shows_a_spinner_and_the_card_polls_itself(signed_in_client, post, part, work):
    card = card_of(signed_in_client.post(url("post_regenerate", post), {"part": part}, headers=HTMX))
    post.refresh_from_db()
    assert (post.status, post.pending_work) == (GenerationStatus.PENDING, work)
    assert f'hx-get="{url("post_card", post)}" hx-trigger="every 2s"' in card
    assert 'class="spinner' in card and "Regenerating" in card
    # Once the engine is done, the card it answers with has no trigger: the polling ends.
    Post.objects.filter(pk=post.pk).update(status=GenerationStatus.SUCCEEDED, pending_work=PendingWork.BATCH)
    done = card_of(signed_in_client.get(url("post_card", post), headers=HTMX))
    assert "hx-trigger" not in done


def test_a_batch_post_in_progress_does_not_poll_on_its_own(signed_in_client, campaign):
    """Pending batch posts are refreshed by the batch's panel, not each by itself."""
    post = PostFactory(campaign=campaign, status=GenerationStatus.PENDING, caption="")
    card = card_of(signed_in_client.get(url("post_card", post), headers=HTMX))
    assert "hx-trigger" not in card and "Waiting in line" in card


def test_regenerate_refusals(signed_in_client, campaign, post):
    card = card_of(signed_in_client.post(url("post_regenerate", post), {"part": "everything"}, headers=HTMX))
    assert "Choose what to regenerate" in card
    busy = PostFactory(campaign=campaign, status=GenerationStatus.PENDING, pending_work=PendingWork.CAPTION)
    card = card_of(signed_in_client.post(url("post_regenerate", busy), {"part": "caption"}, headers=HTMX))
    assert "already being generated" in card


def test_regenerate_without_javascript(signed_in_client, post):
    response = signed_in_client.post(url("post_regenerate", post), {"part": "image"})
    assert response.status_code == 302 and response["Location"] == post.get_absolute_url()
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "Regenerating" in page
    assert 'http-equiv="refresh"' in page  # inside <noscript>: the page reloads itself until done


# ---------- schedule ----------


def test_schedule_and_unschedule(signed_in_client, post):
    when = (timezone.localtime() + timedelta(days=3)).replace(second=0, microsecond=0)
    value = when.strftime("%Y-%m-%dT%H:%M")
    card = card_of(signed_in_client.post(url("post_schedule", post), {"scheduled_at": value}, headers=HTMX))
    post.refresh_from_db()
    assert post.scheduled_at == when
    assert 'class="badge badge-scheduled"' in card and f'value="{value}"' in card
    card = card_of(signed_in_client.post(url("post_schedule", post), {"clear": "1"}, headers=HTMX))
    post.refresh_from_db()
    assert post.scheduled_at is None and "badge-scheduled" not in card


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2031-02-30T10:00", "Enter a valid date/time."),
        ("tomorrow", "Enter a valid date/time."),
        ("2001-01-01T10:00", "Pick a time in the future."),
        ("", "Pick a date and time."),
    ],
)
def test_schedule_refuses_bad_times(signed_in_client, post, value, message):
    card = card_of(signed_in_client.post(url("post_schedule", post), {"scheduled_at": value}, headers=HTMX))
    assert message in card
    assert f'aria-describedby="post-{post.pk}-schedule-error"' in card
    assert re.search(r"<details class=\"menu push\" open>", card)  # the menu stays open on its error
    post.refresh_from_db()
    assert post.scheduled_at is None
    page = signed_in_client.post(url("post_schedule", post), {"scheduled_at": value})
    assert page.status_code == 200 and message in page.content.decode()


def test_schedule_refused_for_an_unfinished_post(signed_in_client, campaign):
    post = PostFactory(campaign=campaign, status=GenerationStatus.FAILED)
    value = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    card = card_of(signed_in_client.post(url("post_schedule", post), {"scheduled_at": value}, headers=HTMX))
    assert "Only a finished post can be scheduled." in card
    response = signed_in_client.post(url("post_schedule", post), {"scheduled_at": value})
    assert response.status_code == 302
    assert "Only a finished post can be scheduled." in signed_in_client.get(response["Location"]).content.decode()
    post.refresh_from_db()
    assert post.scheduled_at is None


# ---------- delete ----------


def test_delete_with_htmx_removes_the_card(signed_in_client, post):
    response = signed_in_client.post(url("post_delete", post), headers=HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not Post.objects.filter(pk=post.pk).exists()


def test_delete_from_the_post_page_goes_back_to_the_campaign(signed_in_client, post):
    response = signed_in_client.post(url("post_delete", post), {"next": "campaign"}, headers=HTMX)
    assert response["HX-Redirect"] == post.campaign.get_absolute_url()
    assert not Post.objects.filter(pk=post.pk).exists()


def test_delete_without_javascript(signed_in_client, post):
    response = signed_in_client.post(url("post_delete", post))
    assert response.status_code == 302 and response["Location"] == post.campaign.get_absolute_url()
    assert f"Post #{post.pk} deleted." in signed_in_client.get(response["Location"]).content.decode()


def test_delete_refused_while_generated(signed_in_client, campaign):
    post = PostFactory(campaign=campaign, status=GenerationStatus.PENDING)
    card = card_of(signed_in_client.post(url("post_delete", post), headers=HTMX))
    assert "being generated" in card
    assert Post.objects.filter(pk=post.pk).exists()


def test_delete_removes_the_image_files(
    signed_in_client, campaign, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    post = PostFactory(campaign=campaign)
    post.image.save("a.jpg", ContentFile(b"jpeg"), save=False)
    post.thumbnail.save("a-thumb.jpg", ContentFile(b"jpeg"), save=False)
    post.save()
    files = [tmp_path / post.image.name, tmp_path / post.thumbnail.name]
    assert all(path.exists() for path in files)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client.post(url("post_delete", post), headers=HTMX)
    assert not any(path.exists() for path in files)
