"""The marketer's flow in a real headless Chromium against a live server and a real rqworker.

Debian's chromium is driven through Playwright's Python API (Playwright's own browser download
cannot work here). The tests also save screenshots of the main pages under SCREENSHOT_DIR (see below).
"""

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.progress_panel import POLL_MAX_SECONDS
from campaigns.views.grid import POSTS_PER_PAGE
from tests.factories import CampaignFactory, StaffFactory, UserFactory
from tests.fake_openai import Config

pytestmark = [pytest.mark.browser, pytest.mark.workers, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots go to test-artifacts/ (ignored by git); SCREENSHOT_DIR=tests/screenshots refreshes
# the ones kept in the repository.
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
)
PASSWORD = "correct-horse-battery"
VIEWPORT = {"width": 1280, "height": 860}
# Generous: two cores shared with other test runs.
BATCH_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    # async-safety check mistakes for async code; the ORM calls here are plain sync test code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(f"{message.text} at {message.location}"),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def screenshot(page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=full_page)


def sign_in(page, user) -> None:
    page.goto("/")
    assert "/accounts/login/" in page.url  # every page needs a signed-in user
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def assert_htmx_is_loaded(page) -> None:
    """From our static files: without it the live parts would silently become full page loads."""
    assert page.evaluate("typeof window.htmx") == "object", "htmx.min.js did not load"
    assert page.evaluate("window.htmx.version") == "2.0.11"
    assert page.evaluate("window.htmx.config.allowEval") is False  # the meta config was read


def wait_until(page, expression: str, *, timeout_ms: int = 30_000) -> None:
    """Poll a JavaScript expression until it is truthy. (page.wait_for_function evaluates a string,
    which our Content-Security-Policy forbids, rightly; page.evaluate goes through the debugger.)"""
    waited = 0
    while not page.evaluate(expression):
        if waited >= timeout_ms:
            cards = page.evaluate("[...document.querySelectorAll('.post-card')].map(c => c.dataset.status).join()")
            pytest.fail(f"timed out after {timeout_ms} ms waiting for {expression} (cards: {cards})")
        page.wait_for_timeout(100)
        waited += 100


def mark_page(page) -> None:
    """Set a variable that a page load would wipe out, to prove later that none happened."""
    page.evaluate("window.__noReload = 'still the same page'")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload") == "still the same page", "the page was reloaded"


def start_batch(page, count: int) -> None:
    page.get_by_label("Number of posts").fill(str(count))
    page.get_by_role("button", name="Generate").click()
    page.locator(".batch-progress").first.wait_for()


