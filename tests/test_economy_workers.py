"""Economy batches on real rqworker processes: `generate_posts --economy`, a worker killed mid-way."""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import call_command

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from generation.config import engine_config, image_cost, text_cost
from generation.models import BatchPhase, ProviderBatch
from tests.factories import CampaignFactory
from tests.support import BASE_DIR, database_url, wait_for

pytestmark = [pytest.mark.workers, pytest.mark.slow]

ECONOMY_100 = ("--count", "100", "--economy", "--wait", "--json")
ECONOMY_ENV = {"GENERATION_ECONOMY_POLL_SECONDS": "0.3", "GENERATION_LEASE_SECONDS": "3"}


def test_an_economy_batch_of_100_survives_a_worker_restart_at_half_the_cost(
    workers, openai_settings, openai_env, fake_openai
):
    fake_openai.update(batch_stage_seconds=2)
    workers.start("first", **openai_env, **ECONOMY_ENV)
    campaign = CampaignFactory()
    command = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "generate_posts", str(campaign.pk), *ECONOMY_100],
        env={**os.environ, "DATABASE_URL": database_url(), **openai_env, **ECONOMY_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=BASE_DIR,
    )
    try:
        # Mid-way: the captions are at the provider. The worker dies; another starts later.
        wait_for(
            lambda: ProviderBatch.objects.filter(batch__campaign=campaign).exclude(provider_batch_id="").exists(),
            timeout=60,
            message="the captions batch to reach the provider",
        )
        workers.kill("first")
        workers.start("second", **openai_env, **ECONOMY_ENV)
        stdout, stderr = command.communicate(timeout=180)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    batch = BatchJob.objects.get(campaign=campaign)
    assert summary["batch_id"] == batch.pk
    assert (summary["status"], summary["requested"], summary["succeeded"], summary["failed"]) == (
        BatchStatus.SUCCEEDED,
        100,
        100,
        0,
    )
    # Exactly 100 posts, each made once and finished.
    posts = Post.objects.filter(batch=batch)
    assert posts.count() == 100
    assert sorted(posts.values_list("sequence", flat=True)) == list(range(100))
    assert set(posts.values_list("status", flat=True)) == {GenerationStatus.SUCCEEDED}
    assert not posts.filter(image="").exists()
    # Half the standard cost: the fake's captions use 420 + 120 tokens, and each post one image.
    config = engine_config()
    standard = 100 * (text_cost(config, 420, 120) + image_cost(config, 1))
    assert batch.cost_usd == standard / 2
    assert Decimal(str(summary["cost_usd"])) == batch.cost_usd
    # One provider batch per phase, whatever the restart.
    sent = fake_openai.stats()["batches"]
    assert sorted(b["endpoint"] for b in sent.values()) == ["/v1/chat/completions", "/v1/images/generations"]
    rows = ProviderBatch.objects.filter(batch=batch)
    assert sorted(rows.values_list("phase", flat=True)) == [BatchPhase.CAPTIONS, BatchPhase.IMAGES]


def test_economy_prints_the_same_json_line_as_a_standard_run(openai_settings, fake_openai, capsys, transactional_db):
    campaign = CampaignFactory()
    call_command("generate_posts", str(campaign.pk), "--count", "2", "--sync", "--json")
    standard = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    call_command("generate_posts", str(campaign.pk), "--count", "2", "--economy", "--json")
    economy = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert economy.keys() == standard.keys()
    assert (economy["status"], economy["requested"]) == (BatchStatus.QUEUED, 2)
