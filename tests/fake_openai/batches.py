"""OpenAI's Files and Batch APIs: uploads, batches that move through their states on the server's
clock, and the output and error files they leave.

A batch's whole life is planned when it is created (which lines fail, which expire, each line's
answer); its state at any moment is worked out from the clock, so nothing runs in the background:
validating → in_progress → finalizing → completed, each stage `batch_stage_seconds` long; or
validating → failed (a bad input file), in_progress → expired, or cancelling → cancelled.
The shapes follow the SDK's types (openai/types/batch.py, file_object.py, batch_request_counts.py).
"""

import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fake_openai.answers import error_answer, error_payload
from tests.fake_openai.config import Config

# Batch endpoint → the live endpoint whose answers its lines get.
ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/images/generations": "images"}
# Endpoints the real Batch API takes that this server does not.
OTHER_ENDPOINTS = ("/v1/responses", "/v1/embeddings", "/v1/completions", "/v1/moderations", "/v1/images/edits")
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."

# (live endpoint, request body) → (status code, response body)
LineAnswerer = Callable[[str, dict], tuple[int, dict]]


class ApiError(Exception):
    """A request the API refuses, answered with OpenAI's error shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.payload = error_payload(message, "invalid_request_error", code, param)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@dataclass
class Line:
    custom_id: str
    status_code: int
    body: dict
    request: dict = field(default_factory=dict, repr=False)  # the input line's body
    expires: bool = False  # not done before the batch expired

    @property
    def succeeded(self) -> bool:
        return self.status_code == 200 and not self.expires

    def output(self) -> dict:
        """This line in the output file (a success) or the error file (an error answer, or expired)."""
        line_id = f"batch_req_{uuid.uuid4().hex[:24]}"
        if self.expires:
            error = {"code": "batch_expired", "message": EXPIRED_MESSAGE}
            return {"id": line_id, "custom_id": self.custom_id, "response": None, "error": error}
        response = {"status_code": self.status_code, "request_id": f"req_{uuid.uuid4().hex}", "body": self.body}
        return {"id": line_id, "custom_id": self.custom_id, "response": response, "error": None}


@dataclass
class Batch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict | None
    model: str | None
    created_at: float  # on the server's clock
    stage_seconds: float
    lines: list[Line]
    errors: list[dict]  # why validation failed
    expires: bool
    cancelled_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    files_written: bool = False
    output_order: list[int] = field(default_factory=list)

    def _stage_end(self, stage: int) -> float:
        return self.created_at + stage * self.stage_seconds

    def _clock(self, now: float) -> float:
        """The time the batch's work stopped at: a cancel freezes it."""
        return now if self.cancelled_at is None else min(now, self.cancelled_at)

    def _reached(self, stage: int, now: float) -> bool:
        moment = self._clock(now)
        return moment > self.created_at and moment >= self._stage_end(stage)

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "cancelling" if now < self.cancelled_at + self.stage_seconds else "cancelled"
        if not self._reached(1, now):
            return "validating"
        if self.errors:
            return "failed"
        if not self._reached(2, now):
            return "in_progress"
        if self.expires:
            return "expired"
        return "finalizing" if not self._reached(3, now) else "completed"

    def processed(self, now: float) -> int:
        """How many lines (in input order) are done: they are worked through evenly during in_progress."""
        if self.errors or not self._reached(1, now):
            return 0
        elapsed = self._clock(now) - self._stage_end(1)
        fraction = min(1.0, elapsed / self.stage_seconds) if self.stage_seconds else 1.0
        done = math.floor(fraction * len(self.lines))
        return min(done, sum(not line.expires for line in self.lines))

    def request_counts(self, now: float) -> dict:
        if self.errors or not self._reached(1, now):
            return {"total": 0, "completed": 0, "failed": 0}
        done = self.lines[: self.processed(now)]
        completed = sum(line.succeeded for line in done)
        failed = len(done) - completed
        if self.status(now) == "expired":
            failed += sum(line.expires for line in self.lines)  # they are in the error file
        return {"total": len(self.lines), "completed": completed, "failed": failed}

    def to_json(self, now: float) -> dict:
        status = self.status(now)

        def at(stage: int, reached: bool) -> int | None:
            return int(self._stage_end(stage)) if reached else None

        cancelled = self.cancelled_at is not None
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            "in_progress_at": at(1, not self.errors and self._reached(1, now)),
            "expires_at": int(self.created_at) + 24 * 3600,
            "finalizing_at": at(2, not self.errors and not self.expires and self._reached(2, now)),
            "completed_at": at(3, status == "completed"),
            "failed_at": at(1, status == "failed"),
            "expired_at": at(2, status == "expired"),
            "cancelling_at": int(self.cancelled_at) if cancelled else None,
            "cancelled_at": int(self.cancelled_at + self.stage_seconds) if status == "cancelled" else None,
            "request_counts": self.request_counts(now),
            "metadata": self.metadata,
        }


