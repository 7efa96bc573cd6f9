"""The fake OpenAI server against the real openai SDK: what it answers, the SDK parses.

Each feature the engine will be driven against (image URLs, retry hints, error shapes, the
Files and Batch APIs, /_stats) is checked here through the SDK a user's code would use.
"""

import asyncio
import base64
import io
import itertools
import json
from email.utils import parsedate_to_datetime

import httpx
import openai
import pytest
from openai.types import ImagesResponse
from openai.types.chat import ChatCompletion
from PIL import Image, UnidentifiedImageError

from tests.fake_openai import Config, FakeOpenAIServer

KEY = "sk-test-fake-key-0123456789abcdefghij"
STAGE = 10.0  # seconds per batch stage; the tests move the server's clock instead of waiting


@pytest.fixture
def server():
    with FakeOpenAIServer(Config()) as fake:
        yield fake


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=10) as sdk:
        yield sdk


def caption(client: openai.OpenAI, post: int = 1) -> ChatCompletion:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"Write post number {post}."}]
    )


def opens_as_image(data: bytes) -> bool:
    try:
        Image.open(io.BytesIO(data)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        return False
    return True


# Images answered as a URL


def test_auto_answers_like_openai_a_url_for_dall_e_unless_base64_is_asked(server, client):
    server.configure(Config(image_response="auto"))
    dall_e = client.images.generate(model="dall-e-3", prompt="post number 1: a beach")
    asked_b64 = client.images.generate(model="dall-e-3", prompt="a beach", response_format="b64_json")
    gpt_image = client.images.generate(model="gpt-image-1", prompt="a beach")

    url = dall_e.data[0].url
    assert url.startswith(f"{server.origin}/files/") and url.endswith(".png")
    assert dall_e.data[0].b64_json is None
    downloaded = httpx.get(url)
    assert downloaded.status_code == 200 and downloaded.headers["content-type"] == "image/png"
    assert opens_as_image(downloaded.content)
    assert opens_as_image(base64.b64decode(asked_b64.data[0].b64_json))
    assert gpt_image.data[0].b64_json and gpt_image.data[0].url is None

    stats = server.stats()
    assert [(r["model"], r["response_format"], r["answered_as"]) for r in stats["image_requests"]] == [
        ("dall-e-3", None, "url"),
        ("dall-e-3", "b64_json", "b64"),
        ("gpt-image-1", None, "b64"),
    ]
    assert [(d["status"], d["fault"]) for d in stats["downloads"]] == [(200, None)]
    assert stats["counts"]["download:200"] == 1


def test_url_mode_answers_a_url_whatever_was_asked_and_b64_mode_is_the_default(server, client):
    assert client.images.generate(model="dall-e-3", prompt="x").data[0].b64_json  # Config() as before
    server.configure(Config(image_response="url"))
    answer = client.images.generate(model="gpt-image-1", prompt="x", response_format="b64_json")
    assert answer.data[0].url and answer.data[0].b64_json is None


def test_gpt_image_can_refuse_response_format_as_openai_does(server, client):
    server.configure(Config(image_response="auto", gpt_image_rejects_response_format=True))
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="gpt-image-1", prompt="x", response_format="b64_json")
    assert (refused.value.code, refused.value.param) == ("unknown_parameter", "response_format")
    assert client.images.generate(model="gpt-image-1", prompt="x").data[0].b64_json


def test_a_truncated_image_fault_serves_truncated_bytes_at_its_url(server, client):
    server.configure(Config(image_response="url", fault_rate=1.0, fault_kinds=["truncated_image"]))
    url = client.images.generate(model="dall-e-3", prompt="x").data[0].url
    assert not opens_as_image(httpx.get(url).content)


def download_with_fault(server, client, fault: str, **config) -> tuple[str, Config]:
    server.configure(
        Config(image_response="url", download_fault_rate=1.0, download_faults=[fault], **config),
    )
    return client.images.generate(model="dall-e-3", prompt="x").data[0].url


def test_download_fault_404(server, client):
    url = download_with_fault(server, client, "404")
    assert httpx.get(url).status_code == 404
    assert httpx.get(f"{server.origin}/files/never-published.png").status_code == 404
    assert server.stats()["counts"]["download:404"] == 2


