"""Structured logs: one JSON object per line in production, with the engine's context, and no secrets."""

import io
import json
import logging

import pytest

from campaigns.services import batch_start
from generation.jobs import run_chunk
from shared.logging import JsonFormatter, RedactSecretsFilter, TextFormatter
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import FAKE_KEY

BRIEF = "Zebra-striped oat milk for night owls, brewed under a full moon in Lisbon."


@pytest.fixture
def json_log():
    """What the production handler writes: the JSON formatter behind the redaction filter, at INFO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecretsFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_a_run_logs_json_lines_with_context_and_never_the_key_or_the_prompt(json_log, openai_settings, fake_openai):
    openai_settings.GENERATION_MAX_TRIES = 8
    fake_openai.configure(Config(fault_rate=0.3, fault_kinds=["429", "500"], refuse_posts=[1], seed=7))
    campaign = CampaignFactory(brief=BRIEF, platforms=["instagram"])
    batch = batch_start(campaign=campaign, count=6, enqueue=False, actor=None)
    run_chunk(batch.pk)

    text = json_log.getvalue()
    records = lines(json_log)  # every line is one JSON object
    assert records
    assert FAKE_KEY not in text
    assert "Zebra-striped" not in text and "full moon" not in text
    assert {record["level"] for record in records} <= {"info", "warning"}

    done = [r for r in records if r["message"] in ("caption request done", "image request done")]
    assert len(done) == 2 * 5  # 5 posts succeeded, each a caption and an image
    for record in done:
        assert record["batch_id"] == batch.pk
        assert record["provider"] == "openai"
        assert {"post_id", "attempt", "latency_ms"} <= record.keys()
        assert isinstance(record["latency_ms"], int)
    failed = [r for r in records if r["message"].startswith("post failed")]
    assert len(failed) == 1
    assert {"batch_id", "post_id", "attempt", "reason"} <= failed[0].keys()
    retried = [r for r in records if r["message"].startswith("retrying")]
    limited = [r for r in records if "request rate limited" in r["message"]]
    assert retried or limited  # the injected faults were seen and logged
    for record in retried + limited:
        assert {"batch_id", "post_id", "attempt", "latency_ms"} <= record.keys()
    chunk = [r for r in records if r["message"].startswith("chunk")]
    assert [r["batch_id"] for r in chunk] == [batch.pk, batch.pk]


def test_the_key_is_redacted_from_messages_and_tracebacks(json_log, settings):
    settings.OPENAI_API_KEY = FAKE_KEY
    log = logging.getLogger("generation.test")
    log.warning("calling with %s", FAKE_KEY, extra={"batch_id": 3})
    try:
        raise RuntimeError(f"auth failed for key {FAKE_KEY} and sk-{'a' * 30}")
    except RuntimeError:
        log.exception("request failed", extra={"post_id": 9})
    first, second = lines(json_log)
    assert first == {**first, "message": "calling with [redacted]", "batch_id": 3, "level": "warning"}
    assert second["post_id"] == 9
    assert "[redacted]" in second["exception"]
    assert FAKE_KEY not in json_log.getvalue()
    assert "sk-aaaa" not in json_log.getvalue()


def test_development_lines_are_readable():
    record = logging.LogRecord("generation.runner", logging.INFO, __file__, 1, "image request done", (), None)
    record.batch_id, record.post_id, record.latency_ms = 4, 17, 830
    line = TextFormatter().format(record)
    assert line.endswith("INFO    generation.runner: image request done batch_id=4 post_id=17 latency_ms=830")
