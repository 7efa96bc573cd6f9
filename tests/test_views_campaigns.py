"""Campaign pages with the Django test client: list, create/edit, delete, duplicate, preview, the campaign page,
calendar."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.views.grid import POSTS_PER_PAGE
from shared.failure_reasons import failure_sentence
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory

HTMX = {"HX-Request": "true"}


def valid_campaign_data(**overrides) -> dict:
    data = {
        "name": "Autumn Sale",
        "brief": "Thirty percent off every jacket for two weeks.",
        "target_audience": "hikers",
        "tone": "warm",
        "platforms": ["instagram", "x"],
        "language": "en",
        "keywords": "jackets, autumn",
        "hashtags": "#AutumnSale",
        "call_to_action": "Shop now.",
        "brand_color": "#AA3300",
        "start_date": "",
        "end_date": "",
    }
    data.update(overrides)
    return data


def error_for(response, field: str) -> str:
    """The text of a field's error list, found by the id its widget's aria-describedby points to."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error shown for {field}"
    assert 'aria-describedby="' in html and f"id_{field}_error" in html
    return re.sub(r"<[^>]+>", " ", match.group(1))


# ---------- list ----------


def test_list_shows_only_my_campaigns_with_counts_and_last_batch(signed_in_client, user, other_user):
    mine = CampaignFactory(owner=user, name="Mine")
    CampaignFactory(owner=other_user, name="Theirs")
    batch = BatchFactory(campaign=mine, status=BatchStatus.PARTIALLY_FAILED)
    PostFactory.create_batch(3, campaign=mine, batch=batch)
    PostFactory(campaign=mine, batch=batch, status=GenerationStatus.FAILED, caption="")
    PostFactory(campaign=mine, review_status=ReviewStatus.APPROVED)
    response = signed_in_client.get(reverse("campaigns:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mine" in html and "Theirs" not in html
    row = re.search(rf'data-campaign-id="{mine.pk}">(.*?)</li>', html, re.S).group(1)
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>(\d+)</dd>", row))
    assert counts == {"Posts": "5", "Ready": "4", "Approved": "1", "In progress": "0", "Failed": "1"}
    assert "Last batch: Partially failed" in row


def test_list_search_sort_and_htmx_partial(signed_in_client, user):
    CampaignFactory(owner=user, name="Zebra launch", brief="Stripes for everyone.")
    CampaignFactory(owner=user, name="Apple harvest", brief="Crisp apples, fresh from the farm.")
    response = signed_in_client.get(reverse("campaigns:list"), {"q": "farm"})
    assert "Apple harvest" in response.content.decode()
    assert "Zebra launch" not in response.content.decode()
    response = signed_in_client.get(reverse("campaigns:list"), {"sort": "name"})
    html = response.content.decode()
    assert html.index("Apple harvest") < html.index("Zebra launch")
    response = signed_in_client.get(reverse("campaigns:list"), {"sort": "-name"})
    html = response.content.decode()
    assert html.index("Zebra launch") < html.index("Apple harvest")
    # htmx asks for the results only: no page around them.
    response = signed_in_client.get(reverse("campaigns:list"), {"q": "zebra"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and "Zebra launch" in html and "Apple harvest" not in html
    assert "HX-Request" in response["Vary"]  # the same address answers a page or a part: caches must know
    # Back to a searched address after htmx's history cache missed: the whole page again.
    restore = signed_in_client.get(
        reverse("campaigns:list"), {"q": "zebra"}, headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()
    # An unknown sort falls back to newest first instead of failing.
    assert signed_in_client.get(reverse("campaigns:list"), {"sort": "password"}).status_code == 200


def test_list_paginates(signed_in_client, user):
    CampaignFactory.create_batch(25, owner=user)
    first = signed_in_client.get(reverse("campaigns:list")).content.decode()
    assert first.count('class="campaign-row"') == 20
    assert "Page 1 of 2" in first
    second = signed_in_client.get(reverse("campaigns:list"), {"page": 2}).content.decode()
    assert second.count('class="campaign-row"') == 5
    # A page number out of range shows the last page rather than an error.
    assert signed_in_client.get(reverse("campaigns:list"), {"page": 99}).status_code == 200


def test_list_empty_state(signed_in_client):
    html = signed_in_client.get(reverse("campaigns:list")).content.decode()
    assert "No campaigns yet" in html


# ---------- create / edit ----------


def test_create_campaign(signed_in_client, user):
    response = signed_in_client.post(reverse("campaigns:create"), valid_campaign_data())
    campaign = Campaign.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert campaign.platforms == ["instagram", "x"]
    assert campaign.keywords == ["jackets", "autumn"]
    assert campaign.hashtags == ["#AutumnSale"]
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "Autumn Sale" in page and "created" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required"),
        ({"name": "   "}, "name", "This field is required"),
        ({"brief": ""}, "brief", "This field is required"),
        ({"platforms": []}, "platforms", "Choose at least one platform"),
        ({"platforms": ["instagram", "myspace"]}, "platforms", "Select a valid choice"),
        ({"name": "n" * 10_000}, "name", "at most 120 characters"),
        ({"brief": "b" * 10_000}, "brief", "at most 4000 characters"),
        ({"target_audience": "a" * 10_000}, "target_audience", "at most 300 characters"),
        ({"tone": "t" * 10_000}, "tone", "at most 200 characters"),
        ({"call_to_action": "c" * 10_000}, "call_to_action", "at most 200 characters"),
        ({"keywords": "k" * 10_000}, "keywords", "at most 60 characters"),
        ({"keywords": "k, " * 3_000}, "keywords", "At most 30 items"),
        ({"hashtags": "#!!!"}, "hashtags", "not a usable hashtag"),
        ({"start_date": "2025-02-30"}, "start_date", "Enter a valid date"),
        ({"end_date": "yesterday"}, "end_date", "Enter a valid date"),
        ({"start_date": "2025-06-10", "end_date": "2025-06-01"}, "end_date", "on or after the start date"),
        ({"brand_color": "red"}, "brand_color", "hex colour"),
        ({"language": "klingon"}, "language", "Select a valid choice"),
    ],
)
def test_create_refuses_bad_input_with_errors_tied_to_fields(signed_in_client, user, overrides, field, message):
    response = signed_in_client.post(reverse("campaigns:create"), valid_campaign_data(**overrides))
    assert response.status_code == 200
    assert message in error_for(response, field)
    html = response.content.decode()
    widget = re.search(rf'<(?:input|textarea|select)[^>]*id="id_{field}(?:_0)?"[^>]*>', html).group(0)
    if field != "platforms":  # a group of checkboxes carries the reference on its fieldset
        assert 'aria-invalid="true"' in widget and f"id_{field}_error" in widget
    assert not Campaign.objects.filter(owner=user).exists()


def test_create_refuses_a_duplicate_name(signed_in_client, user):
    CampaignFactory(owner=user, name="Autumn Sale")
    response = signed_in_client.post(reverse("campaigns:create"), valid_campaign_data(name="autumn sale"))
    assert "already has a campaign with this name" in error_for(response, "name")
    assert Campaign.objects.filter(owner=user).count() == 1


def test_edit_campaign(signed_in_client, campaign):
    page = signed_in_client.get(reverse("campaigns:update", args=[campaign.pk]))
    assert page.status_code == 200 and campaign.name in page.content.decode()
    data = valid_campaign_data(name=campaign.name, brief="A new goal.", platforms=["linkedin"])
    response = signed_in_client.post(reverse("campaigns:update", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.brief, campaign.platforms) == ("A new goal.", ["linkedin"])


def test_edit_shows_errors(signed_in_client, campaign):
    data = valid_campaign_data(name="", platforms=[])
    response = signed_in_client.post(reverse("campaigns:update", args=[campaign.pk]), data)
    assert "This field is required" in error_for(response, "name")
    assert "Choose at least one platform" in error_for(response, "platforms")


def test_delete_campaign_asks_then_deletes(signed_in_client, campaign):
    PostFactory.create_batch(2, campaign=campaign)
    url = reverse("campaigns:delete", args=[campaign.pk])
    assert "cannot be undone" in signed_in_client.get(url).content.decode()
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    response = signed_in_client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:list")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Post.objects.filter(campaign_id=campaign.pk).exists()


def test_delete_campaign_refused_while_a_batch_runs(signed_in_client, campaign):
    BatchFactory(campaign=campaign, status=BatchStatus.RUNNING)
    response = signed_in_client.post(reverse("campaigns:delete", args=[campaign.pk]))
    assert response.status_code == 200
    assert "still running" in response.content.decode()
    assert Campaign.objects.filter(pk=campaign.pk).exists()


# ---------- duplicate ----------


def test_duplicate_copies_the_brief_only(signed_in_client, user):
    original = CampaignFactory(owner=user, name="Summer", keywords=["cold brew", "ice"], platforms=["x", "linkedin"])
    PostFactory(campaign=original)
    url = reverse("campaigns:duplicate", args=[original.pk])
    response = signed_in_client.post(url)
    copy = Campaign.objects.get(name="Summer (copy)")
    assert response.status_code == 302 and response.url == reverse("campaigns:update", args=[copy.pk])
    assert (copy.brief, copy.keywords, copy.platforms, copy.owner) == (
        original.brief,
        original.keywords,
        original.platforms,
        user,
    )
    assert not copy.posts.exists() and not copy.batches.exists()
    signed_in_client.post(url)
    assert Campaign.objects.filter(name="Summer (copy 2)").exists()


def test_duplicate_of_someone_elses_campaign_is_not_found(signed_in_client, other_user):
    theirs = CampaignFactory(owner=other_user)
    assert signed_in_client.post(reverse("campaigns:duplicate", args=[theirs.pk])).status_code == 404
    assert signed_in_client.get(reverse("campaigns:duplicate", args=[theirs.pk])).status_code == 405


# ---------- preview ----------


def test_preview_writes_one_caption_per_platform_within_limits(signed_in_client, user):
    before = (Campaign.objects.count(), Post.objects.count(), BatchJob.objects.count())
    data = valid_campaign_data(platforms=["instagram", "x", "linkedin"])
    response = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    items = re.findall(r'data-platform="(\w+)"', html)
    assert items == ["instagram", "linkedin", "x"]  # in the platform table's order
    counts = [
        (int(length.replace(",", "")), int(limit.replace(",", "")))
        for length, limit in re.findall(r"([\d,]+) / ([\d,]+) characters", html)
    ]
    assert [limit for _, limit in counts] == [2200, 3000, 280]
    assert all(length <= limit for length, limit in counts)
    assert "#AutumnSale" in html  # the campaign's own hashtags come first
    assert (Campaign.objects.count(), Post.objects.count(), BatchJob.objects.count()) == before


def test_preview_on_the_edit_page_uses_the_campaigns_own_name(signed_in_client, user):
    CampaignFactory(owner=user, name="Autumn Sale", keywords=[])
    data = valid_campaign_data(platforms=["x"], keywords="", hashtags="")
    html = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    assert "#AutumnSale" in html and "Your campaign" not in html


def test_preview_asks_for_a_brief_and_platforms(signed_in_client):
    response = signed_in_client.post(reverse("campaigns:preview"), {"name": "x", "brief": ""}, headers=HTMX)
    assert "choose at least one platform" in response.content.decode()
    assert "data-platform" not in response.content.decode()


def test_preview_shuffle_gives_another_angle(signed_in_client):
    data = valid_campaign_data(platforms=["linkedin"])
    first = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    again = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    assert first == again  # edits compare like with like
    shuffled = {
        signed_in_client.post(reverse("campaigns:preview"), {**data, "shuffle": "1"}, headers=HTMX).content
        for _ in range(4)
    }
    assert len(shuffled) > 1


def test_preview_from_the_openai_provider(signed_in_client, openai_settings, fake_openai):
    data = valid_campaign_data(platforms=["x", "facebook"])
    html = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    assert re.findall(r'data-platform="(\w+)"', html) == ["facebook", "x"]
    assert "preview-error" not in html
    assert fake_openai.stats()["counts"] == {"chat:200": 2}


def test_preview_shows_provider_errors_as_a_friendly_message(signed_in_client, openai_settings, fake_openai):
    from tests.fake_openai import Config

    fake_openai.configure(Config(fault_rate=1.0, fault_kinds=["500"]))
    data = valid_campaign_data(platforms=["x"])
    response = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="preview-error"' in html and "could not write a caption" in html
    assert "sk-test" not in html


def test_previews_are_limited_per_user_and_minute(db, client, openai_settings, fake_openai, settings):
    settings.PREVIEWS_PER_MINUTE = 3
    data = valid_campaign_data(platforms=["x"])
    first, second = UserFactory(), UserFactory()
    client.force_login(first)
    for _ in range(3):
        assert "data-platform" in client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    refused = client.post(reverse("campaigns:preview"), data, headers=HTMX)
    html = refused.content.decode()
    assert refused.status_code == 200  # htmx swaps it in: the message replaces the samples
    assert "a lot of previews in a minute" in html and "data-platform" not in html
    assert fake_openai.stats()["counts"] == {"chat:200": 3}  # the refused one cost nothing
    # Someone else's previews are their own.
    client.force_login(second)
    assert "data-platform" in client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()


def test_preview_is_post_only(signed_in_client):
    assert signed_in_client.get(reverse("campaigns:preview")).status_code == 405


# ---------- campaign page ----------


def test_campaign_page_shows_brief_batches_and_post_cards(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, succeeded_count=2)
    ready = PostFactory(campaign=campaign, batch=batch, caption="Hello summer", hashtags=["#Sun"])
    failed = PostFactory(
        campaign=campaign,
        batch=batch,
        status=GenerationStatus.FAILED,
        caption="",
        failure_reason="content_policy",
        error_message="provider said no",
    )
    html = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert campaign.brief in html and campaign.target_audience in html
    assert f'href="/batches/{batch.pk}/"' in html
    assert f'id="post-{ready.pk}"' in html and "Hello summer" in html and "#Sun" in html
    assert f'id="post-{failed.pk}"' in html and failure_sentence("content_policy") in html
    assert "provider said no" not in html  # the provider's words are for staff only
    assert '<section class="batch-progress ' not in html  # no batch running: no live panel


def test_campaign_page_shows_a_live_panel_per_running_batch(signed_in_client, campaign):
    running = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, requested_count=20, succeeded_count=5)
    BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED)
    html = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert html.count('<section class="batch-progress ') == 1
    assert f'hx-get="/batches/{running.pk}/progress/" hx-trigger="every 1s, poll-now"' in html


def test_the_batch_table_is_asked_for_again_when_a_batch_starts_or_ends(signed_in_client, campaign):
    url = reverse("campaigns:batch_history", args=[campaign.pk])
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    # No batch yet: an empty placeholder, listening all the same.
    assert re.search(
        rf'<div id="batch-history" hx-get="{url}"\s+hx-trigger="batch-started from:body, '
        r'batch-status-changed from:body, batch-finished from:body"'
        r' hx-swap="outerHTML"></div>',
        page,
    )
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, requested_count=20)
    batch.status, batch.succeeded_count = BatchStatus.SUCCEEDED, 20
    batch.save()
    response = signed_in_client.get(url, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.strip().startswith('<div id="batch-history"')
    assert f'href="/batches/{batch.pk}/"' in html and "badge-batch-succeeded" in html
    assert "<html" not in html and "post-card" not in html  # the table alone
    # Without htmx, the address leads to the campaign page.
    assert signed_in_client.get(url).url == campaign.get_absolute_url()


def test_post_filters(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign)
    insta = PostFactory(campaign=campaign, platform="instagram", batch=batch)
    x_post = PostFactory(campaign=campaign, platform="x", review_status=ReviewStatus.APPROVED)
    failed = PostFactory(campaign=campaign, platform="x", status=GenerationStatus.FAILED)

    def shown(**query) -> set[int]:
        html = signed_in_client.get(campaign.get_absolute_url(), query).content.decode()
        return {int(pk) for pk in re.findall(r'data-post-id="(\d+)"', html)}

    assert shown() == {insta.pk, x_post.pk, failed.pk}
    assert shown(platform="x") == {x_post.pk, failed.pk}
    assert shown(status="failed") == {failed.pk}
    assert shown(review="approved") == {x_post.pk}
    assert shown(batch=batch.pk) == {insta.pk}
    assert shown(platform="x", status="succeeded") == {x_post.pk}
    # Values typed by hand that mean nothing are ignored, not refused.
    assert shown(platform="myspace", status="<script>", batch="abc") == {insta.pk, x_post.pk, failed.pk}
    # Nothing matches: say so.
    html = signed_in_client.get(campaign.get_absolute_url(), {"platform": "tiktok"}).content.decode()
    assert "No posts match these filters" in html


def test_posts_partial_for_htmx_and_its_pushed_address(signed_in_client, campaign):
    PostFactory(campaign=campaign, platform="x")
    url = reverse("campaigns:posts", args=[campaign.pk])
    response = signed_in_client.get(url, {"platform": "x", "push": "1"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'class="post-card' in html
    assert response["HX-Push-Url"] == f"{campaign.get_absolute_url()}?platform=x"
    assert f"/campaigns/{campaign.pk}/export.csv?platform=x" in html
    # Without htmx the partial's URL sends the browser to the campaign page with the same filters.
    response = signed_in_client.get(url, {"platform": "x"})
    assert response.status_code == 302 and response["Location"] == f"{campaign.get_absolute_url()}?platform=x"


def test_posts_load_page_after_page_without_gaps_or_repeats(signed_in_client, campaign):
    created = timezone.now()
    # Many posts share a creation time (one bulk insert): the cursor must still not skip or repeat.
    Post.objects.bulk_create(
        [Post(campaign=campaign, platform="x", caption=f"p{i}", created_at=created, sequence=i) for i in range(30)]
        + [Post(campaign=campaign, platform="x", caption=f"q{i}", sequence=100 + i) for i in range(30)]
    )
    Post.objects.filter(caption__startswith="p").update(created_at=created)
    seen: list[int] = []
    html = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    while True:
        seen += [int(pk) for pk in re.findall(r'data-post-id="(\d+)"', html)]
        more = re.search(r'class="load-more" hx-get="([^"]+)"', html)
        if not more:
            break
        html = signed_in_client.get(more.group(1).replace("&amp;", "&"), headers=HTMX).content.decode()
    expected = list(Post.objects.filter(campaign=campaign).order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    assert "That's every post." in html


def test_a_bad_cursor_gives_the_first_page(signed_in_client, campaign):
    post = PostFactory(campaign=campaign)
    for cursor in ("nonsense", "-5-3", "99999999999999999999999-1", "1-0"):
        html = signed_in_client.get(campaign.get_absolute_url(), {"after": cursor}).content.decode()
        assert f'data-post-id="{post.pk}"' in html, cursor


@pytest.mark.postgres
def test_campaign_page_with_10000_posts_costs_a_fixed_number_of_queries(signed_in_client, campaign):
    """A campaign with 10,000 posts opens like one with 10: no count of its posts, one page read."""
    batch = BatchFactory(campaign=campaign, requested_count=1000, status=BatchStatus.SUCCEEDED)
    Post.objects.bulk_create(
        [
            Post(campaign=campaign, batch=batch if i < 1000 else None, sequence=i, platform="x", caption=f"Post {i}")
            for i in range(10_000)
        ],
        batch_size=2000,
    )
    with CaptureQueriesContext(connection) as page_queries:
        response = signed_in_client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="post-card') == POSTS_PER_PAGE
    # session, user, campaign, its batches, one page of posts
    # 6: session, user, the user's workspaces (the header's switcher), campaign, batches, posts.
    assert len(page_queries) <= 6, [q["sql"] for q in page_queries]
    assert not any("COUNT(" in q["sql"].upper() for q in page_queries)
    # The next page (infinite scroll) and a filtered grid cost the same few queries.
    more = re.search(r'class="load-more" hx-get="([^"]+)"', response.content.decode()).group(1)
    with CaptureQueriesContext(connection) as scroll_queries:
        signed_in_client.get(more.replace("&amp;", "&"), headers=HTMX)
    assert len(scroll_queries) <= 4
    with CaptureQueriesContext(connection) as filter_queries:
        signed_in_client.get(reverse("campaigns:posts", args=[campaign.pk]), {"platform": "x"}, headers=HTMX)
    assert len(filter_queries) <= 4
    later_queries = scroll_queries.captured_queries + filter_queries.captured_queries
    assert not any("COUNT(" in q["sql"].upper() for q in later_queries)


@pytest.mark.postgres
def test_campaign_page_query_count_does_not_grow_with_posts(signed_in_client, campaign, django_assert_max_num_queries):
    # The bound includes the header's one query for the user's workspaces.
    PostFactory.create_batch(3, campaign=campaign)
    with django_assert_max_num_queries(6):
        signed_in_client.get(campaign.get_absolute_url())
    Post.objects.bulk_create([Post(campaign=campaign, platform="x", sequence=i) for i in range(500)])
    with django_assert_max_num_queries(6):
        signed_in_client.get(campaign.get_absolute_url())


# ---------- calendar ----------


def test_calendar_month_with_scheduled_posts(signed_in_client, campaign, other_user):
    in_june = PostFactory(campaign=campaign, scheduled_at=datetime(2031, 6, 14, 9, 30, tzinfo=UTC), caption="June one")
    PostFactory(campaign=campaign, scheduled_at=datetime(2031, 7, 2, 9, 30, tzinfo=UTC), caption="July one")
    PostFactory(campaign=CampaignFactory(owner=other_user), scheduled_at=datetime(2031, 6, 14, tzinfo=UTC))
    url = reverse("campaigns:calendar", args=[campaign.pk])
    html = signed_in_client.get(url, {"month": "2031-06"}).content.decode()
    assert "June 2031" in html
    assert "1 post scheduled this month" in html
    assert f"/posts/{in_june.pk}/" in html and "09:30" in html
    assert "?month=2031-05" in html and "?month=2031-07" in html
    day = re.search(r'<span class="day-number">14</span>(.*?)</td>', html, re.S).group(1)
    assert "June one" in day
    html = signed_in_client.get(url, {"month": "2031-07"}).content.decode()
    assert "July one" in html and "1 post scheduled" in html


@pytest.mark.parametrize("month", ["", "2031-13", "garbage", "0001-01", "9999-12"])
def test_calendar_falls_back_to_this_month(signed_in_client, campaign, month):
    response = signed_in_client.get(reverse("campaigns:calendar", args=[campaign.pk]), {"month": month})
    assert response.status_code == 200
    assert timezone.localdate().strftime("%B %Y") in response.content.decode()


def test_calendar_marks_today(signed_in_client, campaign):
    today = timezone.localdate()
    PostFactory(campaign=campaign, scheduled_at=timezone.now() + timedelta(minutes=1))
    html = signed_in_client.get(reverse("campaigns:calendar", args=[campaign.pk])).content.decode()
    assert 'aria-current="date"' in html
    assert re.search(rf'aria-current="date">\s*<span class="day-number">{today.day}</span>', html)