def test_download_fault_not_an_image(server, client):
    answer = httpx.get(download_with_fault(server, client, "not_image"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert not opens_as_image(answer.content)


@pytest.mark.parametrize("fault", ["oversized", "oversized_chunked"])
def test_download_fault_oversized(server, client, fault):
    cap = 256 * 1024
    url = download_with_fault(server, client, fault, download_oversized_bytes=4 * cap)
    with httpx.stream("GET", url) as answer:
        declared = answer.headers.get("content-length")
        received = 0
        for piece in answer.iter_bytes():
            received += len(piece)
            if received > cap:
                break
    assert received > cap  # a client must stop reading by itself
    assert declared == (str(4 * cap) if fault == "oversized" else None)
    assert server.stats()["downloads"][0]["fault"] == fault


def test_download_fault_slow_body(server, client):
    url = download_with_fault(server, client, "slow", download_slow_seconds=2.0)
    # Each of the 10 pieces comes 0.2 s after the last: a short read timeout fires mid-body.
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=httpx.Timeout(5.0, read=0.05))
    server.update(download_slow_seconds=0.3)
    assert opens_as_image(httpx.get(url).content)  # slow, but whole
    assert [d["fault"] for d in server.stats()["downloads"]] == ["slow", "slow"]


# Retry hints


@pytest.mark.parametrize("status", ["408", "409", "429", "500", "502", "503", "504"])
def test_every_retryable_status_can_carry_retry_after_and_retry_after_ms(server, client, status):
    server.configure(Config(fault_sequence=[status], retry_hints={status: {"retry-after": 2, "retry-after-ms": 1.5}}))
    with pytest.raises(openai.APIStatusError) as failed:
        caption(client)
    assert failed.value.status_code == int(status)
    assert failed.value.response.headers["retry-after"] == "2"
    assert failed.value.response.headers["retry-after-ms"] == "1500"
    assert caption(client).choices  # the sequence fails the first request only

    first, second = server.stats()["requests"]
    assert (first["status"], first["fault"], first["retry_after"]) == (int(status), status, 1.5)
    assert first["hints"] == {"retry-after": "2", "retry-after-ms": "1500"}
    assert (second["status"], second["fault"], second["retry_after"]) == (200, None, None)


def test_retry_after_as_an_http_date_never_asks_for_less_than_configured(server, client):
    server.configure(Config(fault_sequence=["503"], retry_hints={"503": {"retry-after-date": 2}}))
    with pytest.raises(openai.InternalServerError) as failed:
        caption(client)
    asked_until = parsedate_to_datetime(failed.value.response.headers["retry-after"]).timestamp()
    entry = server.stats()["requests"][0]
    assert 2 <= asked_until - entry["answered_at"] <= 3
    assert entry["retry_after"] == pytest.approx(asked_until - entry["answered_at"])


def test_the_rate_limiter_sends_the_hints_asked_for(server, client):
    server.configure(Config(rpm=1, rate_limit_hints=["retry-after-ms", "retry-after-date"]))
    caption(client)
    with pytest.raises(openai.RateLimitError) as limited:
        caption(client)
    headers = limited.value.response.headers
    assert 59_000 <= int(headers["retry-after-ms"]) <= 60_000  # one request a minute
    assert parsedate_to_datetime(headers["retry-after"])  # a date, not seconds
    assert limited.value.code == "rate_limit_exceeded"
    assert server.stats()["requests"][1]["fault"] == "rate_limit"


def retried_no_earlier_than_asked(requests: list[dict]) -> bool:
    """What an engine test checks: each request after a hint came at least the hint's wait later."""
    return all(
        later["arrived_at"] - earlier["answered_at"] >= earlier["retry_after"]
        for earlier, later in itertools.pairwise(requests)
        if earlier["retry_after"] is not None
    )


def test_the_stats_tell_a_retry_that_waited_from_one_that_did_not(server):
    hints = {"503": {"retry-after-ms": 0.3}}
    server.configure(Config(fault_sequence=["503"], retry_hints=hints))
    # The SDK's own retry honours retry-after-ms: a client that waits as asked.
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=1) as patient:
        caption(patient)
    assert [r["status"] for r in server.stats()["requests"]] == [503, 200]
    assert retried_no_earlier_than_asked(server.stats()["requests"])

    server.configure(Config(fault_sequence=["503"], retry_hints=hints))
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as eager:
        with pytest.raises(openai.InternalServerError):
            caption(eager)
        caption(eager)  # at once
    assert not retried_no_earlier_than_asked(server.stats()["requests"])


def test_the_default_429_fault_still_asks_for_0_2_seconds(server, client):
    server.configure(Config(fault_rate=1.0, fault_kinds=["429"]))
    with pytest.raises(openai.RateLimitError) as limited:
        caption(client)
    assert limited.value.response.headers["retry-after"] == "0.2"
    assert "retry-after-ms" not in limited.value.response.headers


# Error shapes real servers send


