"""manage.py batch_status: one batch's state for people and for scripts."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import BatchJob, BatchStatus, GenerationStatus
from generation import dispatch
from tests.factories import BatchFactory, PostFactory, failed_posts_by_reason
from tests.support import assert_one_line_error, run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    batch = BatchFactory(
        requested_count=6,
        status=BatchStatus.RUNNING,
        succeeded_count=2,
        failed_count=3,
        prompt_tokens=1200,
        completion_tokens=300,
        image_count=2,
        cost_usd="0.084500",
        provider="openai",
        text_model="gpt-4o-mini",
        image_model="gpt-image-1",
    )
    failed_posts_by_reason(batch)
    PostFactory(campaign=batch.campaign, batch=batch, sequence=5, status=GenerationStatus.PENDING)
    return batch


def status(*args: str) -> str:
    out = io.StringIO()
    call_command("batch_status", *args, stdout=out)
    return out.getvalue()


def test_json_has_the_generate_posts_fields_and_more(batch):
    job_ids = dispatch.enqueue_batch(batch.pk, 6)
    BatchJob.objects.filter(pk=batch.pk).update(rq_job_ids=["batch-gone-0", *job_ids])
    report = json.loads(status(str(batch.pk), "--json"))
    assert {"batch_id", "status", "requested", "succeeded", "failed", "seconds", "posts_per_minute", "cost_usd"} <= (
        report.keys()
    )
    assert report["batch_id"] == batch.pk
    assert report["status"] == "running"
    assert (report["requested"], report["succeeded"], report["failed"], report["done"]) == (6, 2, 3, 5)
    assert report["progress_percent"] == 83
    assert report["cost_usd"] == 0.0845
    assert (report["prompt_tokens"], report["completion_tokens"], report["image_count"]) == (1200, 300, 2)
    assert report["failures"] == [
        {"reason": "timeout", "label": "Timed out", "count": 2},
        {"reason": "content_policy", "label": "Content policy", "count": 1},
    ]
    assert report["rq_jobs"][0] == {"id": "batch-gone-0", "status": "expired", "worker": None}
    assert [job["status"] for job in report["rq_jobs"][1:]] == ["queued"]
    assert report["rq_jobs"][1]["id"] == job_ids[0]


def test_text_for_people(batch):
    text = status(f"#{batch.pk}")
    assert f"batch      #{batch.pk} for '{batch.campaign.name}'" in text
    assert "progress   5/6 (83%): 2 succeeded, 3 failed, 0 canceled" in text
    assert "cost       $0.0845: 1,200 prompt + 300 completion tokens, 2 images" in text
    assert "failed     2 × timeout (Timed out)" in text


def test_the_failures_are_one_grouped_query(batch, django_assert_num_queries):
    with django_assert_num_queries(2):  # the batch with its campaign, the failures
        status(str(batch.pk), "--json")


@pytest.mark.parametrize(("reference", "message"), [("abc", "not 'abc'"), ("987654", "no batch with id 987654")])
def test_bad_reference(reference, message):
    with pytest.raises(CommandError, match=message):
        status(reference)


def test_exit_status_and_help():
    assert_one_line_error(run_manage("batch_status", "987654", "--json"), "no batch with id 987654")
    result = run_manage("batch_status", "--help")
    assert result.returncode == 0
    assert "  manage.py batch_status 1 --json | jq .status\n" in result.stdout
