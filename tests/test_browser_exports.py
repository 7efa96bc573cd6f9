"""A ZIP export in a real browser: started from the grid, its page polls until the link, the link downloads,
on a phone-sized screen. The job runs in the test process (test_export_jobs.py runs it on a worker)."""

import zipfile

import pytest
from django.core.files.base import ContentFile

from exports.jobs import run_export
from exports.models import Export
from tests.factories import CampaignFactory, PostFactory, UserFactory
from tests.test_browser import assert_htmx_is_loaded, browser, page, screenshot, sign_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 360, "height": 740}


def test_a_zip_export_from_the_grid_to_the_download_on_a_phone(page, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    user = UserFactory()
    campaign = CampaignFactory(owner=user, name="Autumn roast")
    for n in range(3):
        post = PostFactory(campaign=campaign, platform="instagram")
        post.image.save(f"{post.pk}.jpg", ContentFile(b"\xff\xd8" + bytes([n]) * 500), save=True)
    page.set_viewport_size(PHONE)
    sign_in(page, user)
    page.goto(campaign.get_absolute_url())
    page.get_by_role("button", name="ZIP with images").click()
    page.wait_for_url("**/exports/*/")
    assert_htmx_is_loaded(page)
    assert page.get_by_text("Waiting for a worker").is_visible()
    # The page's own content fits a 360 px screen (the site header's account links are the header's affair).
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('main *')].map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= PHONE["width"]

    run_export(Export.objects.get().pk)
    link = page.get_by_role("link", name="Download the ZIP")
    link.wait_for(timeout=15_000)  # the panel polled and was replaced by the final one
    screenshot(page, "export-ready-phone")
    assert page.evaluate("document.querySelector('#export-progress').hasAttribute('hx-trigger')") is False
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("autumn-roast-posts-")
    with zipfile.ZipFile(download.path()) as archive:
        assert len([name for name in archive.namelist() if name.startswith("images/")]) == 3
    assert page.console_errors == []