@pytest.mark.parametrize(
    ("kind", "error", "code", "type_"),
    [
        ("quota", openai.RateLimitError, "insufficient_quota", "insufficient_quota"),
        ("content_policy", openai.BadRequestError, "content_policy_violation", "invalid_request_error"),
        ("401", openai.AuthenticationError, "invalid_api_key", "invalid_request_error"),
        ("400", openai.BadRequestError, "invalid_value", "invalid_request_error"),
        ("403", openai.PermissionDeniedError, "unsupported_country_region_territory", "request_forbidden"),
        ("500", openai.InternalServerError, None, "server_error"),
    ],
)
def test_errors_have_openai_shape_and_the_sdk_reads_their_codes(server, client, kind, error, code, type_):
    server.configure(Config(fault_rate=1.0, fault_kinds=[kind]))
    with pytest.raises(error) as failed:
        caption(client)
    assert (failed.value.code, failed.value.type) == (code, type_)
    assert set(failed.value.body) == {"message", "type", "param", "code"}


def test_a_502_is_the_html_page_a_proxy_sends(server, client):
    server.configure(Config(fault_rate=1.0, fault_kinds=["502"]))
    with pytest.raises(openai.InternalServerError) as failed:
        caption(client)
    assert failed.value.status_code == 502
    assert failed.value.response.headers["content-type"] == "text/html"
    assert failed.value.code is None  # no JSON to read a code from


def test_a_refused_key_is_echoed_plain_by_default(server, client):
    server.configure(Config(fault_rate=1.0, fault_kinds=["401"]))
    with pytest.raises(openai.AuthenticationError) as refused:
        caption(client)
    assert KEY in refused.value.message


def test_a_refused_key_can_be_echoed_in_forms_an_exact_match_misses(server, client):
    server.configure(Config(fault_rate=1.0, fault_kinds=["401"], key_echo=["upper", "base64", "urlencoded"]))
    with pytest.raises(openai.AuthenticationError) as refused:
        caption(client)
    message = refused.value.message
    assert KEY not in message
    assert KEY.upper() in message
    assert base64.b64encode(KEY.encode()).decode() in message
    percent_encoded = message.split(" / ")[-1].split(".")[0]
    assert httpx.URL(f"http://x/?k={percent_encoded}").params["k"] == KEY


def test_refused_posts_are_content_policy_refusals_as_before(server, client):
    server.configure(Config(refuse_posts=[2]))
    with pytest.raises(openai.BadRequestError) as refused:
        caption(client, post=3)
    assert refused.value.code == "content_policy_violation"
    assert caption(client, post=2).choices


def test_an_unknown_fault_kind_is_refused_when_configured():
    with pytest.raises(ValueError, match="fault_kinds"):
        Config(fault_kinds=["418"])
    with pytest.raises(ValueError, match="same header"):
        Config(retry_hints={"503": {"retry-after": 1, "retry-after-date": 1}})


# Files and Batch API


def jsonl(lines: list[dict]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_lines(count: int) -> list[dict]:
    return [
        {
            "custom_id": f"post-{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Write post number {n}."}]},
        }
        for n in range(1, count + 1)
    ]


def image_lines(*models_and_formats: tuple[str, str | None]) -> list[dict]:
    lines = []
    for n, (model, response_format) in enumerate(models_and_formats, start=1):
        body = {"model": model, "prompt": f"post number {n}: a beach", "size": "1024x1024"}
        if response_format:
            body["response_format"] = response_format
        lines.append({"custom_id": f"image-{n}", "method": "POST", "url": "/v1/images/generations", "body": body})
    return lines


