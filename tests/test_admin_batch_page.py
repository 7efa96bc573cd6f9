"""A batch's admin page: the marketer's live progress partial, failures by reason, cost, posts and RQ jobs."""

import pytest
from django.test import Client
from django.urls import reverse
from django_rq.settings import get_queues_map

from campaigns.models import BatchJob, BatchStatus
from generation import dispatch
from tests.factories import BatchFactory, PostFactory, UserFactory, failed_posts_by_reason

pytestmark = pytest.mark.django_db

PROGRESS_TEMPLATE = "campaigns/partials/batch_progress.html"


@pytest.fixture
def running_batch():
    batch = BatchFactory(requested_count=5, status=BatchStatus.RUNNING, succeeded_count=1, failed_count=3)
    failed_posts_by_reason(batch)
    PostFactory(campaign=batch.campaign, batch=batch, sequence=3, status="succeeded")
    PostFactory(campaign=batch.campaign, batch=batch, sequence=4, status="pending")
    return batch


def test_the_batch_page_shows_live_progress_failures_cost_and_links(
    staff_client, running_batch, django_assert_max_num_queries
):
    job_ids = dispatch.enqueue_batch(running_batch.pk, 5)
    url = reverse("admin:campaigns_batchjob_change", args=[running_batch.pk])
    with django_assert_max_num_queries(10):
        response = staff_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<section class="batch-progress is-running" id="batch-{running_batch.pk}-progress"' in page
    poll_url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    assert f'hx-get="{poll_url}" hx-trigger="every 1s, poll-now"' in page
    assert "js/htmx.min.js" in page and "js/app.js" in page and "css/admin.css" in page
    assert "Batch details" not in page  # show_actions is off: those are the marketer's buttons
    failed_timeouts = (
        f"/admin/campaigns/post/?batch={running_batch.pk}&amp;status__exact=failed&amp;failure_reason__exact=timeout"
    )
    assert f'<a href="{failed_timeouts}">Timed out</a> <code>timeout</code></td><td class="numeric">2</td>' in page
    assert "request timed out (after 5 tries)" in page  # staff see the provider's words
    assert f'href="/admin/campaigns/post/?batch={running_batch.pk}"' in page
    assert f'href="/admin/campaigns/post/?batch={running_batch.pk}&amp;status__exact=failed"' in page
    job_url = reverse("admin:django_rq_job_detail", args=[get_queues_map()["generation"], job_ids[0]])
    assert f'href="{job_url}"' in page
    assert staff_client.get(job_url).status_code == 200


def test_a_finished_batch_page_does_not_poll(staff_client):
    batch = BatchFactory(status=BatchStatus.SUCCEEDED, requested_count=10, succeeded_count=10)
    page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert "hx-trigger" not in page
    assert "No failed posts." in page
    assert "No jobs were enqueued" in page


def test_only_the_cost_cap_of_a_batch_can_be_changed(staff_client, running_batch):
    url = reverse("admin:campaigns_batchjob_change", args=[running_batch.pk])
    response = staff_client.post(url, {"cost_cap_usd": "3.00", "requested_count": "999"})
    assert response.status_code == 302
    running_batch.refresh_from_db()
    assert (str(running_batch.cost_cap_usd), running_batch.requested_count) == ("3.00", 5)


def test_the_progress_endpoint_renders_the_shared_partial(staff_client, running_batch, django_assert_max_num_queries):
    url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    with django_assert_max_num_queries(3):  # session, user, batch
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.template_name == PROGRESS_TEMPLATE
    panel = response.content.decode()
    assert panel.lstrip().startswith('<section class="batch-progress') and "<html" not in panel
    assert f'hx-get="{url}"' in panel
    # It waits longer while nothing moves, as the marketer's panel does.
    still = staff_client.get(url, {"seen": running_batch.done_count, "wait": 2}).content.decode()
    assert 'hx-trigger="every 4s, poll-now"' in still
    BatchJob.objects.filter(pk=running_batch.pk).update(status=BatchStatus.PARTIALLY_FAILED, succeeded_count=2)
    final = staff_client.get(url).content.decode()
    assert "hx-trigger" not in final and "Partially failed" in final


def test_the_progress_endpoint_is_for_staff_only(running_batch, staff_client):
    url = reverse("admin:campaigns_batchjob_progress", args=[running_batch.pk])
    marketer = Client()
    marketer.force_login(UserFactory())
    assert marketer.get(url).status_code == 302  # to the admin's sign-in
    assert staff_client.post(url).status_code == 405
    missing = reverse("admin:campaigns_batchjob_progress", args=[987654])
    assert staff_client.get(missing).status_code == 404
