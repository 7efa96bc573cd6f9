"""No input gives a 500: control characters are refused before PostgreSQL sees them, the API takes
each type strictly and refuses null where a field is not nullable, and an oversized body is a 413."""

import json

import pytest
from django.urls import reverse

from campaigns.forms import CampaignForm
from campaigns.models import (
    BatchJob,
    Comment,
    GenerationStatus,
)
from tests.api_support import call, make_token
from tests.factories import PostFactory

HTMX = {"HX-Request": "true"}


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