class BatchStore:
    """Files and batches of one server. The caller holds the server's lock around every call."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, Batch] = {}

    def upload(self, *, filename: str, purpose: str, data: bytes, now: float) -> StoredFile:
        if purpose not in UPLOAD_PURPOSES:
            raise ApiError(400, f"Invalid value for 'purpose': '{purpose}'.", param="purpose", code="invalid_value")
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl", param="file")
        return self._store(filename, purpose, data, now)

    def _store(self, filename: str, purpose: str, data: bytes, now: float) -> StoredFile:
        stored = StoredFile(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, data, int(now))
        self.files[stored.id] = stored
        return stored

    def file(self, file_id: str) -> StoredFile:
        if file_id not in self.files:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return self.files[file_id]

    def delete_file(self, file_id: str) -> dict:
        self.file(file_id)
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def batch(self, batch_id: str) -> Batch:
        if batch_id not in self.batches:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return self.batches[batch_id]

    def create(self, body: dict, *, config: Config, now: float, answer: LineAnswerer, key: str) -> Batch:
        """A new batch, validating. Refusals a real server makes at once raise ApiError; a bad input
        file gives a batch that fails after validating, with the lines at fault in `errors`."""
        endpoint = body.get("endpoint")
        window = body.get("completion_window")
        if window != "24h":
            raise ApiError(400, f"Invalid value for 'completion_window': {window!r}.", param="completion_window")
        if endpoint not in ENDPOINTS:
            supported = ", ".join((*ENDPOINTS, *OTHER_ENDPOINTS))
            raise ApiError(400, f"Invalid endpoint {endpoint!r}; supported: {supported}.", param="endpoint")
        if endpoint == "/v1/images/generations" and config.refuse_images_in_batches:
            message = f"The endpoint {endpoint} is not supported by the Batch API."
            raise ApiError(400, message, param="endpoint", code="unsupported_endpoint")
        input_file = self.files.get(str(body.get("input_file_id")))
        if input_file is None or input_file.purpose != "batch":
            message = f"Invalid 'input_file_id': no file of purpose 'batch' with id {body.get('input_file_id')!r}."
            raise ApiError(400, message, param="input_file_id")
        requests, errors = parse_input(input_file.data, endpoint)
        expires = len(self.batches) < config.expire_batches
        lines = [] if errors else plan_lines(requests, ENDPOINTS[endpoint], config, answer, key)
        if expires:
            keep = len(lines) - math.ceil(len(lines) * config.batch_expire_fraction)
            for line in lines[keep:]:
                line.expires = True
        batch = Batch(
            id=f"batch_{uuid.uuid4().hex[:24]}",
            endpoint=endpoint,
            input_file_id=input_file.id,
            completion_window=window,
            metadata=body.get("metadata"),
            model=next((request["body"].get("model") for request in requests), None),
            created_at=now,
            stage_seconds=config.batch_stage_seconds,
            lines=lines,
            errors=errors,
            expires=expires,
        )
        # Output files hold their lines in no particular order, as OpenAI's do.
        batch.output_order = list(range(len(lines)))
        random.Random(batch.id).shuffle(batch.output_order)
        self.batches[batch.id] = batch
        return batch

    def cancel(self, batch_id: str, now: float) -> Batch:
        batch = self.batch(batch_id)
        status = batch.status(now)
        if status in ("validating", "in_progress", "finalizing"):
            batch.cancelled_at = now
        elif status != "cancelling":
            raise ApiError(409, f"Cannot cancel a batch with status '{status}'.")
        return batch

    def view(self, batch: Batch, now: float) -> dict:
        """The batch as the API shows it; its output and error files exist from when it ends."""
        if not batch.files_written and batch.status(now) in ("completed", "expired", "cancelled"):
            self._write_files(batch, now)
        return batch.to_json(now)

    def _write_files(self, batch: Batch, now: float) -> None:
        done = batch.processed(now)  # the first `done` lines; expiring lines are the last ones
        expired = batch.status(now) == "expired"
        ended = [
            batch.lines[index]
            for index in batch.output_order
            if index < done or (expired and batch.lines[index].expires)
        ]
        succeeded = [line.output() for line in ended if line.succeeded]
        failed = [line.output() for line in ended if not line.succeeded]
        if succeeded:
            batch.output_file_id = self._store(f"{batch.id}_output.jsonl", "batch_output", _jsonl(succeeded), now).id
        if failed:
            batch.error_file_id = self._store(f"{batch.id}_error.jsonl", "batch_output", _jsonl(failed), now).id
        batch.files_written = True

    def list(self, now: float, *, after: str | None, limit: int) -> dict:
        """Newest first, with OpenAI's cursor (the SDK's CursorPage)."""
        batches = sorted(self.batches.values(), key=lambda batch: batch.created_at, reverse=True)
        if after:
            ids = [batch.id for batch in batches]
            batches = batches[ids.index(after) + 1 :] if after in ids else []
        page = [self.view(batch, now) for batch in batches[:limit]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(batches) > limit,
        }

    def stats(self, now: float) -> dict:
        return {
            "batches": {
                batch.id: {
                    key: value
                    for key, value in self.view(batch, now).items()
                    if key in ("status", "endpoint", "input_file_id", "output_file_id", "error_file_id")
                    or key in ("request_counts", "metadata", "errors")
                }
                for batch in self.batches.values()
            },
            "files": {
                stored.id: {"purpose": stored.purpose, "filename": stored.filename, "bytes": len(stored.data)}
                for stored in self.files.values()
            },
        }


def parse_input(data: bytes, endpoint: str) -> tuple[list[dict], list[dict]]:
    """The requests of a JSONL input file, and the errors that fail its batch (OpenAI's codes)."""
    requests: list[dict] = []
    errors: list[dict] = []
    seen: set[str] = set()

    def error(code: str, message: str, line: int | None = None, param: str | None = None) -> None:
        errors.append({"code": code, "message": message, "param": param, "line": line})

    for number, text in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            error("invalid_json_line", "This line is not parseable as valid JSON.", number)
            continue
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            error("missing_required_parameter", "Missing required parameter: 'custom_id'.", number, "custom_id")
        elif custom_id in seen:
            error("duplicate_custom_id", f"The custom_id '{custom_id}' is used more than once.", number, "custom_id")
        if request.get("method") != "POST":
            error("invalid_method", "Only the POST method is supported.", number, "method")
        if request.get("url") != endpoint:
            message = f"The url '{request.get('url')}' does not match the batch's endpoint '{endpoint}'."
            error("url_mismatch", message, number, "url")
        if not isinstance(request.get("body"), dict):
            error("missing_required_parameter", "Missing required parameter: 'body'.", number, "body")
        seen.add(str(custom_id))
        requests.append(request)
    if not requests and not errors:
        error("empty_file", "The input file is empty.")
    return requests, errors


def plan_lines(requests: list[dict], live_endpoint: str, config: Config, answer: LineAnswerer, key: str) -> list[Line]:
    """Each line's answer: a failure when its custom_id is listed or drawn, else the live endpoint's answer."""
    lines = []
    for request in requests:
        custom_id = request["custom_id"]
        draw = random.Random(f"{config.seed}:{custom_id}")
        listed = custom_id in config.batch_fail_custom_ids
        if listed or (config.batch_fail_fraction and draw.random() < config.batch_fail_fraction):
            failure = error_answer(draw.choice(config.batch_fail_kinds), key=key, key_echo=config.key_echo)
            status, body = failure.status, failure.payload
        else:
            status, body = answer(live_endpoint, request["body"])
        lines.append(Line(custom_id, status, body, request=request["body"]))
    return lines


def _jsonl(items: list[dict]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)