def submit(client: openai.OpenAI, lines: list[dict], endpoint: str = "/v1/chat/completions", **options):
    uploaded = client.files.create(file=("input.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h", **options)


def file_lines(client: openai.OpenAI, file_id: str | None) -> dict[str, dict]:
    if file_id is None:
        return {}
    return {line["custom_id"]: line for line in map(json.loads, client.files.content(file_id).text.splitlines())}


def test_a_batch_moves_through_its_states_and_leaves_output_and_error_files(server, client):
    server.configure(
        Config(batch_stage_seconds=STAGE, refuse_posts=[2], batch_fail_custom_ids=["post-4"], batch_fail_kinds=["500"])
    )
    batch = submit(client, chat_lines(4), metadata={"phase": "captions"})
    assert batch.status == "validating" and batch.request_counts.total == 0
    assert batch.metadata == {"phase": "captions"} and batch.model == "gpt-4o-mini"

    seen = []
    for _ in range(6):
        server.advance_clock(STAGE / 2)
        current = client.batches.retrieve(batch.id)
        counts = current.request_counts
        seen.append((current.status, counts.total, counts.completed, counts.failed))
    assert seen == [
        ("validating", 0, 0, 0),
        ("in_progress", 4, 0, 0),
        ("in_progress", 4, 2, 0),  # lines are done in order, evenly through the stage
        ("finalizing", 4, 2, 2),
        ("finalizing", 4, 2, 2),
        ("completed", 4, 2, 2),
    ]
    assert current.output_file_id and current.error_file_id
    assert current.in_progress_at < current.finalizing_at < current.completed_at

    output = file_lines(client, current.output_file_id)
    assert set(output) == {"post-1", "post-2"}
    for line in output.values():
        assert line["response"]["status_code"] == 200 and line["error"] is None
        completion = ChatCompletion.model_validate(line["response"]["body"])
        assert json.loads(completion.choices[0].message.content)["caption"]
    errors = file_lines(client, current.error_file_id)
    assert errors["post-3"]["response"]["status_code"] == 400
    assert errors["post-3"]["response"]["body"]["error"]["code"] == "content_policy_violation"
    assert errors["post-4"]["response"]["status_code"] == 500
    assert client.files.retrieve(current.output_file_id).purpose == "batch_output"
    assert server.received("batch:chat")[0]["messages"][0]["content"] == "Write post number 1."


def test_the_async_client_runs_a_batch_on_the_real_clock(server):
    server.configure(Config(batch_stage_seconds=0.05))

    async def run() -> tuple[openai.types.Batch, str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
            uploaded = await sdk.files.create(file=("captions.jsonl", jsonl(chat_lines(3))), purpose="batch")
            batch = await sdk.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            for _ in range(200):
                batch = await sdk.batches.retrieve(batch.id)
                if batch.status == "completed":
                    break
                await asyncio.sleep(0.02)
            return batch, (await sdk.files.content(batch.output_file_id)).text

    batch, output = asyncio.run(run())
    assert batch.status == "completed" and batch.request_counts.completed == 3
    assert len(output.splitlines()) == 3


def test_an_images_batch_answers_as_the_live_endpoint_would(server, client):
    server.configure(Config(batch_stage_seconds=STAGE, image_response="auto"))
    lines = image_lines(("dall-e-3", None), ("dall-e-3", "b64_json"), ("gpt-image-1", None))
    batch = submit(client, lines, endpoint="/v1/images/generations")
    server.advance_clock(3 * STAGE)
    batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.request_counts.completed == 3
    output = file_lines(client, batch.output_file_id)
    images = {custom_id: ImagesResponse.model_validate(line["response"]["body"]) for custom_id, line in output.items()}
    assert opens_as_image(httpx.get(images["image-1"].data[0].url).content)
    assert opens_as_image(base64.b64decode(images["image-2"].data[0].b64_json))
    assert images["image-3"].data[0].b64_json
    assert [r["response_format"] for r in server.stats()["image_requests"]] == [None, "b64_json", None]


def test_a_provider_whose_batch_api_takes_no_images_refuses_an_images_batch(server, client):
    server.configure(Config(refuse_images_in_batches=True))
    with pytest.raises(openai.BadRequestError) as refused:
        submit(client, image_lines(("gpt-image-1", None)), endpoint="/v1/images/generations")
    assert refused.value.code == "unsupported_endpoint"
    assert submit(client, chat_lines(1)).status == "validating"  # captions still go


def test_an_expired_batch_keeps_what_was_done_and_lists_the_rest_as_batch_expired(server, client):
    server.configure(Config(batch_stage_seconds=STAGE, expire_batches=1, batch_expire_fraction=0.5))
    expiring = submit(client, chat_lines(4))
    server.advance_clock(2 * STAGE)
    expired = client.batches.retrieve(expiring.id)
    assert expired.status == "expired" and expired.expired_at and expired.completed_at is None
    counts = expired.request_counts
    assert (counts.total, counts.completed, counts.failed) == (4, 2, 2)
    assert set(file_lines(client, expired.output_file_id)) == {"post-1", "post-2"}
    errors = file_lines(client, expired.error_file_id)
    assert set(errors) == {"post-3", "post-4"}
    assert all(line["response"] is None and line["error"]["code"] == "batch_expired" for line in errors.values())

    follow_up = submit(client, chat_lines(4)[2:])  # only the first batch expires
    server.advance_clock(3 * STAGE)
    assert client.batches.retrieve(follow_up.id).status == "completed"


def test_a_cancelled_batch_keeps_the_lines_done_before_the_cancel(server, client):
    server.configure(Config(batch_stage_seconds=STAGE))
    batch = submit(client, chat_lines(4))
    server.advance_clock(1.5 * STAGE)  # halfway through in_progress: 2 lines done
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    assert client.batches.cancel(batch.id).status == "cancelling"  # asking twice is harmless
    server.advance_clock(STAGE)
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.request_counts.completed == 2
    assert set(file_lines(client, cancelled.output_file_id)) == {"post-1", "post-2"}
    assert cancelled.error_file_id is None  # the lines never done are in neither file
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_a_bad_input_file_fails_its_batch_with_openai_codes(server, client):
    server.configure(Config(batch_stage_seconds=STAGE))
    good, other = chat_lines(2)
    other["custom_id"] = good["custom_id"]
    wrong_url = {**chat_lines(1)[0], "custom_id": "x", "url": "/v1/embeddings"}
    uploaded = client.files.create(
        file=("input.jsonl", jsonl([good, other]) + b"{not json\n" + jsonl([wrong_url])), purpose="batch"
    )
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"
    server.advance_clock(STAGE)
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at and failed.output_file_id is None
    assert [(e.code, e.line) for e in failed.errors.data] == [
        ("duplicate_custom_id", 2),
        ("invalid_json_line", 3),
        ("url_mismatch", 4),
    ]


def test_files_refuse_what_openai_refuses(server, client):
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("input.txt", b"{}"), purpose="batch")
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-missing")
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h")
    assert refused.value.param == "input_file_id"
    uploaded = client.files.create(file=("input.jsonl", jsonl(chat_lines(2))), purpose="batch")
    assert (uploaded.purpose, uploaded.bytes, uploaded.filename) == ("batch", len(jsonl(chat_lines(2))), "input.jsonl")
    assert client.files.content(uploaded.id).content == jsonl(chat_lines(2))
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)


