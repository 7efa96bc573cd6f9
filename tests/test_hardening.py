"""Findings of an attacker-style review ("Hardening"): each test here failed before its fix."""

import json
from decimal import Decimal

import django_rq
import pytest
from django.test import Client
from django.urls import reverse

from campaigns.forms import CampaignForm
from campaigns.models import (
    Activity,
    ActivityVerb,
    BatchJob,
    BatchStatus,
    Comment,
    GenerationStatus,
    Post,
    ReviewStatus,
)
from tests.api_support import call, make_token
from tests.factories import BatchFactory, CampaignFactory, PostFactory
from tests.support import all_at_once
from workspaces.services.workspaces import personal_workspace

HTMX = {"HX-Request": "true"}
BUDGET_REFUSAL = (
    "This batch would cost about $0.05: more than is left of the workspace&#x27;s $0.00 budget this month "
    "($0.00 spent, $0.00 left). Ask for fewer posts, or ask an owner to raise the budget."
)


def generation_queue_ids() -> list[str]:
    return django_rq.get_queue("generation").job_ids


def finished_post(campaign, **batch_fields):
    batch = BatchFactory(campaign=campaign, requested_count=1, succeeded_count=1, **batch_fields)
    return PostFactory(
        campaign=campaign,
        batch=batch,
        status=GenerationStatus.SUCCEEDED,
        review_status=ReviewStatus.APPROVED,
        caption="The words as they were.",
    )


def regenerate(client, post, capture):
    with capture(execute=True):  # what is queued on commit is queued
        return client.post(reverse("campaigns:post_regenerate", args=[post.pk]), {"part": "both"}, headers=HTMX)


def assert_regeneration_refused(client, post, refusal: str, capture) -> None:
    before = (post.status, post.review_status, post.caption, post.updated_at)
    for _ in range(5):
        response = regenerate(client, post, capture)
        assert response.status_code == 200
        assert refusal in response.content.decode()
    post.refresh_from_db()
    assert (post.status, post.review_status, post.caption, post.updated_at) == before
    assert generation_queue_ids() == []
    assert not Activity.objects.filter(verb=ActivityVerb.REGENERATED).exists()


def test_a_regeneration_is_weighed_against_the_workspaces_budget_like_a_one_post_batch(
    openai_settings, signed_in_client, user, campaign, django_capture_on_commit_callbacks
):
    workspace = personal_workspace(user)
    workspace.monthly_budget_usd = Decimal("0.00")
    workspace.save()
    post = finished_post(campaign, status=BatchStatus.SUCCEEDED)
    assert_regeneration_refused(signed_in_client, post, BUDGET_REFUSAL, django_capture_on_commit_callbacks)
    # The same words as a new batch's refusal (the API answers that one 422).
    response = signed_in_client.post(
        reverse("campaigns:batch_start", args=[campaign.pk]),
        {"count": "1", "platforms": campaign.platforms[:1]},
        headers=HTMX,
    )
    assert BUDGET_REFUSAL.replace("This batch would cost about $0.05", "") in response.content.decode()

    workspace.monthly_budget_usd = None
    workspace.save()
    regenerate(signed_in_client, post, django_capture_on_commit_callbacks)
    post.refresh_from_db()
    assert post.status == GenerationStatus.PENDING and len(generation_queue_ids()) == 1


def test_a_regeneration_in_a_running_batch_is_weighed_against_its_cost_cap(
    openai_settings, signed_in_client, campaign, django_capture_on_commit_callbacks
):
    post = finished_post(campaign, status=BatchStatus.RUNNING, cost_cap_usd=Decimal("1.00"), cost_usd=Decimal("0.98"))
    assert_regeneration_refused(
        signed_in_client,
        post,
        f"This regeneration would cost about $0.05: more than is left of batch #{post.batch_id}&#x27;s "
        "$1.00 cost cap ($0.98 spent, $0.02 left).",
        django_capture_on_commit_callbacks,
    )


# No input gives a 500: control characters.


@pytest.mark.parametrize(
    ("signed_in", "url"),
    [
        (True, "/media/posts/abc%00def.png"),
        (True, "/media/posts/abc%01def.png"),
        (False, "/calendar/abc%00def.ics"),
        (True, "/campaigns/?q=abc%00def"),
        (True, "/api/v1/posts?cursor=abc%00def"),
    ],
)
def test_a_control_character_in_a_path_or_query_string_is_a_400(client, user, signed_in, url):
    if signed_in:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert response["Content-Type"] == "application/problem+json"


def test_tab_and_new_lines_in_a_query_strings_values_are_text(signed_in_client):
    url = reverse("campaigns:list")
    assert signed_in_client.get(f"{url}?q=one%0Atwo%09three").status_code == 200
    assert signed_in_client.get(f"{url}?q=one%0Btwo").status_code == 400
    assert signed_in_client.get(f"{url}%0A/").status_code == 400


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ("a NUL \x00 here", "Null characters are not allowed."),
        ("a bell \x07 here", "Control characters are not allowed (tab and new lines are)."),
    ],
)
def test_a_control_character_in_a_comment_is_a_field_error(signed_in_client, campaign, body, refusal):
    post = PostFactory(campaign=campaign, status=GenerationStatus.SUCCEEDED)
    response = signed_in_client.post(reverse("campaigns:post_comment", args=[post.pk]), {"body": body}, headers=HTMX)
    assert response.status_code == 200
    assert refusal in response.content.decode()
    assert not Comment.objects.exists()
    # Tab, newline and carriage return are text.
    signed_in_client.post(reverse("campaigns:post_comment", args=[post.pk]), {"body": "one\tline\r\ntwo"})
    assert Comment.objects.get().body == "one\tline\r\ntwo"


