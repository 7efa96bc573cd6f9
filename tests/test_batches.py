"""Starting, canceling and retrying batches: the services, without workers."""

import re
import threading
from decimal import Decimal

import django_rq
import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, PendingWork, Post
from campaigns.services import batch_cancel, batch_retry_failed, batch_start, post_regenerate, post_update
from generation.queue import remember_job_ids
from tests.factories import PostFactory
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("generation").job_ids


def test_a_batch_is_created_with_all_its_posts_and_enqueued_on_commit(campaign):
    batch = batch_start(campaign=campaign, count=40, platforms=["x", "instagram"], actor=None)
    posts = list(batch.posts.order_by("sequence"))
    assert len(posts) == 40
    assert [p.sequence for p in posts] == list(range(40))
    assert {p.status for p in posts} == {GenerationStatus.PENDING}
    assert [p.platform for p in posts[:4]] == ["instagram", "x", "instagram", "x"]
    assert batch.status == BatchStatus.QUEUED
    assert batch.provider == "local"
    jobs = queued_job_ids()
    assert len(jobs) == 3  # ceil(40 / 16) chunk jobs
    assert all(job_id.startswith(f"batch-{batch.pk}-start-") for job_id in jobs)
    batch.refresh_from_db()
    assert batch.rq_job_ids == jobs


@pytest.mark.parametrize(
    ("count", "platforms", "message"),
    [
        (0, None, "from 1 to 1000; got 0"),
        (1001, None, "from 1 to 1000; got 1001"),
        (-5, None, "from 1 to 1000; got -5"),
        ("ten", None, "must be a whole number"),
        (10, ["myspace"], "Unknown platform myspace"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(campaign, count, platforms, message):
    with pytest.raises(ValidationError, match=message):
        batch_start(campaign=campaign, count=count, platforms=platforms, actor=None)
    assert not BatchJob.objects.exists()
    assert not Post.objects.exists()
    assert queued_job_ids() == []


def test_cancel_cancels_pending_posts_and_ends_the_batch(campaign):
    batch = batch_start(campaign=campaign, count=10, enqueue=False, actor=None)
    Post.objects.filter(batch=batch, sequence__lt=3).update(status=GenerationStatus.SUCCEEDED)
    BatchJob.objects.filter(pk=batch.pk).update(succeeded_count=3, status=BatchStatus.RUNNING)
    assert batch_cancel(batch=batch, actor=None) == 7
    assert batch.status == BatchStatus.CANCELED
    assert batch.canceled_count == 7
    assert batch.finished_at is not None
    assert Post.objects.filter(batch=batch, status=GenerationStatus.CANCELED).count() == 7
    with pytest.raises(ValidationError, match="already ended"):
        batch_cancel(batch=batch, actor=None)


def test_retry_failed_puts_failed_posts_back_and_reopens_the_batch(campaign):
    batch = batch_start(campaign=campaign, count=5, enqueue=False, actor=None)
    Post.objects.filter(batch=batch, sequence__lt=2).update(
        status=GenerationStatus.FAILED, error_message="boom", failure_reason="timeout"
    )
    Post.objects.filter(batch=batch, sequence__gte=2).update(status=GenerationStatus.SUCCEEDED)
    BatchJob.objects.filter(pk=batch.pk).update(
        succeeded_count=3, failed_count=2, status=BatchStatus.PARTIALLY_FAILED, error_summary="2 failed"
    )
    assert batch_retry_failed(batch=batch, actor=None) == 2
    assert batch.status == BatchStatus.RUNNING
    assert (batch.failed_count, batch.finished_at, batch.error_summary) == (0, None, "")
    assert (
        Post.objects.filter(batch=batch, status=GenerationStatus.PENDING, error_message="", failure_reason="").count()
        == 2
    )
    assert any("retry" in job_id for job_id in queued_job_ids())
    with pytest.raises(ValidationError, match="still running"):
        batch_retry_failed(batch=batch, actor=None)


def test_regenerate_marks_one_post_and_enqueues_it(campaign):
    post = PostFactory(campaign=campaign, caption="Old words")
    post_regenerate(post=post, part="image", actor=None)
    assert post.status == GenerationStatus.PENDING
    assert post.pending_work == PendingWork.IMAGE
    assert post.caption == "Old words"
    assert len(queued_job_ids()) == 1
    with pytest.raises(ValidationError, match="already being generated"):
        post_regenerate(post=post, part="caption", actor=None)


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        (Decimal("0"), "from $0.01 to $9,999,999,999.99"),
        (Decimal("-1"), "from $0.01 to $9,999,999,999.99"),
        (Decimal("1e20"), "from $0.01 to $9,999,999,999.99"),
        (Decimal("NaN"), "from $0.01 to $9,999,999,999.99"),
        (Decimal("Infinity"), "from $0.01 to $9,999,999,999.99"),
        ("lots", "from $0.01 to $9,999,999,999.99"),
        # Stored in cents: $0.001 used to become a cap of $0.00, which canceled the batch at once.
        (Decimal("0.001"), "from $0.01 to $9,999,999,999.99"),
        (Decimal("2.015"), "at most two decimals"),
    ],
)
def test_a_bad_cost_cap_is_refused_and_nothing_is_written(campaign, cap, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        batch_start(campaign=campaign, count=5, cost_cap_usd=cap, actor=None)
    assert not BatchJob.objects.exists()
    assert not Post.objects.exists()
    assert queued_job_ids() == []


def test_an_empty_caption_is_refused_by_the_service_too(campaign):
    post = PostFactory(campaign=campaign, caption="Keep me.")
    with pytest.raises(ValidationError, match="Write a caption"):
        post_update(post=post, caption="   ", hashtags=[], actor=None)
    post.refresh_from_db()
    assert post.caption == "Keep me."


def sessions_blocked_by(backend_pid: int) -> int:
    """How many database sessions wait for a lock that the session `backend_pid` holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [backend_pid])
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_job_ids_enqueued_at_the_same_time_are_all_remembered(campaign):
    """Two enqueues for one batch at once (recovery on two workers): neither side's job ids are lost."""
    batch = batch_start(campaign=campaign, count=1, enqueue=False, actor=None)

    def remember_ours() -> None:
        try:
            remember_job_ids(batch.pk, ["ours"])
        finally:
            connection.close()  # this thread's own connection

    params = connection.get_connection_params()
    with psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"}) as other:
        # Another enqueue holds the row, about to write its ids.
        other.execute("SELECT 1 FROM campaigns_batchjob WHERE id = %s FOR UPDATE", [batch.pk])
        ours = threading.Thread(target=remember_ours)
        ours.start()
        # Ours now waits for the other's row lock: with select_for_update before it reads the ids;
        # without it, at its UPDATE, having read the ids the other is about to replace.
        wait_for(lambda: sessions_blocked_by(other.info.backend_pid), timeout=30, message="ours to wait for the row")
        other.execute("UPDATE campaigns_batchjob SET rq_job_ids = '[\"theirs\"]' WHERE id = %s", [batch.pk])
        other.commit()
        ours.join(timeout=30)
    assert not ours.is_alive()
    batch.refresh_from_db()
    assert batch.rq_job_ids == ["theirs", "ours"]
