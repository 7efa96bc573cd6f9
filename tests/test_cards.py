"""The grid's cached post cards (campaigns.cards): the post's current state and template, the viewer's CSRF token."""

import re
from datetime import UTC, datetime

import pytest
from django.core.cache import caches
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from campaigns import cards
from campaigns.models import GenerationStatus, Post, ReviewStatus
from tests.factories import PostFactory
from workspaces.roles import Role, allowed_actions

EVERYTHING = allowed_actions(Role.OWNER)

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def card_html(page: str, post: Post) -> str:
    match = re.search(rf'<article [^>]*id="post-{post.pk}".*?</article>', page, re.S)
    assert match, f"no card for post #{post.pk}"
    return match.group(0)


def test_a_card_shows_the_posts_current_state_however_the_row_changed(signed_in_client, campaign):
    post = PostFactory(campaign=campaign, caption="First words")
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert "First words" in card_html(page, post)

    # A queryset update leaves updated_at alone: the card must follow the row's content anyway.
    Post.objects.filter(pk=post.pk).update(caption="Second words", review_status=ReviewStatus.APPROVED)
    card = card_html(signed_in_client.get(campaign.get_absolute_url()).content.decode(), post)
    assert "Second words" in card and "First words" not in card
    assert 'data-review="approved"' in card and "✓ Approved" in card

    Post.objects.filter(pk=post.pk).update(status=GenerationStatus.GENERATING, lease_expires_at=timezone.now())
    card = card_html(signed_in_client.get(campaign.get_absolute_url()).content.decode(), post)
    assert 'data-status="generating"' in card and 'name="decision"' not in card


def test_cached_cards_carry_each_viewers_own_csrf_token(user, campaign):
    post = PostFactory(campaign=campaign)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(user)
    second.force_login(user)
    first.get(campaign.get_absolute_url())  # renders and caches the card
    page = second.get(campaign.get_absolute_url()).content.decode()
    assert cards._CSRF_PLACEHOLDER not in page

    token = CSRF_FIELD.search(card_html(page, post)).group(1)
    review = reverse("campaigns:post_review", args=[post.pk])
    response = second.post(review, {"decision": "approved", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.review_status == ReviewStatus.APPROVED
    # The token is the second session's: the first one's cookie does not go with it.
    response = first.post(review, {"decision": "rejected", "csrfmiddlewaretoken": token})
    assert response.status_code == 403


def test_grid_cards_are_the_card_template_as_the_page_would_render_it(signed_in_client, campaign):
    posts = [
        PostFactory(campaign=campaign, hashtags=["#Sun", "#Sea"]),
        PostFactory(campaign=campaign, status=GenerationStatus.FAILED, caption="", error_message="no"),
        PostFactory(campaign=campaign, scheduled_at=timezone.now() + timezone.timedelta(days=2)),
        PostFactory(campaign=campaign, status=GenerationStatus.PENDING, caption=""),
    ]
    request = RequestFactory().get("/")
    request.user = campaign.owner
    for _ in range(2):  # rendered, then from the cache
        html = cards.render_cards(posts, request, EVERYTHING)
        context = [{"post": post, "allowed": EVERYTHING} for post in posts]
        expected = "".join(render_to_string(cards.CARD_TEMPLATE, each, request=request) for each in context)
        assert CSRF_FIELD.sub("TOKEN", html) == CSRF_FIELD.sub("TOKEN", expected)
        assert html.count('name="csrfmiddlewaretoken"') == expected.count('name="csrfmiddlewaretoken"') > 0


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_cards_follow_the_active_time_zone(campaign, zone):
    post = PostFactory(campaign=campaign, scheduled_at=datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    request = RequestFactory().get("/")
    with timezone.override("UTC"):
        cards.render_cards([post], request, EVERYTHING)  # a card cached under another zone
    with timezone.override(zone):
        html = cards.render_cards([post], request, EVERYTHING)
    assert {"UTC": "Jan 1 · 12:00", "Asia/Tokyo": "Jan 1 · 21:00"}[zone] in html
    assert f"Schedule ({zone})" in html


def test_the_key_covers_every_field_the_post_was_loaded_with(campaign):
    post = PostFactory(campaign=campaign)
    key = cards.card_cache_key(Post.objects.get(pk=post.pk))
    for field, value in [("caption", "other"), ("hashtags", ["#Other"]), ("thumbnail", "posts/x.jpg")]:
        changed = Post.objects.get(pk=post.pk)
        setattr(changed, field, value)
        assert cards.card_cache_key(changed) != key, field
    assert cards.card_cache_key(Post.objects.get(pk=post.pk)) == key
    assert cards.card_cache_key(post, "Asia/Tokyo:en") != key


def test_a_changed_card_template_is_never_served_from_cards_drawn_with_the_old_one(campaign, settings, tmp_path):
    post = PostFactory(campaign=campaign, caption="Same post")
    request = RequestFactory().get("/")
    assert 'class="post-card' in cards.render_cards([post], request, EVERYTHING)  # drawn and cached
    # Another version of the template (as a process would see after a deploy if the cache outlived it).
    folder = tmp_path / "campaigns" / "partials"
    folder.mkdir(parents=True)
    (folder / "post_card.html").write_text('<article id="post-{{ post.pk }}">new card: {{ post.caption }}</article>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    assert (
        cards.render_cards([post], request, EVERYTHING) == f'<article id="post-{post.pk}">new card: Same post</article>'
    )


def test_no_card_is_cached_with_debug_on(campaign, settings, monkeypatch):
    settings.DEBUG = True
    cache = caches[cards.CACHE_ALIAS]
    calls = []
    monkeypatch.setattr(cache, "get_many", lambda keys: calls.append("get") or {})
    monkeypatch.setattr(cache, "set_many", lambda data: calls.append("set"))
    html = cards.render_cards([PostFactory(campaign=campaign)], RequestFactory().get("/"), EVERYTHING)
    assert 'class="post-card' in html and calls == []
    settings.DEBUG = False
    cards.render_cards([PostFactory(campaign=campaign)], RequestFactory().get("/"), EVERYTHING)
    assert calls == ["get", "set"]
