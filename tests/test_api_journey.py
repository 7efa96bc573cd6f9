"""The README's curl journey, run as written against a live server and a real worker: start a
batch of 50, poll it, list its posts, approve 10, and receive the webhooks it causes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from campaigns.models import BatchJob, BatchStatus, Post, ReviewStatus
from tests.factories import CampaignFactory, UserFactory
from tests.support import BASE_DIR, database_url, wait_for
from tests.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.models import Event
from workspaces.services.workspaces import personal_workspace

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def readme_journey() -> str:
    readme = (BASE_DIR / "README.md").read_text()
    block = re.search(r"<!-- api-journey -->\n```sh\n(.*?)```\n<!-- /api-journey -->", readme, re.S)
    assert block, "the README's curl journey is missing"
    return block.group(1)


def test_the_readme_curl_journey_works_as_written(live_server, workers, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    demo = UserFactory(username="demo")
    campaign = CampaignFactory(owner=demo, name="Summer Cold Brew Launch")
    workers.start("journey-1", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    script = readme_journey()
    assert "API=http://127.0.0.1:8000/api/v1" in script
    # The one change: the live server's address instead of `make run`'s.
    script = script.replace("API=http://127.0.0.1:8000/api/v1", f"API={live_server.url}/api/v1")

    with WebhookReceiver() as receiver:
        endpoint = services.endpoint_create(
            workspace=personal_workspace(demo),
            actor=demo,
            url=receiver.url,
            events=[Event.BATCH_SUCCEEDED, Event.POST_APPROVED],
        )
        environment = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DATABASE_URL": database_url(),
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout

        batch = BatchJob.objects.get(campaign=campaign)
        assert batch.requested_count == 50 and batch.status == BatchStatus.SUCCEEDED
        assert Post.objects.filter(batch=batch, review_status=ReviewStatus.APPROVED).count() == 10
        assert '"status": "succeeded"' in result.stdout
        assert result.stdout.count('"review_status":"approved"') == 10

        wait_for(lambda: len(receiver.received) == 11, timeout=60, message="1 batch.succeeded and 10 post.approved")
    events = [Webhook(endpoint.secret).verify(message.body, message.headers) for message in receiver.received]
    assert sorted(event["type"] for event in events) == ["batch.succeeded"] + ["post.approved"] * 10
