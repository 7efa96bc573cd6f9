"""Batches from the marketer's pages: start, the live progress partial, cancel, retry, the batch page."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from tests.factories import BatchFactory, PostFactory

HTMX = {"HX-Request": "true"}


def start_url(campaign) -> str:
    return reverse("campaigns:batch_start", args=[campaign.pk])


def progress_url(batch) -> str:
    return reverse("campaigns:batch_progress", args=[batch.pk])


def events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


@pytest.fixture
def now(monkeypatch):
    """A stopped clock: a batch's elapsed time, rate and ETA are what the test says, however slow the machine."""
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    return frozen


# ---------- start ----------


def test_start_a_batch_without_javascript(signed_in_client, campaign, user):
    response = signed_in_client.post(start_url(campaign), {"count": 12, "platforms": ["instagram", "x"]})
    batch = BatchJob.objects.get(campaign=campaign)
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert (batch.requested_count, batch.platforms, batch.requested_by) == (12, ["instagram", "x"], user)
    assert Post.objects.filter(batch=batch).count() == 12
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "12 posts on their way" in page
    assert f'hx-get="{progress_url(batch)}"' in page


def test_start_a_batch_with_htmx_returns_a_fresh_form_and_the_live_panel(signed_in_client, campaign):
    response = signed_in_client.post(start_url(campaign), {"count": 20, "platforms": ["linkedin"]}, headers=HTMX)
    batch = BatchJob.objects.get(campaign=campaign)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="batch-form"' in html and 'value="10"' in html  # the form, reset to its default
    assert '<div id="batch-panels" hx-swap-oob="afterbegin">' in html
    assert f'hx-get="{progress_url(batch)}" hx-trigger="every 1s, poll-now"' in html
    assert events(response) == {"batch-started": {"batch": batch.pk}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"count": 0, "platforms": ["x"]}, "The number of posts must be from 1 to 1000"),
        ({"count": 1001, "platforms": ["x"]}, "The number of posts must be from 1 to 1000"),
        ({"count": -5, "platforms": ["x"]}, "The number of posts must be from 1 to 1000"),
        ({"count": "ten", "platforms": ["x"]}, "Enter a whole number."),
        ({"count": "", "platforms": ["x"]}, "This field is required."),
        ({"count": 10**30, "platforms": ["x"]}, "The number of posts must be from 1 to 1000"),
        ({"count": 5}, "Choose at least one platform."),
        ({"count": 5, "platforms": ["myspace"]}, "Select a valid choice"),
        ({"count": 5, "platforms": ["facebook"]}, "Select a valid choice"),  # not one of the campaign's
    ],
)
def test_start_refuses_bad_input(signed_in_client, campaign, data, message):
    for headers in ({}, HTMX):
        response = signed_in_client.post(start_url(campaign), data, headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        assert message in html
        assert 'class="errorlist"' in html
        assert "HX-Trigger" not in response.headers
    assert not BatchJob.objects.exists() and not Post.objects.exists()


def test_count_error_is_tied_to_its_field(signed_in_client, campaign):
    html = signed_in_client.post(start_url(campaign), {"count": 0, "platforms": ["x"]}, headers=HTMX).content.decode()
    count_input = re.search(r'<input[^>]*name="count"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in count_input and 'aria-describedby="id_count_error"' in count_input
    assert '<ul class="errorlist" id="id_count_error">' in html


# ---------- live progress ----------


def test_progress_partial_polls_while_the_batch_runs(signed_in_client, campaign, now):
    batch = BatchFactory(
        campaign=campaign,
        status=BatchStatus.RUNNING,
        requested_count=20,
        succeeded_count=8,
        failed_count=2,
        cost_usd=Decimal("0.0123"),
        started_at=now - timedelta(seconds=90),
    )
    response = signed_in_client.get(progress_url(batch), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'hx-get="{progress_url(batch)}" hx-trigger="every 1s, poll-now" hx-swap="outerHTML"' in html
    assert '<progress class="progress" max="20" value="10"' in html and "50%" in html
    assert 'data-figure="failed" class="is-bad">2<' in html
    assert 'data-figure="rate">6.7<' in html  # 10 finished in 90 s
    assert 'data-figure="eta">1 min 30 s<' in html  # 10 left at 6.7 a minute
    assert 'data-figure="cost">$0.01<' in html
    assert "Cancel batch" in html and "Retry" not in html
    assert "HX-Trigger" not in response.headers  # nothing new since the page was drawn


def test_progress_partial_tells_the_grid_when_posts_arrived(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, succeeded_count=4)
    assert events(signed_in_client.get(progress_url(batch), {"seen": 3}, headers=HTMX)) == {
        "posts-arrived": {"batch": batch.pk}
    }
    assert "HX-Trigger" not in signed_in_client.get(progress_url(batch), {"seen": 4}, headers=HTMX).headers
    assert "HX-Trigger" not in signed_in_client.get(progress_url(batch), {"seen": "x"}, headers=HTMX).headers
    # The panel carries what it showed, so the next poll can tell.
    html = signed_in_client.get(progress_url(batch), headers=HTMX).content.decode()
    assert """hx-vals='{"seen": 4, "wait": 1, "status": "running"}'""" in html


def test_a_poll_that_sees_a_new_status_tells_the_batches_table(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING)
    url = reverse("campaigns:batch_progress", args=[batch.pk])
    response = signed_in_client.get(url, {"seen": 0, "wait": 1, "status": "queued"}, headers=HTMX)
    assert json.loads(response.headers["HX-Trigger"])["batch-status-changed"] == {
        "batch": batch.pk,
        "status": "running",
    }
    same = signed_in_client.get(url, {"seen": 0, "wait": 1, "status": "running"}, headers=HTMX)
    assert "batch-status-changed" not in same.headers.get("HX-Trigger", "")
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert "batch-status-changed from:body" in page


def next_poll(client, url: str, values: dict) -> tuple[int, dict]:
    """Poll as htmx does (a GET with the panel's hx-vals): the answer's wait and its own hx-vals."""
    html = client.get(url, values, headers=HTMX).content.decode()
    trigger = re.search(r'hx-trigger="every (\d+)s, poll-now"', html)
    vals = re.search(r"hx-vals='([^']*)'", html)
    assert trigger and vals, html
    return int(trigger.group(1)), json.loads(vals.group(1))


def test_polls_slow_down_while_nothing_moves_and_speed_up_when_posts_arrive(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.QUEUED, requested_count=10)
    page = signed_in_client.get(batch.get_absolute_url()).content.decode()
    values = json.loads(re.search(r"hx-vals='([^']*)'", page).group(1))
    assert values == {"seen": 0, "wait": 1, "status": "queued"}
    waits = []
    for _ in range(5):  # the batch waits in the queue
        wait, values = next_poll(signed_in_client, progress_url(batch), values)
        waits.append(wait)
        assert values["wait"] == wait  # the panel sends back the wait it was given
    assert waits == [2, 4, 5, 5, 5]
    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, succeeded_count=1)
    assert next_poll(signed_in_client, progress_url(batch), values) == (1, {"seen": 1, "wait": 1, "status": "running"})


@pytest.mark.parametrize("status", [BatchStatus.SUCCEEDED, BatchStatus.PARTIALLY_FAILED, BatchStatus.CANCELED])
def test_final_progress_partial_has_no_trigger_and_refreshes_the_grid(signed_in_client, campaign, status, now):
    batch = BatchFactory(
        campaign=campaign,
        status=status,
        requested_count=10,
        succeeded_count=8,
        failed_count=2 if status == BatchStatus.PARTIALLY_FAILED else 0,
        canceled_count=2 if status == BatchStatus.CANCELED else 0,
        started_at=now - timedelta(seconds=30),
        finished_at=now,
    )
    response = signed_in_client.get(progress_url(batch), headers=HTMX)
    html = response.content.decode()
    assert "hx-trigger" not in html.split("</h3>")[0]  # the panel itself no longer polls
    assert "every " not in html and "data-pause-when-hidden" not in html
    assert events(response) == {"batch-finished": {"batch": batch.pk}}
    assert 'data-figure="eta">30 s<' in html  # "Took"
    assert ("Retry 2 failed" in html) == (status == BatchStatus.PARTIALLY_FAILED)
    assert "Cancel batch" not in html


@pytest.mark.postgres
def test_progress_partial_costs_a_few_indexed_queries(signed_in_client, campaign, django_assert_max_num_queries):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, requested_count=1000)
    Post.objects.bulk_create([Post(campaign=campaign, batch=batch, sequence=i, platform="x") for i in range(1000)])
    with CaptureQueriesContext(connection) as queries:
        signed_in_client.get(progress_url(batch), {"seen": 0}, headers=HTMX)
    # The session, the user, the batch row (joined to its campaign for ownership): all by primary key.
    assert len(queries) <= 3, [q["sql"] for q in queries]
    batch_query = queries[-1]["sql"]
    assert "campaigns_post" not in batch_query and "COUNT(" not in batch_query.upper()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + batch_query)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "Index Scan" in plan or "Index Only Scan" in plan, plan


