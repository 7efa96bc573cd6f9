"""The curl journey of docs/api-and-webhooks.md, run as written against the demo data, a live server
and a real worker: start a batch of 50, poll it, list its posts, approve 10, and receive the webhooks
it causes."""

import os
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from standardwebhooks import Webhook

from campaigns.models import BatchJob, BatchStatus, Campaign, Post, ReviewStatus
from tests.support import BASE_DIR, database_url, wait_for
from tests.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.models import Event
from workspaces.services.workspaces import personal_workspace

pytestmark = [pytest.mark.workers, pytest.mark.slow]


JOURNEY_PAGE = BASE_DIR / "docs" / "api-and-webhooks.md"
MAKE_RUN_API = "API=http://127.0.0.1:8000/api/v1"


def documented_journey() -> str:
    page = JOURNEY_PAGE.read_text()
    block = re.search(r"<!-- api-journey -->\n```sh\n(.*?)```\n<!-- /api-journey -->", page, re.S)
    assert block, f"the curl journey is missing from {JOURNEY_PAGE.relative_to(BASE_DIR)}"
    return block.group(1)


def test_the_documented_curl_journey_works_as_written(live_server, workers, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    call_command("demo")  # the data `make run` loads
    demo = get_user_model().objects.get(username="demo")
    campaign = Campaign.objects.get(workspace=personal_workspace(demo), name="Summer Cold Brew Launch")
    workers.start("journey-1", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    script = documented_journey()
    assert script.startswith(MAKE_RUN_API + "\n")
    # The one change: the live server's address instead of `make run`'s.
    script = script.replace(MAKE_RUN_API, f"API={live_server.url}/api/v1", 1)
    # The second terminal's interpreter, as the page types it.
    assert (BASE_DIR / ".venv" / "bin" / "python").exists(), "no .venv/bin/python: run `make install` first"

    with WebhookReceiver() as receiver:
        endpoint = services.endpoint_create(
            workspace=personal_workspace(demo),
            actor=demo,
            url=receiver.url,
            events=[Event.BATCH_SUCCEEDED, Event.POST_APPROVED],
        )
        environment = {**os.environ, "DATABASE_URL": database_url()}
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

        batch = BatchJob.objects.filter(campaign=campaign).latest("pk")
        assert batch.requested_count == 50 and batch.status == BatchStatus.SUCCEEDED
        assert Post.objects.filter(batch=batch, review_status=ReviewStatus.APPROVED).count() == 10
        assert '"status": "succeeded"' in result.stdout
        assert result.stdout.count('"review_status":"approved"') == 10

        wait_for(lambda: len(receiver.received) == 11, timeout=60, message="1 batch.succeeded and 10 post.approved")
    events = [Webhook(endpoint.secret).verify(message.body, message.headers) for message in receiver.received]
    assert sorted(event["type"] for event in events) == ["batch.succeeded"] + ["post.approved"] * 10
