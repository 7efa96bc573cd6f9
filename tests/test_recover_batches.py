"""manage.py recover_batches: lost work back on the queue, or a report of it (--dry-run)."""

import io
import json
from datetime import timedelta

import pytest
import redis
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import BatchStatus, GenerationStatus
from campaigns.services import batch_start
from generation import dispatch, recovery
from generation.config import engine_config
from generation.queue import generation_queue
from tests.factories import BatchFactory, CampaignFactory, PostFactory
from tests.support import run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost_batch():
    """A running batch whose jobs are gone: 3 pending posts, 2 under leases that expired, 1 done."""
    batch = BatchFactory(requested_count=6, status=BatchStatus.RUNNING, succeeded_count=1)
    expired = timezone.now() - timedelta(minutes=5)
    for sequence in range(6):
        if sequence < 3:
            fields = {"status": GenerationStatus.PENDING}
        elif sequence < 5:
            fields = {"status": GenerationStatus.GENERATING, "lease_owner": "dead:1", "lease_expires_at": expired}
        else:
            fields = {"status": GenerationStatus.SUCCEEDED}
        PostFactory(campaign=batch.campaign, batch=batch, sequence=sequence, **fields)
    # A post in flight under a live lease is not lost.
    live = BatchFactory(status=BatchStatus.RUNNING, requested_count=1)
    PostFactory(
        campaign=live.campaign,
        batch=live,
        status=GenerationStatus.GENERATING,
        lease_owner="alive:1",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    return batch


def recover(*args: str) -> str:
    out = io.StringIO()
    call_command("recover_batches", *args, stdout=out)
    return out.getvalue()


def test_dry_run_reports_and_changes_nothing(lost_batch):
    report = json.loads(recover("--dry-run", "--json"))
    assert report == {
        "dry_run": True,
        "queued_jobs": 0,
        "enqueued": False,
        "note": "dry run: would enqueue chunk jobs for 1 batches",
        "batches": [{"batch_id": lost_batch.pk, "pending": 3, "expired_leases": 2, "posts": 5, "job_ids": []}],
    }
    assert generation_queue().count == 0
    text = recover("--dry-run")
    assert f"batch #{lost_batch.pk} ({lost_batch.campaign.name}): 3 pending, 2 expired leases\n" in text


def test_recovery_enqueues_chunk_jobs_for_lost_batches(lost_batch):
    report = json.loads(recover("--json"))
    assert report["enqueued"] is True
    [work] = report["batches"]
    assert work["batch_id"] == lost_batch.pk
    assert work["job_ids"] and all(job_id.startswith(f"batch-{lost_batch.pk}-command-") for job_id in work["job_ids"])
    queue = generation_queue()
    assert set(queue.job_ids) == set(work["job_ids"])
    lost_batch.refresh_from_db()
    assert lost_batch.rq_job_ids[-len(work["job_ids"]) :] == work["job_ids"]


def test_queued_jobs_will_take_the_work_unless_forced(lost_batch):
    dispatch.enqueue_batch(lost_batch.pk, 1)
    report = json.loads(recover("--json"))
    assert (report["enqueued"], report["queued_jobs"]) == (False, 1)
    assert "queued jobs will take this work" in report["note"]
    assert report["batches"][0]["posts"] == 5
    assert generation_queue().count == 1
    assert json.loads(recover("--force", "--json"))["enqueued"] is True
    assert generation_queue().count == 2


def test_nothing_lost():
    assert recover() == "nothing to recover: no pending posts and no expired leases\n"


def test_single_post_regenerations_are_recovered_too():
    PostFactory(status=GenerationStatus.PENDING, pending_work="caption")
    report = json.loads(recover("--json"))
    assert report["batches"][0]["batch_id"] is None
    assert report["batches"][0]["job_ids"][0].startswith("posts-command-")


def test_redis_away_is_one_line(monkeypatch):
    def refuse(**kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(recovery, "recover", refuse)
    with pytest.raises(CommandError, match=r"^Redis does not answer at redis://\S+ \(ConnectionError\): start it"):
        recover()


def test_exit_status_and_help():
    result = run_manage("recover_batches", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dry_run"] is True
    result = run_manage("recover_batches", "--now")
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: unrecognized arguments: --now (see --help)"


def test_one_recovery_round_enqueues_no_more_jobs_than_one_batch_may_have(settings):
    """Any chunk job serves every batch, so twenty lost batches do not get twenty sets of jobs."""
    settings.GENERATION_MAX_CHUNKS = 3
    settings.GENERATION_CONCURRENCY = 4
    batches = [batch_start(campaign=CampaignFactory(), count=20, enqueue=False, actor=None) for _ in range(20)]
    report = recovery.recover(config=engine_config(), reason="test")
    assert len(report.lost) == 20 and report.enqueued
    assert sum(len(work.job_ids) for work in report.lost) == 3
    assert len(generation_queue().job_ids) == 3
    assert (report.lost[0].batch_id, len(report.lost[0].job_ids)) == (batches[0].pk, 3)