def test_the_campaign_form_refuses_control_characters(signed_in_client, campaign):
    form = CampaignForm(
        data={"name": "Spring", "brief": "A brief\x01", "platforms": ["instagram"], "keywords": "a\x02b"},
        workspace=campaign.workspace,
    )
    assert not form.is_valid()
    assert "Control characters" in form.errors["brief"][0] and "Control characters" in form.errors["keywords"][0]


# No input gives a 500: the API's schemas say what each field takes.


@pytest.fixture
def token(user):
    return make_token(user, "write")


@pytest.mark.parametrize("field", ["hashtags", "keywords", "target_audience", "name", "language", "platforms"])
def test_a_patch_refuses_null_where_the_field_is_not_nullable(client, token, campaign, field):
    response = call(client, "PATCH", f"/campaigns/{campaign.pk}", token, {field: None})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["pointer"] == f"#/{field}"
    # The dates may be null: no date.
    assert call(client, "PATCH", f"/campaigns/{campaign.pk}", token, {"start_date": None}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "pointer"),
    [
        ("POST", "/campaigns/{id}/batches", {"count": True}, "#/count"),
        ("POST", "/campaigns/{id}/batches", {"count": 1.0}, "#/count"),
        ("POST", "/campaigns/{id}/batches", {"count": "1"}, "#/count"),
        ("PATCH", "/campaigns/{id}", {"start_date": 0}, "#/start_date"),
        ("PATCH", "/campaigns/{id}", {"brief": "a\x00b"}, "#/brief"),
        ("PATCH", "/campaigns/{id}", {"hashtags": ["a\x1bb"]}, "#/hashtags"),
        ("PATCH", "/campaigns/{id}", [None, None], "#"),
        ("POST", "/exports", {"campaign_id": True}, "#/campaign_id"),
    ],
)
def test_the_api_takes_each_type_strictly(client, token, campaign, method, path, body, pointer):
    before = campaign.updated_at
    response = call(client, method, path.format(id=campaign.pk), token, body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == pointer
    campaign.refresh_from_db()
    assert campaign.updated_at == before and not BatchJob.objects.exists()


@pytest.mark.parametrize("megabytes", [3, 30])
def test_an_oversized_body_is_a_413_problem(client, token, campaign, megabytes):
    body = json.dumps({"brief": "x" * (megabytes * 1024 * 1024)})
    response = client.patch(
        f"/api/v1/campaigns/{campaign.pk}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 413


# No input gives a 500: a batch started while its campaign is deleted.


@pytest.mark.django_db(transaction=True)
def test_a_batch_started_while_its_campaign_is_deleted_ends_in_a_refusal_never_a_500(user, settings):
    settings.ACTIVE_BATCHES_PER_USER = 20
    token = make_token(user, "write")
    settings.POSTS_PER_DAY_PER_USER = 1000
    # Each round is a coin toss of who gets there first; before the lock, about one round in four was a 500.
    for _ in range(15):
        campaign = CampaignFactory(owner=user)

        def start(campaign=campaign):
            return call(Client(), "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 3})

        def delete(campaign=campaign):
            browser = Client()
            browser.force_login(user)
            return browser.post(reverse("campaigns:delete", args=[campaign.pk]))

        started, deleted = all_at_once([start, delete])
        assert not isinstance(started, BaseException) and not isinstance(deleted, BaseException), (started, deleted)
        if started.status_code == 201:
            # The batch got there first: the delete is refused, with the reason, and the campaign stays.
            assert deleted.status_code == 200
            assert "A batch of this campaign is still running" in deleted.content.decode()
            assert Post.objects.filter(campaign=campaign).count() == 3
        else:
            # The delete got there first: the start is refused with a clear message, and nothing is left.
            assert started.status_code in (404, 409, 422), started.content
            assert "deleted" in started.json()["detail"] or started.status_code == 404
            assert deleted.status_code == 302
            assert not BatchJob.objects.filter(campaign_id=campaign.pk).exists()


# The small ones.


def test_the_rq_dashboards_scheduler_page_sends_a_superuser_to_the_cron_schedulers(staff_client):
    assert staff_client.get(reverse("admin:django_rq_home")).status_code == 200
    response = staff_client.get("/admin/django_rq/dashboard/schedulers/0/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("admin:django_rq_home"), 302)]
    assert "the clock runs rq&#x27;s cron scheduler, listed under Cron schedulers" in response.content.decode()
    # An index past the last queue is still a 404.
    assert staff_client.get("/admin/django_rq/dashboard/schedulers/99/").status_code == 404
