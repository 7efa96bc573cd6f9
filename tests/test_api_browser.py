"""The API's pages in a real Chromium: the docs (vendored Swagger UI) and the tokens and webhooks
pages, under the strict Content-Security-Policy, on a phone's width and a desktop's."""

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from api.tokens import hash_token
from tests import test_browser
from tests.factories import UserFactory
from webhooks import services
from webhooks.models import Event, WebhookDelivery
from workspaces.services.workspaces import personal_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The browser tests' Chromium and page fixtures, and their helpers.
browser = test_browser.browser
page = test_browser.page
screenshot = test_browser.screenshot
sign_in = test_browser.sign_in
PHONE = {"width": 360, "height": 740}


def assert_fits(page) -> None:
    """Nothing on the page (below the header, which is the base template's) is wider than the window."""
    wider = page.evaluate(
        "[...document.querySelectorAll('#main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className)"
    )
    assert wider == [], (page.url, wider)


def test_the_api_docs_render_from_our_own_files_without_policy_violations(page, live_server):
    outside = []
    page.on("request", lambda request: request.url.startswith(live_server.url) or outside.append(request.url))
    page.goto("/api/v1/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 15
    assert page.get_by_text("Start a batch").first.is_visible()
    screenshot(page, "api-docs")
    assert outside == []
    assert page.console_errors == [], page.console_errors


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 860}], ids=["phone", "desktop"])
def test_a_member_makes_sees_once_and_revokes_a_token_and_adds_a_webhook(page, live_server, settings, viewport):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    user = UserFactory(username="robin")
    page.set_viewport_size(viewport)
    sign_in(page, user)
    if viewport is PHONE:
        page.locator("summary", has_text="Menu").click()  # a phone's header folds its items into the Menu
    page.get_by_role("link", name="API").click()
    page.get_by_label("Name").fill("n8n CRM sync")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Make the token").click()
    secret = page.get_by_test_id("new-token").inner_text()
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hash_token(secret) and token.access == "write"
    assert_fits(page)
    if viewport is PHONE:
        screenshot(page, "api-tokens-phone", full_page=True)
    page.goto("/settings/api-tokens/")
    assert secret not in page.content()  # shown once
    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke the token …?"
    page.get_by_role("button", name="Revoke").click()
    assert page.get_by_text("revoked").first.is_visible()
    token.refresh_from_db()
    assert token.revoked_at is not None

    page.goto("/settings/webhooks/")
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_label("post.approved", exact=False).check()
    page.get_by_role("button", name="Add the endpoint").click()
    page.get_by_text("Show the secret").click()
    endpoint = services.endpoints_of(personal_workspace(user)).get()
    assert endpoint.secret in page.content()
    assert set(endpoint.events) == {Event.BATCH_SUCCEEDED, Event.BATCH_FAILED, Event.POST_APPROVED}
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_1",
        event=Event.POST_APPROVED,
        payload={"type": "post.approved"},
        status="failed",
        attempts=8,
        response_status=500,
        last_error="HTTP 500",
    )
    page.reload()
    assert page.get_by_role("button", name="Redeliver").is_visible()
    assert_fits(page)
    if viewport is PHONE:
        screenshot(page, "webhook-endpoint-phone", full_page=True)
    assert page.console_errors == [], page.console_errors


def test_a_member_makes_their_calendar_url_and_a_new_one_in_place(page, live_server):
    """The calendar panel's button swaps the panel in place (htmx, CSRF from <body>), asks before
    replacing a URL, and the old URL answers 404."""
    user = UserFactory(username="kim")
    sign_in(page, user)
    page.goto("/settings/api-tokens/")
    page.get_by_role("button", name="Make my calendar URL").click()
    first = page.get_by_test_id("calendar-url").inner_text()
    assert first.startswith(live_server.url + "/calendar/")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Make a new URL").click()
    page.get_by_text("Your calendar has a new URL").wait_for()
    expect(page.get_by_test_id("calendar-url")).not_to_have_text(first)  # the swap, not the first panel
    second = page.get_by_test_id("calendar-url").inner_text()
    assert second != first and second.startswith(live_server.url + "/calendar/")
    assert asked and asked[0].startswith("Make a new calendar URL?")
    assert page.request.get(first).status == 404 and page.request.get(second).status == 200
    assert page.console_errors == [], page.console_errors