def test_marketer_flow_sign_in_to_csv(page, live_server, workers):
    """Sign in, create a campaign, generate 20 posts live with the local provider and a real worker,
    edit a caption inline, approve a post, download the CSV: all without a page reload where a part will do."""
    workers.start("browser-worker", GENERATION_CONCURRENCY=2)
    user = UserFactory(username="maya")

    sign_in(page, user)
    assert_htmx_is_loaded(page)
    assert page.get_by_role("heading", name="No campaigns yet").is_visible()

    # --- create a campaign, with sample captions asked for before saving
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Name").fill("Summer Cold Brew Launch")
    page.get_by_label("Brief").fill(
        "Launch our new nitro cold brew for the summer. Smooth, naturally sweet, no sugar added."
    )
    page.get_by_label("Target audience").fill("busy commuters and students")
    page.get_by_label("Tone / brand voice").fill("upbeat, friendly")
    page.get_by_label("Keywords").fill("nitro cold brew, summer mornings, oat milk")
    page.get_by_label("Hashtags to include").fill("#BrewBetter")
    page.get_by_label("Call to action").fill("Grab one on your way in today.")
    page.get_by_label("Instagram").check()
    page.get_by_label("X", exact=True).check()
    assert page.locator("#preview [data-platform]").count() == 0  # asked for, not fired on every change
    page.get_by_role("button", name="Preview captions").click()
    page.locator("#preview [data-platform='x']").wait_for()
    previews = page.locator("#preview [data-platform]")
    assert previews.evaluate_all("items => items.map(i => i.dataset.platform)") == ["instagram", "x"]
    assert "Made for busy commuters and students" in page.locator("#preview").inner_text()
    screenshot(page, "campaign-form", full_page=True)
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    campaign = Campaign.objects.get(owner=user)
    assert page.url.endswith(campaign.get_absolute_url())
    assert page.get_by_role("heading", name="No posts yet").is_visible()

    # --- start a batch of 20 and watch it live: no reload
    mark_page(page)
    start_batch(page, 20)
    panel = page.locator(".batch-progress").first
    page.wait_for_selector(".batch-progress[data-status='succeeded']", timeout=BATCH_TIMEOUT_MS)
    progress = panel.locator("progress")
    assert (progress.get_attribute("value"), progress.get_attribute("max")) == ("20", "20")
    assert panel.locator(".progress-percent").inner_text() == "100%"
    assert panel.locator("[data-figure='done']").inner_text() == "20"
    assert panel.get_attribute("hx-trigger") is None  # the final panel stopped polling
    batch = BatchJob.objects.get(campaign=campaign)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 20)
    # The table of batches, empty when the page loaded, caught up as well.
    page.wait_for_selector(f"#batch-history a[href='/batches/{batch.pk}/']")
    wait_until(page, "document.querySelector('#batch-history .badge-batch-succeeded') !== null")
    # The grid refreshed itself when the batch ended: a first page of finished cards with their
    # images, and scrolling to its end loads the rest.
    wait_until(page, f"document.querySelectorAll('.post-card[data-status=succeeded]').length === {POSTS_PER_PAGE}")
    page.locator(".load-more").scroll_into_view_if_needed()
    wait_until(page, "document.querySelectorAll('.post-card[data-status=succeeded]').length === 20")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".post-card img.picture").first.wait_for()
    assert_not_reloaded(page)
    page.set_viewport_size({"width": 1280, "height": 1480})
    first_row = "[...document.querySelectorAll('.post-card img.picture')].slice(0, 8)"
    wait_until(page, f"{first_row}.every(image => image.complete && image.naturalWidth > 0)")
    screenshot(page, "campaign-detail")
    page.set_viewport_size(VIEWPORT)

    # --- edit a caption inline, with the live character counter
    card = page.locator(".post-card").first
    post_id = int(card.get_attribute("data-post-id"))
    post = Post.objects.get(pk=post_id)
    limit = {"instagram": 2200, "x": 280}[post.platform]
    card.get_by_role("link", name="Edit").click()
    editor = page.locator(f"#post-{post_id} textarea")
    editor.wait_for()
    wait_until(page, f"document.activeElement === document.querySelector('#post-{post_id} textarea')")
    editor.fill("Cold brew, hot days. ☀️ Edited in the browser.")
    counter = page.locator(f"#post-{post_id} [data-counter]")
    typed = len("Cold brew, hot days. ☀️ Edited in the browser.") + len("\n\n") + len(" ".join(post.hashtags))
    assert counter.inner_text().startswith(f"{typed} / {limit:,}")
    screenshot(page, "post-edit")
    page.locator(f"#post-{post_id}").get_by_role("button", name="Save").click()
    page.locator(f"#post-{post_id} .post-caption", has_text="Edited in the browser.").wait_for()
    post.refresh_from_db()
    assert post.caption == "Cold brew, hot days. ☀️ Edited in the browser."

    # An edit over the platform's limit is refused by the server, next to the field.
    second = page.locator(".post-card").nth(1)
    second_id = int(second.get_attribute("data-post-id"))
    second.get_by_role("link", name="Edit").click()
    page.locator(f"#post-{second_id} textarea").fill("x" * 3000)
    assert "is-over" in page.locator(f"#post-{second_id} [data-counter]").get_attribute("class")
    page.locator(f"#post-{second_id}").get_by_role("button", name="Save").click()
    page.locator(f"#post-{second_id} .errorlist", has_text="characters with hashtags").wait_for()
    page.locator(f"#post-{second_id}").get_by_role("link", name="Cancel").click()
    page.locator(f"#post-{second_id} .post-caption").wait_for()

    # --- approve a post
    approve = page.locator(f"#post-{second_id}").get_by_role("button", name="Approve")
    approve.click()
    page.locator(f"#post-{second_id}[data-review='approved']").wait_for()
    assert Post.objects.get(pk=second_id).review_status == ReviewStatus.APPROVED

    # --- download the CSV of the posts as filtered on screen
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert re.fullmatch(r"summer-cold-brew-launch-posts-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 20
    by_id = {int(row["post_id"]): row for row in rows}
    assert by_id[post_id]["caption"] == "Cold brew, hot days. ☀️ Edited in the browser."
    assert by_id[second_id]["review_status"] == "approved"
    assert {row["status"] for row in rows} == {"succeeded"}

    # Filter on screen, then export: the CSV follows the filter.
    page.get_by_label("Review").select_option("approved")
    wait_until(page, "document.querySelectorAll('.post-card').length === 1")
    assert page.url.endswith("?review=approved")  # the address keeps the filter for a reload
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert [int(row["post_id"]) for row in rows] == [second_id]
    assert_not_reloaded(page)

    # --- the campaign list shows what happened (beside two more campaigns, for a fuller picture)
    webinar = CampaignFactory(
        owner=user,
        name="Accounting Software Webinar",
        brief="Invite small business owners to a free 45-minute webinar on closing the books in one day.",
        platforms=["linkedin", "facebook"],
    )
    running = BatchJob.objects.create(
        campaign=webinar, requested_count=40, platforms=webinar.platforms, status=BatchStatus.RUNNING
    )
    Post.objects.bulk_create(
        [Post(campaign=webinar, batch=running, sequence=i, platform="linkedin") for i in range(40)]
    )
    Post.objects.filter(batch=running, sequence__lt=26).update(status=GenerationStatus.SUCCEEDED)
    Post.objects.filter(batch=running, sequence__in=[3, 9]).update(status=GenerationStatus.FAILED)
    CampaignFactory(
        owner=user,
        name="Holiday Gift Guide",
        brief="Ten gift ideas under $50 from our autumn catalogue, one a day until December.",
        platforms=["instagram", "facebook", "tiktok"],
    )
    page.goto("/")
    row = page.locator(f"[data-campaign-id='{campaign.pk}']")
    assert page.locator(".campaign-row").count() == 3
    assert "Last batch: Succeeded" in row.inner_text()
    assert re.search(r"Ready\s+20\b", row.inner_text(), re.I) and re.search(r"Approved\s+1\b", row.inner_text(), re.I)
    screenshot(page, "campaign-list")
    assert page.console_errors == [], page.console_errors  # CSP violations would show up here


def test_progress_moves_live_while_a_slower_provider_works(
    page, live_server, workers, openai_settings, openai_env, fake_openai
):
    """The panel updates every second while posts arrive: several distinct values between 0 and 100%,
    the cost so far, and no reload. The fake OpenAI server answers slowly so the batch takes a while."""
    fake_openai.configure(Config(text_latency=0.6, image_latency=0.8))
    workers.start("browser-slow-worker", **openai_env, GENERATION_CONCURRENCY=2)
    user = UserFactory(username="sam")
    campaign = CampaignFactory(
        owner=user,
        name="Accounting Software Webinar",
        brief="Invite small business owners to a free 45-minute webinar on closing the books in one day.",
        target_audience="owners of businesses with 5 to 50 people",
        tone="professional, clear, helpful",
        keywords=["month-end close", "bookkeeping", "cash flow"],
        hashtags=["#SmallBusiness"],
        call_to_action="Save your seat: link in bio.",
        platforms=["linkedin", "facebook"],
    )
    sign_in(page, user)
    page.goto(reverse("campaigns:detail", args=[campaign.pk]))
    assert_htmx_is_loaded(page)
    mark_page(page)
    start_batch(page, 20)

    seen: list[int] = []
    shot = False
    for _ in range(int(BATCH_TIMEOUT_MS / 250)):
        panel = page.locator(".batch-progress").first
        status = panel.get_attribute("data-status")
        percent = int(panel.get_attribute("data-percent"))
        if not seen or seen[-1] != percent:
            seen.append(percent)
        if not shot and 30 <= percent <= 70:
            # The posts that are done have appeared in the grid below, the others wait in line.
            wait_until(page, "document.querySelectorAll('.post-card[data-status=succeeded]').length > 0")
            page.set_viewport_size({"width": 1280, "height": 1700})
            first_rows = "[...document.querySelectorAll('.post-card img.picture')].slice(0, 8)"
            wait_until(page, f"{first_rows}.every(image => image.complete && image.naturalWidth > 0)")
            screenshot(page, "batch-progress")
            page.set_viewport_size(VIEWPORT)
            shot = True
        if status not in ("queued", "running"):
            break
        page.wait_for_timeout(250)
    assert seen[-1] == 100 and page.locator(".batch-progress").first.get_attribute("data-status") == "succeeded"
    intermediate = [value for value in seen if 0 < value < 100]
    assert len(intermediate) >= 3, seen  # it moved in steps, live
    assert seen == sorted(seen)
    assert shot, seen
    cost = page.locator(".batch-progress [data-figure='cost']").first.inner_text()
    assert cost.startswith("$") and cost != "$0.00"  # the fake server is priced like gpt-4o-mini + gpt-image-1
    wait_until(page, f"document.querySelectorAll('.post-card[data-status=succeeded]').length === {POSTS_PER_PAGE}")
    assert_not_reloaded(page)
    assert not Post.objects.filter(campaign=campaign).exclude(status=GenerationStatus.SUCCEEDED).exists()
    assert page.console_errors == [], page.console_errors


def test_every_page_renders_in_the_browser_without_policy_violations(page, live_server, browser, settings, tmp_path):
    """The pages not covered above, in a real browser: no Content-Security-Policy violation or script
    error anywhere, the calendar, the post page, errors tied to fields, and sign-in that works with JS off."""
    from datetime import timedelta

    from django.utils import timezone

    from generation.images import store_post_image
    from generation.providers.base import Brief
    from generation.providers.local import draw_image

    user = UserFactory(username="lee")
    campaign = CampaignFactory(owner=user, name="Holiday Gift Guide", platforms=["instagram", "facebook"])
    batch = BatchJob.objects.create(
        campaign=campaign,
        requested_count=6,
        platforms=campaign.platforms,
        status=BatchStatus.PARTIALLY_FAILED,
        succeeded_count=5,
        failed_count=1,
        provider="local",
        started_at=timezone.now() - timedelta(seconds=40),
        finished_at=timezone.now(),
        error_summary="1 failed: Content policy (1)",
    )
    brief = Brief(0, campaign.name, campaign.brief, "", "", "en", (), (), "", "#8A2BE2")
    start = timezone.localtime().replace(day=1, hour=9, minute=0, second=0, microsecond=0) + timedelta(days=32)
    posts = []
    for index in range(6):
        platform = campaign.platforms[index % 2]
        post = Post.objects.create(
            campaign=campaign,
            batch=batch,
            sequence=index,
            platform=platform,
            status=GenerationStatus.FAILED if index == 5 else GenerationStatus.SUCCEEDED,
            caption="" if index == 5 else f"Gift idea {index + 1}: something they will actually use. 🎁",
            hashtags=[] if index == 5 else ["#GiftGuide", "#Holiday"],
            headline=f"Gift idea {index + 1}",
            review_status=ReviewStatus.APPROVED if index < 2 else ReviewStatus.DRAFT,
            error_message="refused by the provider's content policy: rejected" if index == 5 else "",
            failure_reason="content_policy" if index == 5 else "",
            scheduled_at=start + timedelta(days=index * 3, hours=index) if index < 4 else None,
        )
        if index < 5:
            post.image, post.thumbnail = store_post_image(
                campaign.pk, post.pk, draw_image(brief, f"Gift idea {index + 1}", 1080, 1080, index)
            )
            post.save(update_fields=["image", "thumbnail"])
        posts.append(post)

    # Sign-in works without JavaScript too.
    plain = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, java_script_enabled=False)
    plain_page = plain.new_page()
    plain_page.goto("/")
    plain_page.get_by_label("Username").fill(user.username)
    plain_page.get_by_label("Password").fill("wrong")
    plain_page.get_by_role("button", name="Sign in").click()
    assert "Please enter a correct username and password" in plain_page.content()
    screenshot(plain_page, "sign-in")
    plain_page.get_by_label("Password").fill(PASSWORD)
    plain_page.get_by_role("button", name="Sign in").click()
    plain_page.wait_for_url(re.compile(r"/$"))
    # ... and so do the basic post actions: a plain form POST and a redirect.
    plain_page.goto(posts[2].get_absolute_url())
    plain_page.get_by_role("button", name="Approve").click()
    plain_page.wait_for_url(f"**{posts[2].get_absolute_url()}")
    assert "Post marked approved." in plain_page.content()
    plain.close()

    sign_in(page, user)
    page.goto(reverse("campaigns:calendar", args=[campaign.pk]) + f"?month={start:%Y-%m}")
    assert page.locator(".calendar li").count() == 4
    screenshot(page, "calendar")
    page.goto(posts[0].get_absolute_url())
    screenshot(page, "post-detail")
    page.goto(batch.get_absolute_url())
    assert page.locator(".batch-progress").get_attribute("data-status") == "partially_failed"
    assert page.get_by_role("button", name="Retry 1 failed").is_visible()
    page.goto(reverse("campaigns:update", args=[campaign.pk]))
    page.get_by_label("Name").fill("")
    page.get_by_label("Instagram").uncheck()
    page.get_by_label("Facebook").uncheck()
    page.get_by_role("button", name="Save changes").click()
    name_input = page.get_by_label("Name")
    assert name_input.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{name_input.get_attribute('aria-describedby')}").inner_text() == "This field is required."
    page.goto(campaign.get_absolute_url())
    assert_htmx_is_loaded(page)
    card = page.locator(f"#post-{posts[0].pk}")
    card.get_by_text("More").click()
    card.get_by_label(re.compile("Schedule")).fill("2001-01-01T10:00")
    card.get_by_role("button", name="Save time").click()
    page.locator(f"#post-{posts[0].pk}").get_by_text("Pick a time in the future.").wait_for()
    page.get_by_role("link", name="Password").click()
    page.get_by_label("Old password").fill("not it")
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_text("Your old password was entered incorrectly").is_visible()
    screenshot(page, "password-change")
    assert page.console_errors == [], page.console_errors


