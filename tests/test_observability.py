"""/healthz, /readyz and /metrics: what load balancers and Prometheus see."""

import pytest
from django.db import OperationalError
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from campaigns.models import BatchStatus
from campaigns.services import batch_start
from generation import dispatch
from generation.jobs import run_chunk
from observability import probes as observability
from tests.factories import BatchFactory, CampaignFactory
from tests.fake_openai import Config

TOKEN = "metrics-token-for-tests"


def scrape(client: Client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from /metrics."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_healthz_answers_without_the_database_or_an_allowed_host(client):
    # No django_db mark: pytest-django would fail the test on any database access.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_ok_when_postgresql_and_redis_answer(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert set(response.json()["checks"].values()) == {"ok"}


@pytest.mark.django_db
def test_readyz_names_redis_when_it_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"].startswith("error: ")


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_does_not_answer(client, monkeypatch):
    class Unreachable:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(observability, "connection", Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["postgresql"]
    assert response.json()["checks"] == {"postgresql": "error: OperationalError", "redis": "ok"}


def test_metrics_is_switched_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/metrics", **extra).status_code == 403


@pytest.mark.django_db
def test_metrics_show_queue_depth_and_active_batches(client, metrics_token):
    batch = BatchFactory(status=BatchStatus.RUNNING)
    dispatch.enqueue_batch(batch.pk, 40)  # GENERATION_CONCURRENCY 16: 3 chunk jobs, no worker
    samples = scrape(client)
    assert samples[("rq_jobs", (("queue", "generation"), ("status", "queued")))] == 3
    assert samples[("rq_jobs", (("queue", "default"), ("status", "queued")))] == 0
    assert samples[("generation_batches_active", (("status", "running"),))] == 1
    assert samples[("generation_batches_active", (("status", "queued"),))] == 0


@pytest.mark.django_db
def test_metrics_say_503_when_redis_is_away(client, metrics_token, monkeypatch, settings):
    import redis

    registry = observability.CollectorRegistry(auto_describe=False)
    from generation.metrics import GenerationCollector

    registry.register(GenerationCollector(redis.Redis.from_url("redis://127.0.0.1:1/0")))
    monkeypatch.setattr(observability, "_registry", registry)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 503


@pytest.mark.django_db(transaction=True)
def test_a_chunk_job_records_posts_failures_latencies_and_429s(client, metrics_token, openai_settings, fake_openai):
    """run_chunk (what a work horse runs) pushes its numbers to Redis; the web process reads them."""
    openai_settings.GENERATION_MAX_TRIES = 8
    fake_openai.configure(Config(fault_rate=0.3, fault_kinds=["429", "500"], refuse_posts=[2]))
    campaign = CampaignFactory(platforms=["instagram"])
    batch = batch_start(campaign=campaign, count=8, enqueue=False, actor=None)
    result = run_chunk(batch.pk)
    batch.refresh_from_db()
    assert (batch.succeeded_count, batch.failed_count) == (7, 1)

    samples = scrape(client)
    openai = (("provider", "openai"),)
    assert samples[("generation_posts_generated_total", openai)] == 7
    assert samples[("generation_posts_failed_total", (("provider", "openai"), ("reason", "content_policy")))] == 1
    server = fake_openai.stats()["counts"]
    assert samples[("generation_provider_rate_limited_total", openai)] == server.get("chat:429", 0) + server.get(
        "images:429", 0
    )
    assert samples[("generation_provider_rate_limited_total", openai)] == result["rate_limited"]
    # Every request the server answered is in the latency histogram, once.
    requests = sum(
        value
        for (name, labels), value in samples.items()
        if name == "generation_provider_request_duration_seconds_count"
    )
    answered = sum(n for key, n in server.items() if key.startswith(("chat:", "images:")))
    assert requests == answered == result["requests"]
    ok_captions = (("kind", "caption"), ("outcome", "ok"), ("provider", "openai"))
    assert samples[("generation_provider_request_duration_seconds_count", ok_captions)] == server["chat:200"]
    all_captions = tuple(sorted((*ok_captions, ("le", "+Inf"))))
    assert samples[("generation_provider_request_duration_seconds_bucket", all_captions)] == server["chat:200"]
    # The finished batch is in the duration histogram.
    partially = (("status", "partially_failed"),)
    assert samples[("generation_batch_duration_seconds_count", partially)] == 1
    assert samples[("generation_batch_duration_seconds_sum", partially)] > 0


@pytest.mark.django_db(transaction=True)
def test_counters_add_up_across_jobs(client, metrics_token, openai_settings, fake_openai):
    """Two jobs (two work horses, in production) add to the same counters."""
    for count in (3, 4):
        batch = batch_start(campaign=CampaignFactory(), count=count, enqueue=False, actor=None)
        run_chunk(batch.pk)
    samples = scrape(client)
    assert samples[("generation_posts_generated_total", (("provider", "openai"),))] == 7
    assert not [key for key in samples if key[0] == "generation_posts_failed_total"]
    assert samples[("generation_batch_duration_seconds_count", (("status", "succeeded"),))] == 2
