"""Economy batches: OpenAI's Batch API, about half the price, done within 24 hours.

An economy BatchJob goes through the provider in phases, each one JSONL input file and one
provider batch: captions (/v1/chat/completions), then images (/v1/images/generations; or the
normal path, with GENERATION_ECONOMY_BATCH_IMAGES off). Each is a ProviderBatch row, which the
workers advance in the clock's periodic economy polls (clock.tasks), one step per visit, under
the row's lease:

    upload the input file → create the provider batch → poll it every
    GENERATION_ECONOMY_POLL_SECONDS → once it has ended, write its output and error lines to
    the posts → finish the row: the next round of the phase (the lines that expired), the next
    phase, or the end.

Never twice: each id is saved as soon as the provider gives it; `create_sent_at` is saved before
a create is sent, and the batch carries the row's `submission_key` in its metadata, so a poller
that died between the provider creating the batch and our saving its id finds it again by
listing the provider's batches instead of creating another. A canceled BatchJob's provider
batches are canceled on the next visit.
"""

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import openai
from django.utils import timezone

from generation import economy_store, queue
from generation.config import EngineConfig, economy_unavailable_reason, image_cost, text_cost
from generation.domain_port import BatchStatus
from generation.economy_store import LeaseLost, LinePost, LineResult
from generation.images import fit_to_size, store_post_image
from generation.models import PROVIDER_BATCH_ENDED, BatchPhase, ProviderBatch, ProviderBatchStatus
from generation.post_requests import caption_request, image_request
from generation.providers.base import Brief, FailureReason, PermanentProviderError, ProviderError
from generation.providers.image_download import ImageDownloader
from generation.providers.openai_api import caption_body, caption_fields, image_body, provider_error, status_error
from shared.logging import redact_secrets
from shared.platforms import fit_caption, rules_for

log = logging.getLogger(__name__)

ENDPOINTS: dict[str, str] = {BatchPhase.CAPTIONS: "/v1/chat/completions", BatchPhase.IMAGES: "/v1/images/generations"}
COMPLETION_WINDOW: Literal["24h"] = "24h"
METADATA_KEY = "campaign_posts_submission"
# Lines written to the posts per transaction while an output file is read.
WRITE_EVERY = 32
# How far back the provider's batch list is searched for a batch whose create reply was lost.
FIND_LIMIT = 1000
# A poller's visits in one recovery round, at most: other work waits for this worker meanwhile.
STEPS_PER_ROUND = 20


def custom_id(post_id: int) -> str:
    return f"post-{post_id}"


def post_id_of(line_id: object) -> int | None:
    text = str(line_id or "")
    return int(text[5:]) if text.startswith("post-") and text[5:].isdigit() else None