def sign_in_with_a_session(page, live_server, user) -> None:
    """A signed-in session cookie, as after the sign-in form (which the tests above go through)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def set_tab_hidden(page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background or comes back (headless tabs never hide)."""
    page.evaluate(
        """hidden => {
            const state = hidden ? "hidden" : "visible";
            Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
            Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def wait_for(page, condition, what: str, *, timeout_ms: int = 30_000) -> None:
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            pytest.fail(f"timed out after {timeout_ms} ms waiting for {what}")
        page.wait_for_timeout(100)
        waited += 100


def query_of(url: str) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("where", ["batch page", "campaign page", "admin batch page"])
def test_a_live_panel_polls_less_pauses_in_a_hidden_tab_and_stops_when_its_batch_ends(page, live_server, where):
    """Every page with the progress panel, under the strict Content-Security-Policy and with htmx's eval
    off: the panel waits longer while nothing moves, asks nothing while the tab is hidden and at once when
    it is shown, and the answer for an ended batch stops the polling."""
    owner = UserFactory(username="pat")
    campaign = CampaignFactory(owner=owner, name="Spring Sale", platforms=["instagram"])
    batch = BatchJob.objects.create(
        campaign=campaign, requested_count=10, platforms=campaign.platforms, status=BatchStatus.RUNNING
    )
    BatchJob.objects.filter(pk=batch.pk).update(succeeded_count=3)
    viewer, url = {
        "batch page": (owner, batch.get_absolute_url()),
        "campaign page": (owner, campaign.get_absolute_url()),
        "admin batch page": (StaffFactory(), reverse("admin:campaigns_batchjob_change", args=[batch.pk])),
    }[where]
    sign_in_with_a_session(page, live_server, viewer)
    # Policy violations, as the page itself reports them (the console shows them too).
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", event =>
            (window.__violations = window.__violations || []).push(event.violatedDirective))"""
    )
    # What made each of the panel's requests: its timer, or the tab being shown again. Listened to
    # from the start, so that a first poll sent before the test's next step is counted too.
    page.add_init_script(
        """window.__pollCauses = [];
        document.addEventListener("htmx:beforeRequest", event => {
            if (!event.detail.requestConfig.path.includes("/progress/")) return;
            const cause = event.detail.requestConfig.triggeringEvent;
            window.__pollCauses.push(cause && cause.type === "poll-now" ? "shown" : "timer");
        });"""
    )
    polls: list[dict] = []
    page.on("request", lambda request: "/progress/" in request.url and polls.append(query_of(request.url)))
    page.goto(url)
    assert_htmx_is_loaded(page)
    panel = page.locator(f"#batch-{batch.pk}-progress")
    assert panel.get_attribute("hx-trigger") == "every 1s, poll-now"

    # Nothing moves: the first poll waited 1 s, and its answer says to wait 2 s, the next one 4 s.
    wait_for(page, lambda: len(polls) >= 2, "two polls")
    assert [poll["wait"] for poll in polls[:2]] == ["1", "2"]
    wait_for(page, lambda: panel.get_attribute("hx-trigger") == "every 4s, poll-now", "the answer to the second poll")

    # Hidden: the next poll comes due and is skipped, and nothing is sent.
    set_tab_hidden(page, True)
    sent = len(polls)
    wait_for(page, lambda: panel.get_attribute("data-poll-paused") is not None, "a poll skipped in the hidden tab")
    assert len(polls) == sent

    # The batch ends meanwhile; showing the tab asks at once, and that answer has no trigger left.
    BatchJob.objects.filter(pk=batch.pk).update(
        status=BatchStatus.SUCCEEDED, succeeded_count=10, started_at=timezone.now(), finished_at=timezone.now()
    )
    set_tab_hidden(page, False)
    page.locator(f"#batch-{batch.pk}-progress[data-status='succeeded']").wait_for()
    assert len(polls) == sent + 1
    assert page.evaluate("window.__pollCauses") == ["timer", "timer", "shown"]
    assert panel.get_attribute("hx-trigger") is None and panel.get_attribute("data-pause-when-hidden") is None
    page.wait_for_timeout((POLL_MAX_SECONDS + 1) * 1000)  # longer than any wait the panel was ever given
    assert len(polls) == sent + 1
    assert page.evaluate("window.__violations || []") == []
    # The admin's pages link no favicon, so the browser asks for /favicon.ico: not an error of ours.
    errors = [error for error in page.console_errors if "/favicon.ico" not in error]
    assert errors == [], errors


