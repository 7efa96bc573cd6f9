"""The JSON API: tokens, problem details, idempotency, pagination, rate limits, exports."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiToken
from api.tokens import hash_token
from campaigns.models import BatchJob, GenerationStatus, Post, ReviewStatus
from campaigns.services import batch_start_once
from exports.jobs import run_export
from exports.models import Export, ExportStatus
from tests.api_support import call, make_token
from tests.factories import BatchFactory, CampaignFactory, PostFactory, UserFactory
from tests.support import all_at_once, run_manage
from workspaces.services.workspaces import personal_workspace

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_hashed_shown_once_and_records_its_last_use(client, user):
    secret = make_token(user, "read")
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hash_token(secret) and secret not in token.key_hash
    assert token.last_used_at is None
    assert call(client, "GET", "/campaigns", secret).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_requests_without_a_valid_token_are_401_problems(client, user):
    secret = make_token(user)
    for header in (None, "cp_not-a-token", secret[:-2] + "xx"):
        response = call(client, "GET", "/campaigns", header)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_a_revoked_token_or_an_inactive_user_is_refused(client, user):
    secret = make_token(user)
    token = ApiToken.objects.get(user=user)
    token.revoked_at = timezone.now()
    token.save()
    assert call(client, "GET", "/campaigns", secret).status_code == 401
    other = make_token(user)
    user.is_active = False
    user.save()
    assert call(client, "GET", "/campaigns", other).status_code == 401


def test_a_read_token_reads_and_cannot_write(client, user):
    campaign = CampaignFactory(owner=user)
    read = make_token(user, "read")
    assert call(client, "GET", f"/campaigns/{campaign.pk}", read).status_code == 200
    response = call(client, "POST", f"/campaigns/{campaign.pk}/batches", read, {"count": 2})
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not BatchJob.objects.exists()


def test_another_users_things_are_404(client, user, other_user):
    theirs = CampaignFactory(owner=other_user)
    batch = BatchFactory(campaign=theirs)
    post = PostFactory(campaign=theirs)
    token = make_token(user)
    for method, path, body in [
        ("GET", f"/campaigns/{theirs.pk}", None),
        ("PATCH", f"/campaigns/{theirs.pk}", {"name": "Mine now"}),
        ("POST", f"/campaigns/{theirs.pk}/batches", {"count": 1}),
        ("GET", f"/batches/{batch.pk}", None),
        ("POST", f"/batches/{batch.pk}/cancel", None),
        ("GET", f"/posts/{post.pk}", None),
        ("POST", f"/posts/{post.pk}/approve", None),
        ("POST", "/exports", {"campaign_id": theirs.pk}),
    ]:
        response = call(client, method, path, token, body)
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == "application/problem+json"
    assert call(client, "GET", "/posts", token).json()["items"] == []
    assert call(client, "GET", "/campaigns", token).json() == []
    theirs.refresh_from_db()
    assert theirs.name != "Mine now" and BatchJob.objects.count() == 1


def test_bad_input_is_a_422_problem_with_field_errors_and_writes_nothing(client, user):
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    response = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 0, "platforms": ["myspace"]})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] and problem["status"] == 422
    assert {error["pointer"] for error in problem["errors"]} >= {"#/count", "#/platforms/0"}
    # A rule the model checks (a name taken) comes back as a field error too.
    response = call(client, "POST", "/campaigns", token, {"name": campaign.name, "brief": "b", "platforms": ["x"]})
    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == ["#"]
    response = call(client, "GET", "/posts?limit=0", token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "limit"
    response = call(client, "GET", "/posts?cursor=nope", token)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"parameter": "cursor", "detail": "This cursor is not one the API gave."}]
    assert not BatchJob.objects.exists()


def test_campaigns_create_read_update_and_list(client, user):
    token = make_token(user)
    response = call(
        client,
        "POST",
        "/campaigns",
        token,
        {"name": "Spring", "brief": "Fresh flowers", "platforms": ["instagram", "x"], "language": "fr"},
    )
    assert response.status_code == 201
    created = response.json()
    assert created["platforms"] == ["instagram", "x"] and created["language"] == "fr"
    response = call(client, "PATCH", f"/campaigns/{created['id']}", token, {"tone": "warm"})
    assert response.status_code == 200 and response.json()["tone"] == "warm"
    assert response.json()["name"] == "Spring"  # fields not sent are kept
    assert [c["name"] for c in call(client, "GET", "/campaigns?search=spr", token).json()] == ["Spring"]


def test_the_same_idempotency_key_and_body_return_the_same_batch(client, user):
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    body = {"count": 3, "platforms": ["x"]}
    first = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, body, idempotency_key="crm-42")
    again = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, body, idempotency_key="crm-42")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    assert BatchJob.objects.count() == 1 and Post.objects.count() == 3


def test_an_idempotency_key_replays_within_its_window_and_starts_a_new_batch_after_it(client, user, settings):
    settings.API_IDEMPOTENCY_HOURS = 24
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    path = f"/campaigns/{campaign.pk}/batches"
    first = call(client, "POST", path, token, {"count": 2}, idempotency_key="crm-7").json()
    BatchJob.objects.filter(pk=first["id"]).update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    again = call(client, "POST", path, token, {"count": 2}, idempotency_key="crm-7")
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first["id"]

    BatchJob.objects.filter(pk=first["id"]).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    later = call(client, "POST", path, token, {"count": 2}, idempotency_key="crm-7")
    assert later.status_code == 201 and "Idempotent-Replayed" not in later
    assert later.json()["id"] != first["id"]
    # The old batch let go of the key; the new one holds it and replays it from now on.
    old = BatchJob.objects.get(pk=first["id"])
    assert old.idempotency_key == "" and old.idempotency_fingerprint == ""
    replay = call(client, "POST", path, token, {"count": 2}, idempotency_key="crm-7")
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == later.json()["id"]
    assert BatchJob.objects.count() == 2 and Post.objects.count() == 4


def test_an_expired_idempotency_key_with_another_body_starts_a_batch_instead_of_a_409(client, user, settings):
    settings.API_IDEMPOTENCY_HOURS = 1
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    path = f"/campaigns/{campaign.pk}/batches"
    first = call(client, "POST", path, token, {"count": 3}, idempotency_key="crm-8").json()
    BatchJob.objects.filter(pk=first["id"]).update(created_at=timezone.now() - timedelta(hours=2))
    response = call(client, "POST", path, token, {"count": 1}, idempotency_key="crm-8")
    assert response.status_code == 201 and response.json()["requested_count"] == 1
    assert BatchJob.objects.get(idempotency_key="crm-8").pk == response.json()["id"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key_state", ["new", "expired"])
def test_requests_racing_with_one_key_all_end_on_one_new_batch(user, settings, key_state):
    """Four clients retrying the same request at once, on a key never used or on one that expired."""
    settings.API_IDEMPOTENCY_HOURS = 1
    campaign = CampaignFactory(owner=user)

    def start() -> tuple[BatchJob, bool]:
        return batch_start_once(idempotency_key="crm-9", campaign=campaign, count=2, actor=user)

    old = None
    if key_state == "expired":
        old, _ = start()
        BatchJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    results = all_at_once([start] * 4)
    assert all(isinstance(result, tuple) for result in results), results
    answers = [(batch.pk, replayed) for batch, replayed in results]
    keyed = BatchJob.objects.get(idempotency_key="crm-9")
    assert {pk for pk, _ in answers} == {keyed.pk}
    assert sorted(replayed for _, replayed in answers) == [False, True, True, True]
    assert BatchJob.objects.exclude(pk=getattr(old, "pk", None)).count() == 1
    assert Post.objects.filter(batch=keyed).count() == 2
    if old is not None:
        assert keyed.pk != old.pk
        old.refresh_from_db()
        assert (old.idempotency_key, old.idempotency_fingerprint) == ("", "")


def test_the_same_idempotency_key_with_another_body_is_a_409(client, user):
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 3}, idempotency_key="crm-42")
    response = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 4}, idempotency_key="crm-42")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("idempotency-conflict")
    assert BatchJob.objects.count() == 1 and Post.objects.count() == 3
    # Without a key every request starts a batch.
    call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 1})
    call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 1})
    assert BatchJob.objects.count() == 3


def test_batch_progress_cancel_and_retry(client, user):
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    batch = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 4}).json()
    progress = call(client, "GET", f"/batches/{batch['id']}", token).json()
    assert progress["status"] == "queued" and progress["requested_count"] == 4 and progress["done_count"] == 0
    canceled = call(client, "POST", f"/batches/{batch['id']}/cancel", token)
    assert canceled.status_code == 200 and canceled.json()["canceled"] == 4
    assert canceled.json()["batch"]["status"] == "canceled"
    again = call(client, "POST", f"/batches/{batch['id']}/cancel", token)
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert call(client, "POST", f"/batches/{batch['id']}/retry-failed", token).status_code == 409
    failed = BatchFactory(campaign=campaign, status="partially_failed", requested_count=2, failed_count=1)
    PostFactory(campaign=campaign, batch=failed, status=GenerationStatus.FAILED, sequence=0)
    retried = call(client, "POST", f"/batches/{failed.pk}/retry-failed", token)
    assert retried.status_code == 200 and retried.json()["retried"] == 1
    assert retried.json()["batch"]["status"] == "running"


def test_posts_are_paged_by_cursor_without_gaps_or_repeats_while_posts_are_added(client, user):
    campaign = CampaignFactory(owner=user)
    posts = PostFactory.create_batch(7, campaign=campaign)
    token = make_token(user)
    seen: list[int] = []
    cursor = ""
    while True:
        page = call(client, "GET", f"/posts?campaign_id={campaign.pk}&limit=3{cursor}", token).json()
        seen += [item["id"] for item in page["items"]]
        if len(seen) == 3:
            PostFactory(campaign=campaign)  # a newer post does not shift the pages after the cursor
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(post.pk for post in posts)
    assert len(seen) == len(set(seen))


def test_canceled_posts_are_listed_only_when_asked_for(client, user):
    campaign = CampaignFactory(owner=user)
    made = PostFactory(campaign=campaign)
    canceled = PostFactory(campaign=campaign, status=GenerationStatus.CANCELED, caption="")
    token = make_token(user)
    listed = call(client, "GET", f"/posts?campaign_id={campaign.pk}", token).json()["items"]
    assert [item["id"] for item in listed] == [made.pk]
    asked = call(client, "GET", f"/posts?campaign_id={campaign.pk}&status=canceled", token).json()["items"]
    assert [item["id"] for item in asked] == [canceled.pk]


def test_posts_filters(client, user):
    campaign = CampaignFactory(owner=user)
    approved = PostFactory(campaign=campaign, review_status=ReviewStatus.APPROVED, platform="x")
    PostFactory(campaign=campaign, platform="instagram")
    failed = PostFactory(campaign=campaign, status=GenerationStatus.FAILED, platform="x")
    token = make_token(user)

    def ids(query: str) -> set[int]:
        return {item["id"] for item in call(client, "GET", f"/posts?{query}", token).json()["items"]}

    assert ids("review=approved") == {approved.pk}
    assert ids("platform=x") == {approved.pk, failed.pk}
    assert ids("status=failed&platform=x") == {failed.pk}


def test_a_post_is_edited_approved_rejected_and_scheduled(client, user):
    post = PostFactory(campaign=CampaignFactory(owner=user), platform="x")
    token = make_token(user)
    response = call(client, "PATCH", f"/posts/{post.pk}", token, {"caption": "Fresh caption"})
    assert response.status_code == 200 and response.json()["caption"] == "Fresh caption"
    response = call(client, "PATCH", f"/posts/{post.pk}", token, {"caption": "x" * 300})
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "#/caption"
    assert call(client, "POST", f"/posts/{post.pk}/approve", token).json()["review_status"] == "approved"
    assert call(client, "POST", f"/posts/{post.pk}/reject", token).json()["review_status"] == "rejected"
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = call(client, "PUT", f"/posts/{post.pk}/schedule", token, {"scheduled_at": when.isoformat()})
    assert response.status_code == 200
    post.refresh_from_db()
    assert post.scheduled_at == when and post.caption == "Fresh caption"
    past = call(client, "PUT", f"/posts/{post.pk}/schedule", token, {"scheduled_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["errors"][0]["pointer"] == "#/scheduled_at"
    assert call(client, "PUT", f"/posts/{post.pk}/schedule", token, {"scheduled_at": None}).status_code == 200
    busy = PostFactory(campaign=post.campaign, status=GenerationStatus.PENDING)
    assert call(client, "POST", f"/posts/{busy.pk}/approve", token).status_code == 409


def test_an_export_gives_a_link_that_downloads_the_filtered_csv_until_it_expires(client, user, settings):
    campaign = CampaignFactory(owner=user)
    approved = PostFactory(campaign=campaign, review_status=ReviewStatus.APPROVED)
    PostFactory(campaign=campaign)
    token = make_token(user, "read")
    response = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk, "review": "approved"})
    assert response.status_code == 201
    export = response.json()
    assert export["status"] == "ready"
    assert call(client, "GET", f"/exports/{export['id']}", token).json()["url"] == export["url"]
    download = client.get(export["url"])  # no token: the link is the credential, until it expires
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert [int(row["post_id"]) for row in rows] == [approved.pk]
    assert client.get(export["url"].replace(export["id"], export["id"] + "x")).status_code == 404
    settings.API_EXPORT_LINK_SECONDS = -1
    expired = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk}).json()
    assert client.get(expired["url"]).status_code == 404


def with_image(post):
    post.image.save(f"{post.pk}.jpg", ContentFile(b"\xff\xd8" + bytes([post.pk % 256]) * 500), save=True)
    return post


def test_a_zip_export_is_started_polled_and_downloaded_from_a_link_that_expires(client, user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = CampaignFactory(owner=user, name="Harvest")
    on_x = [with_image(PostFactory(campaign=campaign, platform="x")) for _ in range(2)]
    with_image(PostFactory(campaign=campaign, platform="instagram"))
    token = make_token(user, "read")
    response = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk, "format": "zip", "platform": "x"})
    assert response.status_code == 201
    started = response.json()
    assert started["format"] == "zip" and started["status"] == "queued"
    assert started["id"] == str(Export.objects.get().pk) and started["url"] is None
    path = f"/exports/{started['id']}"
    assert call(client, "GET", path, token).json()["status"] == "queued"

    run_export(int(started["id"]))  # what the worker does
    ready = call(client, "GET", path, token).json()
    assert ready["status"] == "ready" and (ready["done_count"], ready["total_count"]) == (2, 2)
    assert ready["error"] is None and ready["url"].startswith("http://testserver/api/v1/exports/")
    download = client.get(ready["url"])  # no token: the signed link is the credential, as a CSV's
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith('attachment; filename="harvest-posts-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == sorted(["posts.csv"] + [f"images/x-{post.pk}.jpg" for post in on_x])

    # The number alone, a forged link, or another export's link open nothing.
    assert client.get(f"/api/v1{path}/download").status_code == 404
    assert client.get(ready["url"] + "x").status_code == 404
    other = Export.objects.create(campaign=campaign, download_name="other.zip")
    assert client.get(ready["url"].replace(f"/exports/{started['id']}/", f"/exports/{other.pk}/")).status_code == 404
    # Nobody else reads it (a CSV's link is its own: a ZIP's number is not).
    assert call(client, "GET", path, make_token(UserFactory())).status_code == 404

    settings.API_EXPORT_LINK_SECONDS = -1  # the link expires before the file
    stale = call(client, "GET", path, token).json()["url"]
    assert client.get(stale).status_code == 404
    settings.API_EXPORT_LINK_SECONDS = 3600
    Export.objects.filter(pk=started["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = call(client, "GET", path, token).json()
    assert expired["status"] == "expired" and expired["url"] is None
    assert client.get(ready["url"]).status_code == 404


def test_a_zip_export_that_failed_or_stalled_says_so(client, user):
    campaign = CampaignFactory(owner=user)
    token = make_token(user, "read")
    failed = Export.objects.create(
        campaign=campaign,
        download_name="x.zip",
        status=ExportStatus.FAILED,
        error_message="The export failed (OSError).",
    )
    answer = call(client, "GET", f"/exports/{failed.pk}", token).json()
    assert answer["status"] == "failed" and answer["error"] == "The export failed (OSError)."
    stalled = Export.objects.create(campaign=campaign, download_name="y.zip", status=ExportStatus.RUNNING)
    Export.objects.filter(pk=stalled.pk).update(created_at=timezone.now() - timedelta(days=1))
    answer = call(client, "GET", f"/exports/{stalled.pk}", token).json()
    assert answer["status"] == "failed" and "did not finish" in answer["error"]
    for unknown in ("9223372036854775808", "²", "١"):
        assert call(client, "GET", f"/exports/{unknown}", token).status_code == 404
        assert client.get(f"/api/v1/exports/{unknown}/download?link=x").status_code == 404


def test_where_approval_is_required_an_export_holds_only_approved_posts(client, user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    workspace = personal_workspace(user)
    workspace.approval_required = True
    workspace.save()
    campaign = CampaignFactory(owner=user, workspace=workspace)
    approved = PostFactory(campaign=campaign, review_status=ReviewStatus.APPROVED)
    PostFactory(campaign=campaign)  # a draft
    PostFactory(campaign=campaign, review_status=ReviewStatus.REJECTED)
    token = make_token(user, "read")
    export = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk}).json()
    rows = list(csv.DictReader(io.StringIO(b"".join(client.get(export["url"]).streaming_content).decode("utf-8-sig"))))
    assert [int(row["post_id"]) for row in rows] == [approved.pk]
    # The ZIP's job applies the same rule.
    started = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk, "format": "zip"}).json()
    run_export(int(started["id"]))
    ready = call(client, "GET", f"/exports/{started['id']}", token).json()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(ready["url"]).streaming_content)))
    rows = list(csv.DictReader(io.StringIO(archive.read("posts.csv").decode("utf-8-sig"))))
    assert [int(row["post_id"]) for row in rows] == [approved.pk]


def test_past_the_export_limit_a_start_is_a_429_problem_with_retry_after(client, user, settings):
    settings.EXPORTS_PER_MINUTE = 2
    campaign = CampaignFactory(owner=user)
    token = make_token(user, "read")
    for format in ("csv", "zip"):
        assert (
            call(client, "POST", "/exports", token, {"campaign_id": campaign.pk, "format": format}).status_code == 201
        )
    for format in ("csv", "zip"):
        response = call(client, "POST", "/exports", token, {"campaign_id": campaign.pk, "format": format})
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/limit-reached") and "2 exports a minute" in problem["detail"]
        assert 1 <= int(response["Retry-After"]) <= 60
    assert Export.objects.count() == 1  # the refused ZIP queued nothing


def test_usage_reports_this_months_spend_and_the_limits(client, user, settings):
    campaign = CampaignFactory(owner=user)
    BatchFactory(campaign=campaign, requested_count=5, cost_usd="1.25")
    BatchFactory(campaign=campaign, requested_count=3, cost_usd="0.50")
    BatchFactory(campaign=CampaignFactory(), requested_count=9, cost_usd="9")  # someone else's
    usage = call(client, "GET", "/usage", make_token(user, "read")).json()
    assert usage["spent_usd"] == "1.750000" or float(usage["spent_usd"]) == 1.75
    assert usage["batches_this_month"] == 2 and usage["posts_this_month"] == 8
    assert usage["max_posts_per_batch"] == 1000 and usage["api_rate_limit"] == settings.API_RATE_LIMIT


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(client, user, other_user, settings):
    settings.API_RATE_LIMIT = "3/m"
    token = make_token(user, "read")
    statuses = [call(client, "GET", "/usage", token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = call(client, "GET", "/usage", token)
    assert limited["Content-Type"] == "application/problem+json"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The limit is per token: another token (here another user's) is not slowed down.
    assert call(client, "GET", "/usage", make_token(other_user, "read")).status_code == 200


def test_create_api_token_prints_a_working_token_on_its_last_line(client, user, capsys):
    call_command("create_api_token", user.username, "--access", "write")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.get(key_hash=hash_token(secret)).access == "write"
    assert call(client, "GET", "/usage", secret).status_code == 200


def test_create_api_token_refuses_an_unknown_user_in_one_line():
    result = run_manage("create_api_token", "nobody-here", "--access", "read")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["CommandError: no active user named 'nobody-here'"]


def test_the_openapi_document_and_docs_are_served_without_a_token(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/campaigns/{campaign_id}/batches" in schema["paths"]
    errors = schema["paths"]["/api/v1/batches/{batch_id}/cancel"]["post"]["responses"]["409"]["content"]
    assert list(errors) == ["application/problem+json"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
