"""Each reason code reaches the failed post, the metrics and the pages; the provider's words only the admin."""

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from campaigns.models import BatchStatus, GenerationStatus
from campaigns.services import batch_start
from generation.jobs import run_chunk
from generation.metrics import GenerationCollector
from shared.failure_reasons import SENTENCES, FailureReason, failure_label, failure_sentence
from tests.factories import CampaignFactory, UserFactory
from tests.fake_openai import Config

pytestmark = pytest.mark.django_db(transaction=True)

ONE_TRY = {"GENERATION_MAX_TRIES": 1}
# How the fake server (or a dead port) brings about each code, and the engine settings that make it final.
CAUSES = {
    FailureReason.RATE_LIMITED: (
        Config(fault_rate=1.0, fault_kinds=["429"], retry_hints={"429": {"retry-after": 0.1}}),
        {"GENERATION_POST_DEADLINE": 1.5},
    ),
    FailureReason.TIMEOUT: (
        Config(fault_rate=1.0, fault_kinds=["timeout"], timeout_seconds=2),
        {**ONE_TRY, "GENERATION_REQUEST_TIMEOUT": 0.3},
    ),
    FailureReason.CONNECTION: (Config(), {**ONE_TRY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}),
    FailureReason.SERVER_ERROR: (Config(fault_rate=1.0, fault_kinds=["500"]), ONE_TRY),
    FailureReason.CONTENT_POLICY: (Config(fault_rate=1.0, fault_kinds=["content_policy"]), {}),
    FailureReason.AUTH: (Config(fault_rate=1.0, fault_kinds=["401"]), {}),
    FailureReason.QUOTA: (Config(fault_rate=1.0, fault_kinds=["quota"]), {}),
    FailureReason.BAD_REQUEST: (Config(fault_rate=1.0, fault_kinds=["400"]), {}),
    FailureReason.MALFORMED: (Config(fault_rate=1.0, fault_kinds=["malformed_json"]), ONE_TRY),
}


def test_every_code_has_a_label_and_a_plain_sentence():
    assert set(CAUSES) == set(FailureReason) == set(SENTENCES)
    for code in FailureReason:
        sentence = failure_sentence(code)
        assert sentence.endswith(".") and "HTTP" not in sentence and "_" not in sentence


def failed_metrics() -> dict[str, float]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        families = {family.name: family for family in GenerationCollector(client).collect()}
    finally:
        client.close()
    return {
        sample.labels["reason"]: sample.value
        for sample in families["generation_posts_failed"].samples
        if sample.name.endswith("_total")
    }


@pytest.mark.parametrize("code", list(FailureReason), ids=str)
def test_each_code_reaches_the_post_the_metrics_and_the_page(openai_settings, fake_openai, code):
    config, engine = CAUSES[code]
    fake_openai.configure(config)
    for name, value in engine.items():
        setattr(openai_settings, name, value)
    owner = UserFactory()
    batch = batch_start(
        campaign=CampaignFactory(owner=owner, platforms=["instagram"]), count=1, enqueue=False, actor=None
    )
    run_chunk(batch.pk)  # the RQ entry point, in this process: the real limiter and metrics, in Redis

    batch.refresh_from_db()
    post = batch.posts.get()
    assert (post.status, post.failure_reason) == (GenerationStatus.FAILED, code)
    assert post.error_message  # the provider's words (or ours), for staff
    assert (batch.status, batch.error_summary) == (BatchStatus.FAILED, f"1 failed: {failure_label(code)} (1)")
    assert failed_metrics() == {code.value: 1.0}

    marketer = Client()
    marketer.force_login(owner)
    for url in (post.get_absolute_url(), batch.campaign.get_absolute_url(), batch.get_absolute_url()):
        page = marketer.get(url).content.decode()
        assert post.error_message not in page
    assert failure_sentence(code) in marketer.get(post.get_absolute_url()).content.decode()
    assert failure_label(code) in marketer.get(batch.get_absolute_url()).content.decode()

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    admin_post = staff.get(reverse("admin:campaigns_post_change", args=[post.pk])).content.decode()
    admin_batch = staff.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert failure_label(code) in admin_post and failure_label(code) in admin_batch
    assert post.error_message[:40] in admin_batch.replace("&#x27;", "'")