def test_the_batch_form_tells_the_estimated_cost_as_the_count_is_typed(page, live_server, settings):
    """The estimate follows the count and the cap as they are typed (htmx, under the strict policy),
    and the form fits a 360 px screen."""
    from playwright.sync_api import expect

    settings.GENERATION_PROVIDER = "openai"  # the estimate only: nothing is generated here
    settings.OPENAI_API_KEY = "sk-not-used"
    settings.GENERATION_DEFAULT_COST_CAP_USD = Decimal("5.00")
    user = UserFactory(username="kim")
    campaign = CampaignFactory(owner=user, name="Autumn Menu", platforms=["instagram", "x"])
    sign_in(page, user)
    page.goto(reverse("campaigns:detail", args=[campaign.pk]))
    estimate = page.locator("#batch-estimate")
    assert "$0.43 for 10 posts" in estimate.inner_text()
    page.get_by_label("Number of posts").fill("500")
    expect(estimate).to_contain_text("$21.15 for 500 posts")
    expect(estimate).to_contain_text("The cap of $5.00 stops it after about 118 posts.")
    page.get_by_label("Cost cap (USD)").fill("1")
    expect(estimate).to_contain_text("The cap of $1.00 stops it after about 23 posts.")
    screenshot(page, "batch-form-estimate")
    page.set_viewport_size({"width": 360, "height": 800})
    widest = "Math.max(...[...document.querySelectorAll('#batch-form *')].map(e => e.getBoundingClientRect().right))"
    assert page.evaluate(widest) <= 360
    page.locator("#batch-form").screenshot(path=str(SCREENSHOT_DIR / "batch-form-estimate-360.png"))
    assert page.console_errors == []