def test_a_create_whose_reply_is_lost_still_made_its_batch(server, client):
    uploaded = client.files.create(file=("input.jsonl", jsonl(chat_lines(2))), purpose="batch")
    server.update(batch_api_fault_rate=1.0, batch_api_fault_kinds=["lost_reply"])
    with pytest.raises(openai.APIConnectionError):
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"batch_job": "7", "phase": "captions"},
        )
    server.update(batch_api_fault_rate=0.0)
    # What an engine that lost the reply can do: find the batch by its metadata instead of submitting again.
    listed = list(client.batches.list())
    assert [batch.metadata for batch in listed] == [{"batch_job": "7", "phase": "captions"}]
    assert server.stats()["counts"]["batches:lost"] == 1


def test_batch_api_calls_can_fail_with_retry_hints(server, client):
    server.configure(
        Config(batch_api_fault_rate=1.0, batch_api_fault_kinds=["503"], retry_hints={"503": {"retry-after": 3}})
    )
    with pytest.raises(openai.InternalServerError) as failed:
        client.batches.retrieve("batch_anything")
    assert failed.value.response.headers["retry-after"] == "3"
    assert server.stats()["counts"] == {"batch_api_fault:503": 1, "batches:503": 1}


# GET /_stats, and changing the server from another process


def test_stats_over_http_show_requests_images_downloads_files_and_batches(server, client):
    server.configure(Config(image_response="url", batch_stage_seconds=STAGE))
    httpx.get(client.images.generate(model="dall-e-3", prompt="x").data[0].url)
    batch = submit(client, chat_lines(2))
    assert httpx.post(f"{server.origin}/_clock", json={"advance": STAGE}).json()["clock_offset"] == STAGE
    assert httpx.patch(f"{server.origin}/_config", json={"text_latency": 0.01}).json() == {"ok": True}

    stats = httpx.get(f"{server.origin}/_stats").json()
    assert stats["counts"] == {"images:200": 1, "download:200": 1, "files:200": 1, "batches:200": 1}
    assert [r["endpoint"] for r in stats["requests"]] == ["images", "files", "batches"]
    assert stats["image_requests"][0]["answered_as"] == "url"
    assert stats["downloads"][0]["status"] == 200
    assert stats["batches"][batch.id]["status"] == "in_progress"
    assert stats["batches"][batch.id]["request_counts"] == {"total": 2, "completed": 0, "failed": 0}
    assert stats["files"][batch.input_file_id]["purpose"] == "batch"
    assert stats["config"]["text_latency"] == 0.01 and stats["config"]["image_response"] == "url"

    refused = httpx.post(f"{server.origin}/_config", json={"image_response": "gif"})
    assert refused.status_code == 400 and "image_response" in refused.json()["error"]["message"]
