"""The OpenAI provider: the official SDK against OpenAI or any compatible server.

The SDK's own retries are off (max_retries=0): a retry must wait for the limiter that
all workers share, so the engine's runner retries instead.
"""

import base64
import binascii
import contextlib
import functools
import json
import re
import ssl
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from importlib import import_module
from typing import Any

import httpx2
import openai
from django.utils import timezone

from generation.config import EngineConfig
from generation.prompts import CAPTION_SCHEMA, bounded_description, caption_messages, image_prompt
from generation.providers.base import (
    CaptionRequest,
    CaptionResult,
    FailureReason,
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    ProviderError,
    RateLimitedError,
    RateLimitInfo,
    TransientProviderError,
)
from generation.providers.image_download import ImageDownloader
from shared.logging import redact_secrets

# What the SDK's HTTP stack imports only when first used: the connection pools (httpcore,
# httpcore2, h11), the first connection (anyio's asyncio backend) and the first answer (jiter).
HTTP_MODULES_IMPORTED_ON_FIRST_USE = ("httpcore", "httpcore2", "h11", "anyio._backends._asyncio", "jiter")


def preload() -> None:
    """Load what a work horse would otherwise load before its first request (~0.2 s), once, in the
    worker before it forks (generation.worker.preload_engine)."""
    for name in HTTP_MODULES_IMPORTED_ON_FIRST_USE:
        with contextlib.suppress(ImportError):  # a later SDK may do without one of them
            import_module(name)
    # The SDK imports each API resource's modules when the client's attribute is first read.
    client = openai.AsyncOpenAI(api_key="preload", http_client=openai.DefaultAsyncHttpxClient(verify=tls_context()))
    _ = client.chat.completions, client.images


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of both HTTP clients (the SDK's and the image downloader's).

    The one the SDK's HTTP stack (httpx2) makes by default: SSL_CERT_FILE or SSL_CERT_DIR when set,
    else the system's trust store. Each client would otherwise make one of its own, ~30 ms each
    in every work horse: this one is made once per process.
    """
    return httpx2.create_ssl_context()


# The error codes OpenAI answers a refused prompt with (chat, DALL·E; gpt-image-*).
CONTENT_POLICY_CODES = ("content_policy_violation", "moderation_blocked")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """'6m0s' -> 360.0, '20ms' -> 0.02, '1.5' -> 1.5 (OpenAI's x-ratelimit-reset-* format)."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo:
    return RateLimitInfo(
        limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
        remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
        reset_requests_seconds=parse_duration(headers.get("x-ratelimit-reset-requests")),
        limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
        remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
        reset_tokens_seconds=parse_duration(headers.get("x-ratelimit-reset-tokens")),
    )


def retry_hint(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for: retry-after-ms, else Retry-After in seconds or as an HTTP date."""
    if "retry-after-ms" in headers:
        try:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
            except (TypeError, ValueError):
                pass
    return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A 429's wait: its retry hint, else the time until the provider's request quota resets."""
    hint = retry_hint(headers)
    return hint if hint is not None else parse_duration(headers.get("x-ratelimit-reset-requests"))


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return redact_secrets(str(message))[:300]
    return f"HTTP {exc.status_code}"


def status_error(
    status: int, *, code: str | None, message: str, headers: Mapping[str, str] | None = None
) -> ProviderError:
    """The provider error an HTTP error answer stands for: a live request's, or a batch line's.

    `message` is the server's own (redacted) words; `headers` carry its retry hints, if any.
    """
    headers = headers or {}
    if status in (401, 403):
        return PermanentProviderError(
            f"the provider refused the credentials (HTTP {status}); check OPENAI_API_KEY",
            code=FailureReason.AUTH,
            status=status,
        )
    if status == 429:
        if code == "insufficient_quota":
            return PermanentProviderError(
                f"the provider's quota is used up: {message}", code=FailureReason.QUOTA, status=429
            )
        return RateLimitedError(
            "rate limited by the provider (HTTP 429)",
            status=429,
            retry_after=retry_after_seconds(headers),
        )
    if status in (408, 409) or status >= 500:
        # Each carries the server's retry hint, if any: the next try waits at least that long.
        return TransientProviderError(
            f"provider error (HTTP {status})",
            code=FailureReason.TIMEOUT if status in (408, 504) else FailureReason.SERVER_ERROR,
            status=status,
            retry_after=retry_hint(headers),
        )
    if code in CONTENT_POLICY_CODES:
        return PermanentProviderError(
            f"refused by the provider's content policy: {message}", code=FailureReason.CONTENT_POLICY, status=status
        )
    return PermanentProviderError(
        f"provider rejected the request (HTTP {status}): {message}", code=FailureReason.BAD_REQUEST, status=status
    )


def provider_error(exc: Exception) -> ProviderError:
    """Map an SDK exception to a transient or permanent provider error with a readable reason."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return TransientProviderError("request timed out", code=FailureReason.TIMEOUT)
    if isinstance(exc, openai.APIConnectionError):
        return TransientProviderError("could not connect to the provider", code=FailureReason.CONNECTION)
    if isinstance(exc, openai.APIStatusError):
        return status_error(
            exc.status_code,
            code=getattr(exc, "code", None),
            message=_server_message(exc),
            headers=exc.response.headers,
        )
    return TransientProviderError(
        f"malformed response from the provider ({type(exc).__name__})", code=FailureReason.MALFORMED
    )


def parse_caption_json(content: str | None) -> dict:
    try:
        data = json.loads(content or "")
    except json.JSONDecodeError:
        raise TransientProviderError(
            "malformed response: the caption was not valid JSON", code=FailureReason.MALFORMED
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("caption"), str) or not data["caption"].strip():
        raise TransientProviderError("malformed response: no caption in the answer", code=FailureReason.MALFORMED)
    hashtags = data.get("hashtags") or []
    if not isinstance(hashtags, list):
        hashtags = str(hashtags).split()
    return {
        "caption": data["caption"].strip(),
        "hashtags": [str(tag) for tag in hashtags],
        "headline": str(data.get("headline") or "").strip()[:200],
        "image_prompt": bounded_description(str(data.get("image_prompt") or "")),
    }


def image_response_format(model: str, configured: str) -> str | None:
    """The response_format to ask for: OPENAI_IMAGE_RESPONSE_FORMAT when set, else per model.

    DALL·E models answer a URL unless asked for base64; gpt-image-* always answer base64 and
    refuse the parameter; other servers' models get nothing, and a URL answer is downloaded.
    """
    if configured:
        return configured
    if model.startswith("dall-e"):
        return "b64_json"
    return None


def caption_body(config: EngineConfig, request: CaptionRequest) -> dict[str, Any]:
    """The body of a caption request: sent live, or as one line of an economy batch."""
    return {
        "model": config.text_model,
        "messages": caption_messages(request),
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "social_post", "schema": CAPTION_SCHEMA, "strict": True},
        },
    }


def image_body(config: EngineConfig, request: ImageRequest) -> dict[str, Any]:
    """The body of an image request: sent live, or as one line of an economy batch."""
    # As configured: the SDK's Literal types list OpenAI's values, a compatible server may take others.
    body: dict[str, Any] = {"model": config.image_model, "prompt": image_prompt(request), "n": 1}
    body["size"] = config.image_sizes.get(request.orientation) or config.image_sizes.get("square", "1024x1024")
    response_format = image_response_format(config.image_model, config.image_response_format)
    if response_format:
        body["response_format"] = response_format
    if config.image_quality:
        body["quality"] = config.image_quality
    return body


def caption_fields(completion: Any) -> dict:
    """caption, hashtags, headline, image_prompt of a chat completion (the SDK's object or its JSON)."""
    choices = _get(completion, "choices") or []
    if not choices:
        raise TransientProviderError("malformed response: no choices", code=FailureReason.MALFORMED)
    message = _get(choices[0], "message") or {}
    refusal = _get(message, "refusal")
    if refusal:
        raise PermanentProviderError(
            f"the model refused: {redact_secrets(str(refusal))[:300]}", code=FailureReason.CONTENT_POLICY
        )
    return parse_caption_json(_get(message, "content"))


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


class OpenAIProvider:
    name = "openai"
    uses_network = True

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.text_model = config.text_model
        self.image_model = config.image_model
        if not config.api_key and not config.base_url:
            raise PermanentProviderError("OPENAI_API_KEY is not set", code=FailureReason.AUTH)
        self.client = openai.AsyncOpenAI(
            # Compatible servers (Ollama, vLLM) often need no key, but the SDK wants one.
            api_key=config.api_key or "not-needed",
            base_url=config.base_url,
            max_retries=0,
            timeout=config.request_timeout,
            http_client=openai.DefaultAsyncHttpxClient(verify=tls_context()),
        )
        self.downloader = ImageDownloader(
            base_url=config.base_url,
            timeout=config.image_download_timeout,
            max_bytes=config.image_max_bytes,
            verify=tls_context(),
        )

    async def caption(self, request: CaptionRequest) -> CaptionResult:
        try:
            raw = await self.client.chat.completions.with_raw_response.create(**caption_body(self.config, request))
            completion = raw.parse()
        except Exception as exc:
            raise provider_error(exc) from exc
        fields = caption_fields(completion)
        usage = completion.usage
        return CaptionResult(
            **fields,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            rate_limit=rate_limit_info(raw.headers),
        )

    async def image(self, request: ImageRequest) -> ImageResult:
        try:
            raw = await self.client.images.with_raw_response.generate(**image_body(self.config, request))
            response = raw.parse()
        except Exception as exc:
            raise provider_error(exc) from exc
        if not response.data:
            raise TransientProviderError("malformed response: no image in the answer", code=FailureReason.MALFORMED)
        item = response.data[0]
        if item.b64_json:
            try:
                data = base64.b64decode(item.b64_json, validate=True)
            except (binascii.Error, ValueError):
                raise TransientProviderError(
                    "malformed response: the image was not valid base64", code=FailureReason.MALFORMED
                ) from None
        elif item.url:
            data = await self.downloader.fetch(item.url)
        else:
            raise TransientProviderError(
                "malformed response: neither image data nor a URL", code=FailureReason.MALFORMED
            )
        return ImageResult(data=data, rate_limit=rate_limit_info(raw.headers))

    async def aclose(self) -> None:
        await self.client.close()
        await self.downloader.aclose()