def test_a_reviewer_switches_workspace_approves_and_comments_at_360_px(browser, live_server):
    """A phone-sized screen: the header's workspace switcher fits and switches on change (app.js),
    the reviewer's card offers Approve but not Edit, and a comment joins the thread in place."""
    from tests.factories import MembershipFactory, PostFactory, WorkspaceFactory
    from workspaces.roles import Role

    team = WorkspaceFactory(name="Acme marketing")
    reviewer = UserFactory(username="rita")
    CampaignFactory(owner=reviewer, name="Rita's own")  # her personal workspace comes first
    MembershipFactory(workspace=team, user=reviewer, role=Role.REVIEWER)
    campaign = CampaignFactory(workspace=team, owner=UserFactory(), name="Acme launch", platforms=["x"])
    post = PostFactory(campaign=campaign, platform="x", caption="Cold brew, hot days.")

    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, reviewer)
    assert "Rita's own" in page.content() and "Acme launch" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # On a phone the switcher is in the header's Menu, with the other items.
    assert not page.locator("#workspace-select-bar").is_visible()
    page.locator("summary", has_text="Menu").click()
    page.locator("#workspace-select-menu").select_option(label="Acme marketing")
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Acme launch").first.wait_for()
    assert page.locator("#workspace-select-menu option:checked").text_content() == "Acme marketing"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(campaign.get_absolute_url())
    assert page.get_by_role("button", name="Generate").count() == 0  # a reviewer starts no batch
    card = page.locator(f"#post-{post.pk}")
    assert card.get_by_role("link", name="Edit").count() == 0
    card.get_by_role("button", name="Approve").click()
    page.locator(f"#post-{post.pk}[data-review='approved']").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(post.get_absolute_url())
    page.get_by_label("Add a comment").fill("Approved; ship it Monday.")
    page.get_by_role("button", name="Comment").click()
    page.locator(".comment-body", has_text="ship it Monday").wait_for()
    assert "rita</strong> approved" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "post-detail-team-360")
    context.close()
    assert errors == []
