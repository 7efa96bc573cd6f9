"""Every marketer page on a phone (360 x 740) in a real Chromium: nothing scrolls sideways, the header
folds into a menu, tables stack, the filter bar scrolls away, the calendar is a readable list. Screenshots
of each page (and of a Japanese campaign) go to SCREENSHOT_DIR as phone-*.png. Then, on a desktop, the
two new interactions that need a browser: bulk actions on ticked cards, and moving a post by drag and drop."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post, ReviewStatus
from generation.images import store_post_image
from generation.providers.base import Brief
from generation.providers.local import draw_image
from tests.factories import CampaignFactory, UserFactory
from tests.test_browser import (  # noqa: F401 - `browser` is a fixture
    assert_htmx_is_loaded,
    browser,
    screenshot,
    sign_in_with_a_session,
    wait_until,
)
from workspaces.services import members
from workspaces.services.workspaces import personal_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}

JAPANESE_CAPTIONS = [
    "夏の朝に、ひんやりなめらかなナイトロ・コールドブリューを。砂糖不使用なのに自然な甘さ。",
    "通勤前の一杯が変わる。オーツミルクと合わせて、今日から新しい習慣を始めよう。",
    "暑い日こそ、泡立つコールドブリュー。お近くの店舗で今すぐどうぞ。",
]


@pytest.fixture
def phone(browser, live_server):  # noqa: F811 - the fixture imported above
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def desktop(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def make_posts(campaign, batch, captions, *, language="en", scheduled_from=None):
    brief = Brief(campaign.pk, campaign.name, campaign.brief, "", "", language, (), (), "", campaign.brand_color)
    posts = []
    for index, caption in enumerate(captions):
        post = Post.objects.create(
            campaign=campaign,
            batch=batch,
            sequence=index,
            platform=campaign.platforms[index % len(campaign.platforms)],
            status=GenerationStatus.SUCCEEDED,
            caption=caption,
            hashtags=["#夏" if language == "ja" else "#Summer"],
            headline=caption[:24],
            review_status=ReviewStatus.APPROVED if index == 0 else ReviewStatus.DRAFT,
            scheduled_at=scheduled_from + timedelta(days=index, hours=index) if scheduled_from else None,
        )
        post.image, post.thumbnail = store_post_image(
            campaign.pk, post.pk, draw_image(brief, caption[:30], 1080, 1080, index)
        )
        post.save(update_fields=["image", "thumbnail"])
        posts.append(post)
    return posts


@pytest.fixture
def world(db):
    user = UserFactory(username="ren-with-a-rather-long-username")
    campaign = CampaignFactory(
        owner=user,
        name="Summer Cold Brew Launch with an Unusually Long Campaign Name",
        platforms=["instagram", "x", "linkedin", "facebook", "tiktok"],
    )
    batch = BatchJob.objects.create(
        campaign=campaign,
        requested_count=1000,
        platforms=campaign.platforms,
        status=BatchStatus.CANCELED,
        succeeded_count=4,
        canceled_count=996,
        started_at=timezone.now() - timedelta(minutes=3),
        finished_at=timezone.now(),
    )
    BatchJob.objects.create(campaign=campaign, requested_count=20, platforms=campaign.platforms, status="running")
    next_month = (timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    start = timezone.make_aware(timezone.datetime.combine(next_month, timezone.datetime.min.time())) + timedelta(
        hours=9, minutes=30
    )
    posts = make_posts(
        campaign,
        batch,
        [f"Cold brew idea {n}: smooth, naturally sweet, made for hot mornings. ☀️" for n in range(4)],
        scheduled_from=start,
    )
    japanese = CampaignFactory(
        owner=user,
        name="夏のコールドブリュー",
        brief="暑い夏に、なめらかなナイトロ・コールドブリューを届けます。",
        language="ja",
        platforms=["instagram", "x"],
        keywords=["コールドブリュー", "夏"],
        hashtags=["#夏"],
    )
    jp_batch = BatchJob.objects.create(
        campaign=japanese, requested_count=3, platforms=japanese.platforms, status="succeeded", succeeded_count=3
    )
    make_posts(japanese, jp_batch, JAPANESE_CAPTIONS, language="ja", scheduled_from=start + timedelta(days=10))
    return {
        "user": user,
        "campaign": campaign,
        "batch": batch,
        "posts": posts,
        "japanese": japanese,
        "month": next_month,
    }


def assert_no_sideways_scroll(page, name: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: the page is {widths[0]} px wide in a {widths[1]} px window"


def test_every_page_fits_a_phone(phone, live_server, world):
    campaign, month = world["campaign"], world["month"]
    # Signed out: the sign-in page.
    phone.goto("/")
    assert_no_sideways_scroll(phone, "sign-in")
    screenshot(phone, "phone-sign-in")

    sign_in_with_a_session(phone, live_server, world["user"])
    pages = {
        "campaign-list": reverse("campaigns:list"),
        "campaign-form": reverse("campaigns:create"),
        "campaign-detail": campaign.get_absolute_url(),
        "campaign-japanese": world["japanese"].get_absolute_url(),
        "campaign-edit": reverse("campaigns:update", args=[campaign.pk]),
        "campaign-delete": reverse("campaigns:delete", args=[campaign.pk]),
        "batch-detail": world["batch"].get_absolute_url(),
        "post-detail": world["posts"][0].get_absolute_url(),
        "campaign-calendar": reverse("campaigns:calendar", args=[campaign.pk]) + f"?month={month:%Y-%m}",
        "calendar-month": reverse("campaigns:schedule") + f"?month={month:%Y-%m}",
        "calendar-list": reverse("campaigns:schedule") + f"?view=list&month={month:%Y-%m}",
        "settings": reverse("accounts:settings"),
        "password-change": reverse("password_change"),
    }
    for name, url in pages.items():
        phone.goto(url)
        assert_no_sideways_scroll(phone, name)
        full = name in ("campaign-detail", "campaign-japanese", "calendar-month")
        if full:  # a full-page picture: load the images lazy loading would leave for later
            phone.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
            wait_until(phone, "[...document.querySelectorAll('.post-card img.picture')].every(i => i.complete)")
        screenshot(phone, f"phone-{name}", full_page=full)

    # The header: one "Menu" that opens on the items, "Sign out" among them and on screen.
    phone.goto(campaign.get_absolute_url())
    assert_htmx_is_loaded(phone)
    assert not phone.get_by_role("button", name="Sign out").is_visible()
    phone.get_by_text("Menu").click()
    sign_out = phone.get_by_role("button", name="Sign out")
    assert sign_out.is_visible()
    box = sign_out.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(phone, "phone-menu")
    phone.get_by_text("Menu").click()

    # The filter bar scrolls away instead of covering the grid; the batches table is stacked cards.
    assert phone.locator("#post-filters").evaluate("e => getComputedStyle(e).position") == "static"
    assert phone.locator(".batch-table tr").nth(1).evaluate("e => getComputedStyle(e).display") == "block"
    assert phone.locator(".batch-table thead").evaluate("e => getComputedStyle(e).display") == "none"
    # A canceled batch of 1,000 that made 4 says so: no full bar.
    phone.goto(world["batch"].get_absolute_url())
    assert phone.locator(".batch-progress").get_attribute("data-percent") == "0"
    assert "Canceled after 4 of 1000 posts." in phone.locator(".batch-progress").inner_text()

    # The calendar on a phone: days with posts as a list, each time and platform in full.
    phone.goto(reverse("campaigns:schedule") + f"?month={month:%Y-%m}")
    assert phone.locator(".calendar thead").evaluate("e => getComputedStyle(e).display") == "none"
    whens = phone.locator(".calendar-when")
    assert whens.count() == 7
    for index in range(whens.count()):
        assert whens.nth(index).evaluate("e => e.scrollWidth <= e.clientWidth"), whens.nth(index).inner_text()
    assert re.fullmatch(r"\d\d:\d\d · \w+", whens.first.inner_text())
    assert phone.console_errors == [], phone.console_errors


def test_bulk_actions_and_drag_and_drop_in_the_browser(desktop, live_server, world):
    campaign, month = world["campaign"], world["month"]
    sign_in_with_a_session(desktop, live_server, world["user"])
    desktop.goto(campaign.get_absolute_url())
    assert_htmx_is_loaded(desktop)
    desktop.evaluate("window.__noReload = 1")
    picked = world["posts"][1:3]
    for post in picked:
        desktop.get_by_label(f"Select post #{post.pk}").check()
    desktop.locator("#bulk-form").get_by_role("button", name="Approve").click()
    desktop.get_by_text("Approved 2 posts.").wait_for()
    assert desktop.evaluate("window.__noReload") == 1
    assert Post.objects.filter(pk__in=[p.pk for p in picked], review_status=ReviewStatus.APPROVED).count() == 2
    screenshot(desktop, "bulk-actions")

    # Filters survive Back and Forward: the dropdowns say what the grid shows.
    desktop.get_by_label("Review").select_option("approved")
    wait_until(desktop, "location.search === '?review=approved'")
    desktop.get_by_label("Platform").select_option("x")
    wait_until(desktop, "location.search === '?review=approved&platform=x'")
    desktop.go_back()
    wait_until(desktop, "location.search === '?review=approved'")
    assert desktop.get_by_label("Platform").input_value() == ""
    assert desktop.get_by_label("Review").input_value() == "approved"
    wait_until(desktop, "document.querySelectorAll('.post-card[data-review=approved]').length === 3")
    assert desktop.locator(".post-card").count() == 3
    desktop.go_forward()
    wait_until(desktop, "location.search === '?review=approved&platform=x'")
    assert desktop.get_by_label("Platform").input_value() == "x"
    assert desktop.evaluate("window.__noReload") == 1

    desktop.goto(reverse("campaigns:schedule") + f"?month={month:%Y-%m}")
    post = world["posts"][0]
    target = month.replace(day=20)
    desktop.locator(f"li[data-post-id='{post.pk}']").drag_to(desktop.locator(f"td[data-drop-date='{target:%Y-%m-%d}']"))
    desktop.get_by_text(f"Post #{post.pk} moved to").wait_for()
    post.refresh_from_db()
    local = timezone.localtime(post.scheduled_at)
    assert (local.date(), local.strftime("%H:%M")) == (target, "09:30")
    screenshot(desktop, "calendar-all-campaigns")


def test_the_members_page_with_pending_invitations_fits_a_phone(phone, live_server):
    """Long addresses and the Revoke buttons stay within 360 px; revoking takes the invitation off the list."""
    owner = UserFactory(username="owner-with-a-rather-long-username")
    workspace = personal_workspace(owner)
    for role, email in (
        ("editor", "someone.with.a.very.long.address@marketing-department.example.com"),
        ("viewer", ""),
    ):
        members.invitation_create(workspace=workspace, actor=owner, role=role, email=email, url_for=str)
    sign_in_with_a_session(phone, live_server, owner)
    phone.goto(reverse("workspaces:members"))
    assert phone.locator("form[action*='/revoke/']").count() == 2
    assert_no_sideways_scroll(phone, "members")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "phone-members-invitations", full_page=True)

    revoke = phone.locator("li.member", has_text="very.long.address").get_by_role("button", name="Revoke")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    phone.once("dialog", lambda dialog: answer(dialog, accept=False))
    revoke.click()  # asked first; saying no leaves the invitation alone
    phone.wait_for_timeout(300)
    assert questions == ["Revoke this invitation? Its link will no longer work."]
    assert phone.locator("form[action*='/revoke/']").count() == 2
    phone.once("dialog", lambda dialog: answer(dialog, accept=True))
    revoke.click()
    phone.get_by_text("Invitation revoked: its link no longer works.").wait_for()
    assert phone.locator("form[action*='/revoke/']").count() == 1
    assert "very.long.address" not in phone.content()
    assert_no_sideways_scroll(phone, "members after revoking")
