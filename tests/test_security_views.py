"""Who reaches what: sign-in everywhere, another user's ids answer 404, state changes need POST and the
CSRF token (htmx included), user text is escaped on every page and partial, the CSP is on every page."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post, ReviewStatus
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory

HTMX = {"HX-Request": "true"}
PAYLOAD = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def things(user):
    """A campaign of `user` with a finished batch, a failed post and a ready post."""
    campaign = CampaignFactory(owner=user)
    batch = BatchFactory(
        campaign=campaign, status=BatchStatus.PARTIALLY_FAILED, requested_count=2, succeeded_count=1, failed_count=1
    )
    post = PostFactory(campaign=campaign, batch=batch, platform="x", caption="Ready one.")
    PostFactory(campaign=campaign, batch=batch, status=GenerationStatus.FAILED, caption="")
    return campaign, batch, post


def id_pages(campaign, batch, post) -> list[str]:
    """Every GET URL that takes an id."""
    return [
        reverse("campaigns:detail", args=[campaign.pk]),
        reverse("campaigns:update", args=[campaign.pk]),
        reverse("campaigns:delete", args=[campaign.pk]),
        reverse("campaigns:posts", args=[campaign.pk]),
        reverse("campaigns:batch_history", args=[campaign.pk]),
        reverse("campaigns:calendar", args=[campaign.pk]),
        reverse("exports:export_csv", args=[campaign.pk]),
        reverse("campaigns:batch_detail", args=[batch.pk]),
        reverse("campaigns:batch_progress", args=[batch.pk]),
        reverse("campaigns:post_detail", args=[post.pk]),
        reverse("campaigns:post_card", args=[post.pk]),
        reverse("campaigns:post_edit", args=[post.pk]),
    ]


def id_actions(campaign, batch, post) -> list[tuple[str, dict]]:
    """Every state-changing URL that takes an id, with data that would succeed for the owner."""
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return [
        (
            reverse("campaigns:update", args=[campaign.pk]),
            {"name": "Renamed", "brief": "b", "platforms": ["x"], "language": "en", "brand_color": "#000000"},
        ),
        (reverse("campaigns:batch_start", args=[campaign.pk]), {"count": 3, "platforms": ["x"]}),
        (reverse("exports:export_zip", args=[campaign.pk]), {}),
        (reverse("campaigns:batch_cancel", args=[batch.pk]), {}),
        (reverse("campaigns:batch_retry", args=[batch.pk]), {}),
        (reverse("campaigns:post_edit", args=[post.pk]), {"caption": "Changed", "hashtags": ""}),
        (reverse("campaigns:post_review", args=[post.pk]), {"decision": "approved"}),
        (reverse("campaigns:post_regenerate", args=[post.pk]), {"part": "caption"}),
        (reverse("campaigns:post_schedule", args=[post.pk]), {"scheduled_at": tomorrow}),
        (reverse("campaigns:post_comment", args=[post.pk]), {"body": "Looks good."}),
        (reverse("campaigns:post_reschedule", args=[post.pk]), {"date": tomorrow[:10]}),
        (reverse("campaigns:posts_bulk", args=[campaign.pk]), {"action": "reject", "post": [post.pk]}),
        (reverse("campaigns:duplicate", args=[campaign.pk]), {}),
        (reverse("campaigns:post_delete", args=[post.pk]), {}),
        (reverse("campaigns:delete", args=[campaign.pk]), {}),  # last: it takes everything with it
    ]


def no_id_actions() -> list[tuple[str, dict]]:
    return [
        (
            reverse("campaigns:create"),
            {"name": "New", "brief": "b", "platforms": ["x"], "language": "en", "brand_color": "#000000"},
        ),
        (reverse("campaigns:preview"), {"name": "New", "brief": "b", "platforms": ["x"]}),
        (reverse("accounts:settings"), {"time_zone": "Asia/Tokyo"}),
        (reverse("exports:calendar_feed_new_url"), {}),
    ]


def snapshot() -> tuple:
    """Everything an action could change, to show that a refused one changed nothing."""
    return (
        list(Campaign.objects.order_by("pk").values_list("pk", "name", "updated_at")),
        list(BatchJob.objects.order_by("pk").values_list("pk", "status", "failed_count")),
        list(Post.objects.order_by("pk").values_list("pk", "status", "review_status", "caption", "scheduled_at")),
    )


# ---------- signed out ----------


def test_signed_out_every_page_and_action_sends_to_sign_in(client, things):
    campaign, batch, post = things
    login = reverse("login")
    pages = [reverse("campaigns:list"), reverse("campaigns:create"), *id_pages(campaign, batch, post)]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(f"{login}?next="), url
    before = snapshot()
    for url, data in id_actions(campaign, batch, post) + no_id_actions():
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    assert snapshot() == before


def test_signed_out_htmx_requests_send_the_whole_tab_to_sign_in(client, things):
    campaign, batch, post = things
    headers = {**HTMX, "HX-Current-URL": f"http://testserver{campaign.get_absolute_url()}"}
    response = client.get(reverse("campaigns:batch_progress", args=[batch.pk]), headers=headers)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=%2Fcampaigns%2F{campaign.pk}%2F"
    response = client.post(reverse("campaigns:post_review", args=[post.pk]), {"decision": "approved"}, headers=headers)
    assert "HX-Redirect" in response.headers
    post.refresh_from_db()
    assert post.review_status == ReviewStatus.DRAFT


# ---------- another user ----------


def test_another_users_ids_answer_404_everywhere(client, things):
    campaign, batch, post = things
    client.force_login(UserFactory())
    for url in id_pages(campaign, batch, post):
        for headers in ({}, HTMX):
            assert client.get(url, headers=headers).status_code == 404, url
    before = snapshot()
    for url, data in id_actions(campaign, batch, post):
        for headers in ({}, HTMX):
            response = client.post(url, data, headers=headers)
            assert response.status_code == 404, url
            assert campaign.name not in response.content.decode()
    assert snapshot() == before


def test_ids_that_do_not_exist_answer_404(signed_in_client):
    for name in (
        "campaigns:detail",
        "campaigns:calendar",
        "exports:export_csv",
        "campaigns:batch_detail",
        "campaigns:batch_progress",
        "campaigns:post_detail",
        "campaigns:post_card",
    ):
        assert signed_in_client.get(reverse(name, args=[987654321])).status_code == 404


# ---------- POST only ----------


def test_state_changing_urls_refuse_get(signed_in_client, things):
    campaign, batch, post = things
    post_only = [
        reverse("campaigns:preview"),
        reverse("campaigns:batch_start", args=[campaign.pk]),
        reverse("campaigns:batch_cancel", args=[batch.pk]),
        reverse("campaigns:batch_retry", args=[batch.pk]),
        reverse("campaigns:post_review", args=[post.pk]),
        reverse("campaigns:post_regenerate", args=[post.pk]),
        reverse("campaigns:post_schedule", args=[post.pk]),
        reverse("campaigns:post_delete", args=[post.pk]),
        reverse("campaigns:post_comment", args=[post.pk]),
        reverse("workspaces:workspace_switch"),
        reverse("workspaces:workspace_settings"),
        reverse("workspaces:member_remove", args=[1]),
        reverse("campaigns:post_reschedule", args=[post.pk]),
        reverse("campaigns:posts_bulk", args=[campaign.pk]),
        reverse("campaigns:duplicate", args=[campaign.pk]),
        reverse("logout"),
    ]
    before = snapshot()
    for url in post_only:
        for headers in ({}, HTMX):
            assert signed_in_client.get(url, headers=headers).status_code == 405, url
        assert signed_in_client.put(url).status_code == 405, url
        assert signed_in_client.delete(url).status_code == 405, url
    # The pages that show a form (edit, delete) change nothing on GET either.
    for url in id_pages(campaign, batch, post):
        signed_in_client.get(url)
    assert snapshot() == before
    for url in (reverse("campaigns:detail", args=[campaign.pk]), reverse("campaigns:list")):
        assert signed_in_client.post(url).status_code == 405


# ---------- CSRF ----------


@pytest.fixture
def csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_every_state_change_needs_the_csrf_token(csrf_client, things):
    campaign, batch, post = things
    before = snapshot()
    for url, data in id_actions(campaign, batch, post) + no_id_actions():
        for headers in ({}, HTMX):
            response = csrf_client.post(url, data, headers=headers)
            assert response.status_code == 403, url
    assert csrf_client.post(reverse("logout")).status_code == 403
    assert snapshot() == before


def test_htmx_requests_with_the_token_from_the_page_succeed(csrf_client, things):
    campaign, batch, post = things
    page = csrf_client.get(campaign.get_absolute_url()).content.decode()
    # The page hands htmx the token on <body>; htmx sends it on every request as x-csrftoken.
    token = re.search(r"<body hx-headers='\{\"x-csrftoken\": \"([^\"]+)\"\}'", page).group(1)
    headers = {**HTMX, "X-CSRFToken": token}
    for url, data in id_actions(campaign, batch, post) + no_id_actions():
        response = csrf_client.post(url, data, headers=headers)
        assert response.status_code in (200, 302), (url, response.status_code)
    # Without htmx, the token in the form field works the same.
    campaign = CampaignFactory(owner=post.campaign.owner)
    form_page = csrf_client.get(reverse("campaigns:update", args=[campaign.pk])).content.decode()
    field_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
    response = csrf_client.post(reverse("campaigns:delete", args=[campaign.pk]), {"csrfmiddlewaretoken": field_token})
    assert response.status_code == 302 and not Campaign.objects.filter(pk=campaign.pk).exists()


@pytest.mark.parametrize("where", ["batch page", "progress poll"])
def test_the_progress_panels_cancel_form_carries_a_working_token(csrf_client, user, where):
    # The panel is drawn on the page and alone in a poll answer: both must carry a token Django accepts.
    batch = BatchFactory(campaign=CampaignFactory(owner=user), status=BatchStatus.RUNNING, requested_count=3)
    if where == "batch page":
        html = csrf_client.get(batch.get_absolute_url()).content.decode()
    else:
        html = csrf_client.get(reverse("campaigns:batch_progress", args=[batch.pk]), headers=HTMX).content.decode()
    cancel_form = html[html.index('action="' + reverse("campaigns:batch_cancel", args=[batch.pk])) :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', cancel_form.split("</form>")[0]).group(1)
    response = csrf_client.post(reverse("campaigns:batch_cancel", args=[batch.pk]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELED


# ---------- escaping ----------


def test_user_text_is_escaped_on_every_page_and_partial(signed_in_client, user, settings):
    campaign = CampaignFactory(
        owner=user,
        name=f"Launch {PAYLOAD}",
        brief=f"Sell coffee. {PAYLOAD}",
        target_audience=PAYLOAD,
        tone=PAYLOAD,
        keywords=[PAYLOAD],
        hashtags=[PAYLOAD],
        call_to_action=PAYLOAD,
    )
    batch = BatchFactory(campaign=campaign, status=BatchStatus.FAILED, error_summary=PAYLOAD, failed_count=1)
    post = PostFactory(
        campaign=campaign,
        batch=batch,
        platform="instagram",
        caption=PAYLOAD,
        hashtags=[PAYLOAD],
        headline=PAYLOAD,
        error_message=PAYLOAD,
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    month = timezone.localtime(post.scheduled_at).strftime("%Y-%m")
    pages = [
        (reverse("campaigns:list"), {}, {}),
        (reverse("campaigns:list"), {"q": "Launch"}, HTMX),
        (campaign.get_absolute_url(), {}, {}),
        (reverse("campaigns:posts", args=[campaign.pk]), {}, HTMX),
        (reverse("campaigns:update", args=[campaign.pk]), {}, {}),
        (reverse("campaigns:delete", args=[campaign.pk]), {}, {}),
        (reverse("campaigns:calendar", args=[campaign.pk]), {"month": month}, {}),
        (batch.get_absolute_url(), {}, {}),
        (reverse("campaigns:batch_progress", args=[batch.pk]), {}, HTMX),
        (post.get_absolute_url(), {}, {}),
        (reverse("campaigns:post_card", args=[post.pk]), {}, HTMX),
        (reverse("campaigns:post_edit", args=[post.pk]), {}, HTMX),
    ]
    for url, query, headers in pages:
        html = signed_in_client.get(url, query, headers=headers).content.decode()
        assert PAYLOAD not in html, url
        assert ESCAPED in html, url
    # What comes back from forms and the preview is escaped too.
    data = {"name": PAYLOAD, "brief": f"Goal. {PAYLOAD}", "platforms": ["x"], "language": "en", "tone": PAYLOAD}
    for url, headers in ((reverse("campaigns:preview"), HTMX), (reverse("campaigns:create"), {})):
        html = signed_in_client.post(url, {**data, "brand_color": "bad"}, headers=headers).content.decode()
        assert PAYLOAD not in html, url
    html = signed_in_client.post(reverse("campaigns:preview"), data, headers=HTMX).content.decode()
    assert PAYLOAD not in html and "&lt;script&gt;" in html
    edit = signed_in_client.post(
        reverse("campaigns:post_edit", args=[post.pk]), {"caption": "x" * 2300, "hashtags": PAYLOAD}, headers=HTMX
    )
    assert PAYLOAD not in edit.content.decode()


# ---------- headers ----------


def test_the_content_security_policy_is_on_every_page(client, signed_in_client, things):
    campaign, batch, post = things
    for url in (reverse("login"), "/no-such-page/"):
        assert client.get(url)["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    pages = [reverse("campaigns:list"), reverse("campaigns:create"), *id_pages(campaign, batch, post)]
    for url in pages:
        for headers in ({}, HTMX):
            response = signed_in_client.get(url, headers=headers)
            assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, url
    policy = settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe-inline" not in policy


def test_pages_carry_no_inline_script_or_style(signed_in_client, things):
    """The policy would block them: everything is in static files and classes."""
    campaign, batch, post = things
    for url in [reverse("campaigns:list"), reverse("campaigns:create"), *id_pages(campaign, batch, post)[:5]]:
        html = signed_in_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html and " style=" not in html and " onclick=" not in html, url
        assert "hx-on" not in html, url  # needs eval, which the policy forbids


# ---------- sign in and out ----------


def test_sign_in_and_out(client, user):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:list")
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # signing out is a POST
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("campaigns:list")).status_code == 302


def test_a_marketer_changes_their_password_on_the_apps_own_pages(client, user):
    other_browser = Client()
    other_browser.force_login(user)
    client.force_login(user)
    page = client.get(reverse("password_change")).content.decode()
    assert 'class="panel auth-card"' in page and "Django administration" not in page
    assert f'href="{reverse("password_change")}"' in client.get(reverse("campaigns:list")).content.decode()

    refused = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"},
    )
    assert refused.status_code == 200 and "Your old password was entered incorrectly" in refused.content.decode()

    changed = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-new-long-pass-42",
            "new_password2": "a-new-long-pass-42",
        },
    )
    assert changed.status_code == 302 and changed["Location"] == reverse("password_change_done")
    done = client.get(changed["Location"]).content.decode()
    assert "Password changed" in done and "Django administration" not in done
    # This browser stays signed in; the other one is signed out; the new password works.
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert other_browser.get(reverse("campaigns:list")).status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-long-pass-42")


def test_a_wrong_password_shows_an_error(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