class BatchAPI:
    """The Files and Batches calls of the official SDK (synchronous: the clock's poll job is)."""

    def __init__(self, config: EngineConfig) -> None:
        self.client = openai.OpenAI(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url,
            max_retries=0,
            timeout=config.request_timeout,
        )

    def upload(self, name: str, data: bytes) -> str:
        return self.client.files.create(file=(name, data, "application/jsonl"), purpose="batch").id

    def create(self, *, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> openai.types.Batch:
        return self.client.batches.create(
            input_file_id=input_file_id,
            endpoint=endpoint,  # type: ignore[arg-type]  # one of the SDK's Literal endpoints
            completion_window=COMPLETION_WINDOW,
            metadata=metadata,
        )

    def find(self, submission_key: str) -> openai.types.Batch | None:
        """The provider's batch that carries this submission key, among its latest FIND_LIMIT."""
        for seen, batch in enumerate(self.client.batches.list(limit=100)):
            if seen >= FIND_LIMIT:
                break
            if (batch.metadata or {}).get(METADATA_KEY) == submission_key:
                return batch
        return None

    def retrieve(self, batch_id: str) -> openai.types.Batch:
        return self.client.batches.retrieve(batch_id)

    def cancel(self, batch_id: str) -> openai.types.Batch:
        return self.client.batches.cancel(batch_id)

    def lines(self, file_id: str) -> Iterator[dict]:
        """An output or error file's lines, streamed."""
        with self.client.files.with_streaming_response.content(file_id) as response:
            for text in response.iter_lines():
                if text.strip():
                    yield json.loads(text)

    def close(self) -> None:
        self.client.close()


@dataclass
class Poller:
    """One worker's visits to the provider batches that are due."""

    config: EngineConfig
    owner: str
    api: BatchAPI | None = None

    @property
    def lease_seconds(self) -> float:
        return self.config.lease_seconds

    def run(self) -> int:
        """Visit every due row (up to STEPS_PER_ROUND); the number visited."""
        visited = 0
        try:
            while visited < STEPS_PER_ROUND:
                row = economy_store.claim_due_row(owner=self.owner, lease_seconds=self.lease_seconds)
                if row is None:
                    break
                visited += 1
                self.visit(row)
        finally:
            if self.api is not None:
                self.api.close()
        return visited

    def visit(self, row: ProviderBatch) -> None:
        """One step of a row; the row is released for the next visit whatever happens."""
        wait = self.config.economy_poll_seconds
        context = {"batch_id": row.batch_id, "phase": row.phase, "round": row.round}
        try:
            if self.api is None:
                self.api = BatchAPI(self.config)
            wait = self._step(row)
        except LeaseLost:
            log.warning("provider batch row %s was taken over by another worker", row.pk, extra=context)
            return
        except (openai.APIError, OSError, ValueError) as exc:
            log.warning("economy step failed, tried again later: %s", redact_secrets(str(exc))[:300], extra=context)
        if not row.done:
            economy_store.release_row(row, next_poll_at=timezone.now() + timedelta(seconds=wait))

    def _step(self, row: ProviderBatch) -> float:
        """Do the row's next step; the seconds until its next visit."""
        assert self.api is not None
        if row.batch.status == BatchStatus.CANCELED:
            return self._cancel(row)
        if not row.provider_batch_id:
            try:
                if not row.input_file_id:
                    if not self._upload(row):
                        self._finish(row)
                    return 0
                self._create(row)
            except openai.APIStatusError as exc:
                if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
                    raise  # transient: tried again on the next visit
                self._refused(row, exc)
                return 0
            return self.config.economy_poll_seconds
        batch = self.api.retrieve(row.provider_batch_id)
        self._save_state(row, batch)
        if row.status not in PROVIDER_BATCH_ENDED:
            return self.config.economy_poll_seconds
        self._write_lines(row, batch)
        self._finish(row)
        return 0

    def _upload(self, row: ProviderBatch) -> bool:
        """Upload the row's input file (False: none of its posts is left to ask for)."""
        assert self.api is not None
        posts, briefs = economy_store.line_posts(row)
        if not posts:
            return False
        lines = [self._line(row.phase, post, briefs[post.campaign_id]) for post in posts]
        data = b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
        file_id = self.api.upload(f"batch-{row.batch_id}-{row.phase}-{row.round}.jsonl", data)
        economy_store.save_row(row, lease_seconds=self.lease_seconds, input_file_id=file_id, total_count=len(lines))
        return True

    def _line(self, phase: str, post: LinePost, brief: Brief) -> dict:
        if phase == BatchPhase.CAPTIONS:
            request = caption_request(brief=brief, platform=post.platform, sequence=post.sequence, post_id=post.post_id)
            body = caption_body(self.config, request)
        else:
            image = image_request(
                brief=brief,
                platform=post.platform,
                sequence=post.sequence,
                post_id=post.post_id,
                prompt=post.image_prompt or post.caption[:300],
                headline=post.headline,
            )
            body = image_body(self.config, image)
        return {"custom_id": custom_id(post.post_id), "method": "POST", "url": ENDPOINTS[phase], "body": body}

    def _create(self, row: ProviderBatch) -> None:
        assert self.api is not None
        batch = self.api.find(row.submission_key) if row.create_sent_at else None
        if batch is None:
            # Saved before sending: if we die before saving the id, the next poller looks for it first.
            economy_store.save_row(row, lease_seconds=self.lease_seconds, create_sent_at=timezone.now())
            metadata = {METADATA_KEY: row.submission_key, "batch": str(row.batch_id), "phase": row.phase}
            batch = self.api.create(input_file_id=row.input_file_id, endpoint=ENDPOINTS[row.phase], metadata=metadata)
        else:
            log.info("found the provider batch whose create reply was lost", extra={"batch_id": row.batch_id})
        economy_store.save_row(row, lease_seconds=self.lease_seconds, provider_batch_id=batch.id)
        self._save_state(row, batch)
        economy_store.mark_submitted(row)

    def _refused(self, row: ProviderBatch, exc: openai.APIStatusError) -> None:
        """The provider refused the input file or the batch for good (a 4xx): asking again changes nothing.

        Image lines that a provider's Batch API does not take go through the normal path instead;
        otherwise the row's posts fail with the provider's reason.
        """
        failure = provider_error(exc)
        reason = f"the provider refused the batch: {failure.reason}"
        context = {"batch_id": row.batch_id, "phase": row.phase}
        if row.phase == BatchPhase.IMAGES:
            log.warning(
                "%s; the images go through the normal path (GENERATION_ECONOMY_BATCH_IMAGES=0 skips trying)",
                reason,
                extra=context,
            )
            released = economy_store.release_to_normal_path(row.batch_id, row.post_ids)
            if released:
                queue.enqueue_chunks(row.batch_id, released, config=self.config, reason="economy-images")
        else:
            log.warning("%s; its posts fail", reason, extra=context)
            economy_store.fail_posts(row.batch_id, row.post_ids, reason, failure.code)
        economy_store.save_row(row, lease_seconds=self.lease_seconds, status=ProviderBatchStatus.FAILED)
        self._finish(row)

    def _save_state(self, row: ProviderBatch, batch: openai.types.Batch) -> None:
        counts = batch.request_counts
        status = batch.status if batch.status in ProviderBatchStatus.values else row.status
        economy_store.save_row(
            row,
            lease_seconds=self.lease_seconds,
            status=status,
            total_count=counts.total if counts else row.total_count,
            completed_count=counts.completed if counts else 0,
            failed_count=counts.failed if counts else 0,
            output_file_id=batch.output_file_id or "",
            error_file_id=batch.error_file_id or "",
        )

    def _cancel(self, row: ProviderBatch) -> float:
        """The BatchJob was canceled: cancel its provider batch, and follow it until it has ended."""
        assert self.api is not None
        if not row.provider_batch_id and row.create_sent_at:
            found = self.api.find(row.submission_key)
            if found is not None:
                economy_store.save_row(row, lease_seconds=self.lease_seconds, provider_batch_id=found.id)
        if not row.provider_batch_id:
            self._finish(row)
            return 0
        batch = self.api.retrieve(row.provider_batch_id)
        if batch.status in ("validating", "in_progress", "finalizing") and not row.cancel_sent:
            batch = self.api.cancel(row.provider_batch_id)
            economy_store.save_row(row, lease_seconds=self.lease_seconds, cancel_sent=True)
        self._save_state(row, batch)
        if row.status in PROVIDER_BATCH_ENDED:
            self._finish(row)
        return self.config.economy_poll_seconds

    def _write_lines(self, row: ProviderBatch, batch: openai.types.Batch) -> None:
        """Write the ended batch's output and error lines to their posts, WRITE_EVERY at a time."""
        assert self.api is not None
        if row.status == ProviderBatchStatus.FAILED:
            errors = [error.message or error.code or "" for error in ((batch.errors and batch.errors.data) or [])]
            reason = "the provider refused the batch's input: " + ("; ".join(errors[:3]) or "no reason given")
            economy_store.fail_posts(
                row.batch_id, row.post_ids, redact_secrets(reason)[:500], FailureReason.BAD_REQUEST
            )
            return
        images_live = not self.config.economy_batch_images
        held, briefs = economy_store.line_posts(row)
        posts = {post.post_id: (post, briefs[post.campaign_id]) for post in held}
        pending: list[LineResult] = []
        for file_id in (row.output_file_id, row.error_file_id):
            if not file_id:
                continue
            for line in self.api.lines(file_id):
                result = self._result(row.phase, line, posts)
                if result is not None:
                    pending.append(result)
                if len(pending) >= WRITE_EVERY:
                    economy_store.write_results(row.batch_id, row.phase, pending, images_live=images_live)
                    economy_store.save_row(row, lease_seconds=self.lease_seconds)  # renews our lease
                    pending = []
        economy_store.write_results(row.batch_id, row.phase, pending, images_live=images_live)

    def _result(self, phase: str, line: dict, posts: dict[int, tuple[LinePost, Brief]]) -> LineResult | None:
        """A line's result for its post; None for a line that goes again in the next round (expired),
        or whose post is no longer the provider's (canceled, or written already)."""
        post_id = post_id_of(line.get("custom_id"))
        if post_id not in posts:
            return None
        post, brief = posts[post_id]
        response = line.get("response") or {}
        if not response:
            error = line.get("error") or {}
            if error.get("code") == "batch_expired":
                return None
            message = redact_secrets(str(error.get("message")))[:300]
            return LineResult(post_id, succeeded=False, error=message, failure_reason=FailureReason.SERVER_ERROR)
        status, body = response.get("status_code"), response.get("body") or {}
        if status != 200:
            failure = line_error(status, body)
            return LineResult(post_id, succeeded=False, error=failure.reason, failure_reason=failure.code)
        try:
            return self._caption(post, brief, body) if phase == BatchPhase.CAPTIONS else self._image(post, body)
        except ProviderError as exc:
            return LineResult(post_id, succeeded=False, error=exc.reason, failure_reason=exc.code)

    def _caption(self, post: LinePost, brief: Brief, body: dict) -> LineResult:
        post_id = post.post_id
        fields = caption_fields(body)
        usage = body.get("usage") or {}
        prompt_tokens, completion_tokens = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        result = LineResult(
            post_id,
            succeeded=True,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=text_cost(self.config, prompt_tokens, completion_tokens, batch=True),
        )
        hashtags = list(brief.hashtags) + [tag for tag in fields["hashtags"] if tag not in brief.hashtags]
        result.caption, result.hashtags = fit_caption(fields["caption"], hashtags, post.platform)
        if not result.caption:
            reason = "the caption could not be fitted to the platform's limit"
            return LineResult(post_id, succeeded=False, error=reason, failure_reason=FailureReason.MALFORMED)
        result.headline = fields["headline"] or result.caption.split("\n")[0][:60]
        result.image_prompt = fields["image_prompt"] or result.headline
        return result

    def _image(self, post: LinePost, body: dict) -> LineResult:
        post_id = post.post_id
        cost = image_cost(self.config, 1, batch=True)
        failed = LineResult(post_id, succeeded=False, images=1, cost_usd=cost, failure_reason=FailureReason.MALFORMED)
        item = (body.get("data") or [{}])[0]
        if item.get("b64_json"):
            try:
                data = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError):
                failed.error = "malformed response: the image was not valid base64"
                return failed
        elif item.get("url"):
            data = asyncio.run(self._download(str(item["url"])))  # a ProviderError fails only this post
        else:
            failed.error = "malformed response: neither image data nor a URL"
            return failed
        rules = rules_for(post.platform)
        fitted = fit_to_size(data, rules.image_width, rules.image_height)
        image_name, thumbnail_name = store_post_image(post.campaign_id, post_id, fitted)
        return LineResult(
            post_id, succeeded=True, images=1, cost_usd=cost, image_name=image_name, thumbnail_name=thumbnail_name
        )

    async def _download(self, url: str) -> bytes:
        """An image answered as a URL, fetched as the live path fetches one (checked, capped, never kept)."""
        downloader = ImageDownloader(
            base_url=self.config.base_url,
            timeout=self.config.image_download_timeout,
            max_bytes=self.config.image_max_bytes,
        )
        try:
            return await downloader.fetch(url)
        finally:
            await downloader.aclose()

    def _finish(self, row: ProviderBatch) -> None:
        step = economy_store.finish_row(row, batch_images=self.config.economy_batch_images)
        if step.released:
            # Images go the normal path: chunk jobs take these posts now.
            queue.enqueue_chunks(row.batch_id, step.released, config=self.config, reason="economy-images")


def line_error(status: object, body: dict) -> ProviderError:
    """What a batch line's error answer stands for, by the rules of a live request's (status_error)."""
    error = body.get("error")
    if not isinstance(error, dict):
        error = {}
    message = redact_secrets(str(error.get("message") or ""))[:300]
    if not isinstance(status, int):
        return PermanentProviderError(f"malformed line: {message}", code=FailureReason.MALFORMED)
    return status_error(status, code=error.get("code"), message=message)


def poll(*, config: EngineConfig, owner: str) -> int:
    """Advance the economy batches that are due (the clock's periodic poll calls this, clock.tasks)."""
    if economy_unavailable_reason(config) is not None:
        return 0
    return Poller(config=config, owner=owner).run()
