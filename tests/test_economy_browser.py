"""An economy batch from the campaign page on a 360 px phone, in Chromium, with a real worker and the
fake's Batch API: the panel follows the provider's state live, and the posts arrive."""

import pytest

from campaigns.models import BatchJob, BatchMode, BatchStatus
from tests.factories import CampaignFactory, UserFactory
from tests.test_browser import (  # noqa: F401 - the browser fixture
    CHROMIUM,
    PASSWORD,
    assert_htmx_is_loaded,
    browser,
    screenshot,
    sign_in,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.workers, pytest.mark.slow]

PHONE = {"width": 360, "height": 780}


def assert_fits(page) -> None:
    """The page does not scroll sideways on a phone (a wide table may scroll inside its own panel)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_economy_batch_from_a_phone(browser, live_server, workers, openai_settings, openai_env, fake_openai):  # noqa: F811
    fake_openai.update(batch_stage_seconds=1.5)
    economy_env = {"GENERATION_ECONOMY_POLL_SECONDS": "0.5"}
    workers.start("economy", **openai_env, **economy_env)
    user = UserFactory(password=PASSWORD)
    campaign = CampaignFactory(owner=user, platforms=["instagram", "x"])
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page, user)
        page.goto(campaign.get_absolute_url())
        assert_htmx_is_loaded(page)
        # The page, the form's mode choice included, fits a phone's width.
        assert_fits(page)
        page.get_by_label("Number of posts").fill("6")
        page.get_by_label("Economy: about half the cost, ready within 24 hours").check()
        page.get_by_role("button", name="Generate").click()
        panel = page.locator(".batch-progress").first
        panel.wait_for()
        assert "Economy" in panel.inner_text()
        # The panel shows the provider's state as the worker follows it, then the batch's end.
        wait_until(page, "document.querySelector('[data-figure=provider]')?.textContent.includes('at the provider')")
        screenshot(page, "economy-batch-phone", full_page=True)
        wait_until(page, "document.querySelector('.batch-progress')?.dataset.status === 'succeeded'", timeout_ms=90_000)
        assert_fits(page)
    finally:
        context.close()
    batch = BatchJob.objects.get(campaign=campaign)
    assert (batch.mode, batch.status, batch.succeeded_count) == (BatchMode.ECONOMY, BatchStatus.SUCCEEDED, 6)
