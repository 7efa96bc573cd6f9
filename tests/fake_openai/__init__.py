"""A fake OpenAI-compatible server on loopback, for tests and benchmarks.

A real HTTP server (stdlib ThreadingHTTPServer) that speaks enough of the API for the official
SDK, and behaves like the servers a user may point OPENAI_BASE_URL at:

- POST /v1/chat/completions answers a JSON caption; POST /v1/images/generations an image, as
  base64 or as a URL on this server (GET /files/<name>.png serves the bytes);
- the Files and Batch APIs: POST /v1/files (multipart, purpose=batch, JSONL), GET /v1/files/{id},
  GET /v1/files/{id}/content, DELETE /v1/files/{id}, POST /v1/batches, GET /v1/batches,
  GET /v1/batches/{id}, POST /v1/batches/{id}/cancel;
- GET /_stats: what it saw (below). POST /_config with a Config's fields as JSON starts over with
  that behaviour (and forgets what it saw, files and batches); PATCH /_config changes only the
  fields given and forgets nothing; POST /_clock {"advance": seconds} moves the batches' clock.

    with FakeOpenAIServer(Config(image_response="auto")) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)

Config (tests/fake_openai/config.py); every default keeps the server as it was before the field:

Latency, rate limit and faults of the chat and image endpoints
- text_latency, image_latency: seconds before each answer.
- rpm: a bucket of `rpm` requests like OpenAI's, full at start, refilling continuously; over it,
  429 with retry hints (rate_limit_hints) and x-ratelimit-* headers on every answer. 0: no limit.
- fault_rate, fault_kinds: each request fails with probability fault_rate, with a kind drawn from
  fault_kinds, seeded by `seed`. The default mix is 429, 500, 503, timeout (hangs timeout_seconds,
  then 504), malformed_json, truncated_image. Also: 400 (bad request), 401 (a refused key, echoed
  as key_echo says), 403, 408, 409, 502 (an HTML page, as the proxy in front of an API sends),
  504, quota (429 insufficient_quota), content_policy (400 content_policy_violation).
- fault_sequence: faults for the first requests in arrival order, chat and images together
  ("" for none), before fault_rate applies: ["503"] fails the first request only. A request the
  rate limit refuses uses up its entry.
- refuse_posts: posts whose prompt says "post number N" (N-1 listed here) are refused for good:
  400 content_policy_violation, live and in batches.
- caption_chars: length of the caption's filler text.

Retry hints
- retry_hints: by fault kind (including "timeout"), the hints its answer carries, each a number
  of seconds: {"503": {"retry-after": 1}} sends `Retry-After: 1`; "retry-after-ms" sends
  `retry-after-ms` (in ms); "retry-after-date" sends Retry-After as an HTTP date (rounded up to
  the second). Default {"429": {"retry-after": 0.2}}.
- rate_limit_hints: the hints of the rate limiter's own 429, with the wait it worked out: any of
  "retry-after", "retry-after-ms", "retry-after-date". Default ["retry-after"].

Error shapes: every error body is OpenAI's {"error": {"message", "type", "param", "code"}}.
- key_echo: how a 401 echoes the refused key, one form or several: "plain", "upper", "base64",
  "urlencoded" (every byte percent-encoded). Default ["plain"].

Images
- image_response: "b64" (always base64: the default), "url" (always a URL, whatever was asked),
  "auto" (as OpenAI: gpt-image-* base64; other models a URL unless response_format=b64_json).
- gpt_image_rejects_response_format: a gpt-image-* request carrying response_format gets 400
  unknown_parameter, as OpenAI answers.
- download_fault_rate, download_faults: a download of an image URL fails with this probability,
  with a kind drawn from download_faults: "404"; "slow" (the image in 10 pieces spread over
  download_slow_seconds); "not_image" (an HTML page served as image/png); "oversized" (a body
  of download_oversized_bytes, its length declared); "oversized_chunked" (the same, chunked,
  with no length declared).

Files and Batch API
- batch_stage_seconds: how long each stage lasts on the server's clock (validating, in_progress,
  finalizing; cancelling too). Lines are done evenly through in_progress, so request_counts
  grow. A bad input file (not JSON, a custom_id twice, a url other than the batch's endpoint,
  no body, empty) fails the batch after validating, with OpenAI's codes in `errors`.
- batch_fail_custom_ids, batch_fail_fraction, batch_fail_kinds: lines that fail (listed, or drawn
  with this probability, seeded by seed and custom_id), with an error kind drawn from
  batch_fail_kinds (any kind of fault_kinds that answers an error). They go to the error file
  with the status and body the live endpoint would send; request_counts.failed counts them.
- expire_batches, batch_expire_fraction: the first `expire_batches` batches created end
  "expired" after in_progress, with the last batch_expire_fraction of their lines not done:
  those are in the error file with error.code "batch_expired" and response null (and counted in
  request_counts.failed); the rest are in the output file.
- refuse_images_in_batches: a batch for /v1/images/generations is refused (400), as some
  providers' Batch APIs do.
- batch_api_fault_rate, batch_api_fault_kinds: calls to the Files and Batches endpoints fail with
  this probability, with a kind drawn from the list: any error kind, or "lost_reply" (the call
  takes effect, then the connection closes without an answer).
Output files hold their lines in no particular order, as OpenAI's do; a cancelled batch's output
holds the lines done before the cancel, and the lines not done are in neither file. A batch's
line answers are those of the live endpoints (image_response applies), without latency, rate
limit or live faults.

GET /_stats
- counts: answers by endpoint and status ("chat:200", "images:429", "files:200", "batches:200",
  "file_content:200", "download:404"), and faults injected ("fault:503", "batch_api_fault:500").
- requests: one entry per answered API request: endpoint, status, fault, arrived_at, answered_at
  (time.time()), the retry hints sent and `retry_after`, the wait they ask (as the SDK reads them:
  retry-after-ms first), so a test can check a retry came no earlier than asked.
- arrivals, accepted: arrival times of chat and image requests, and of those the rate limit let
  through; peak_in_flight: the most requests answered at once.
- image_requests: per image request (batch lines included), its model, the response_format it
  asked for and how it was answered ("b64" or "url"); downloads: per download, its name, status,
  fault and arrival time.
- batches: by id, status, endpoint, request_counts, file ids, metadata, errors; files: by id,
  purpose, filename and size; clock_offset; config.

Run alone (the benchmark does): python -m tests.fake_openai --port 8765 --rpm 120
"""

from tests.fake_openai.answers import IMAGE, IMAGE_B64
from tests.fake_openai.config import ALL_FAULT_KINDS, FAULT_KINDS, Config
from tests.fake_openai.server import FakeOpenAIServer

__all__ = ["ALL_FAULT_KINDS", "FAULT_KINDS", "IMAGE", "IMAGE_B64", "Config", "FakeOpenAIServer"]