def test_progress_url_without_htmx_goes_to_the_batch_page(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign)
    response = signed_in_client.get(progress_url(batch))
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()


# ---------- cancel and retry ----------


def test_cancel_a_running_batch(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, requested_count=3)
    PostFactory.create_batch(3, campaign=campaign, batch=batch, status=GenerationStatus.PENDING, caption="")
    response = signed_in_client.post(reverse("campaigns:batch_cancel", args=[batch.pk]), headers=HTMX)
    html = response.content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELED and batch.canceled_count == 3
    assert "3 posts will not be generated" in html and "hx-trigger" not in html
    assert events(response) == {"batch-finished": {"batch": batch.pk}}
    # Once more: the batch has ended, and the panel says so instead of failing.
    again = signed_in_client.post(reverse("campaigns:batch_cancel", args=[batch.pk]), headers=HTMX)
    assert again.status_code == 200 and "already ended" in again.content.decode()


def test_cancel_without_javascript(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.QUEUED, requested_count=1)
    PostFactory(campaign=campaign, batch=batch, status=GenerationStatus.PENDING)
    response = signed_in_client.post(reverse("campaigns:batch_cancel", args=[batch.pk]))
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert "will not be generated" in signed_in_client.get(response["Location"]).content.decode()


def test_retry_failed_posts(signed_in_client, campaign):
    batch = BatchFactory(
        campaign=campaign, status=BatchStatus.PARTIALLY_FAILED, requested_count=3, succeeded_count=1, failed_count=2
    )
    PostFactory(campaign=campaign, batch=batch)
    PostFactory.create_batch(2, campaign=campaign, batch=batch, status=GenerationStatus.FAILED, error_message="x")
    response = signed_in_client.post(reverse("campaigns:batch_retry", args=[batch.pk]), headers=HTMX)
    html = response.content.decode()
    batch.refresh_from_db()
    assert (batch.status, batch.failed_count) == (BatchStatus.RUNNING, 0)
    assert "Trying 2 failed posts again" in html
    assert f'hx-get="{progress_url(batch)}" hx-trigger="every 1s, poll-now"' in html  # polling again
    assert events(response) == {"batch-started": {"batch": batch.pk}}
    assert Post.objects.filter(batch=batch, status=GenerationStatus.PENDING).count() == 2


def test_retry_refused_when_nothing_failed(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, requested_count=1, succeeded_count=1)
    response = signed_in_client.post(reverse("campaigns:batch_retry", args=[batch.pk]), headers=HTMX)
    assert "no failed posts to retry" in response.content.decode()
    response = signed_in_client.post(reverse("campaigns:batch_retry", args=[batch.pk]))
    assert response.status_code == 302
    assert "no failed posts to retry" in signed_in_client.get(response["Location"]).content.decode()


# ---------- batch page ----------


def test_batch_page_shows_its_panel_and_only_its_posts(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.SUCCEEDED, succeeded_count=1)
    mine = PostFactory(campaign=campaign, batch=batch)
    other = PostFactory(campaign=campaign, batch=BatchFactory(campaign=campaign))
    html = signed_in_client.get(batch.get_absolute_url()).content.decode()
    assert f"Batch #{batch.pk}" in html
    assert f'data-post-id="{mine.pk}"' in html and f'data-post-id="{other.pk}"' not in html
    # The grid's filters and the exports keep to this batch.
    assert f'<input type="hidden" name="batch" value="{batch.pk}">' in html
    assert f"export.csv?batch={batch.pk}" in html
