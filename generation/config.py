"""The engine's settings, gathered from django.conf.settings into one typed object.

engine_config() is the one place in the engine that reads settings: a job, a command or a
worker builds one when it starts and passes it down to everything it calls.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import redis.asyncio as aioredis
from django.conf import settings


@dataclass(frozen=True)
class EngineConfig:
    provider: str
    # Out of repr: a config printed in a traceback, a debugger or an error report shows no key.
    api_key: str = field(repr=False)
    base_url: str | None
    text_model: str
    image_model: str
    image_response_format: str
    image_quality: str
    image_sizes: dict[str, str]
    image_download_timeout: float
    image_max_bytes: int
    concurrency: int
    rpm: int
    burst: int
    images_per_minute: int
    tpm: int
    request_timeout: float
    max_tries: int
    retry_after_cap: float
    post_deadline: float
    lease_seconds: float
    lease_renewal_seconds: float
    recovery_interval: float
    chunk_seconds: float
    shutdown_seconds: float
    max_chunks: int
    redis_url: str = ""
    prices: dict = field(default_factory=dict)

    @property
    def model_names(self) -> tuple[str, str]:
        if self.provider == "local":
            return ("local-composer", "local-pillow")
        return (self.text_model, self.image_model)


def engine_config() -> EngineConfig:
    return EngineConfig(
        provider=settings.GENERATION_PROVIDER,
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        text_model=settings.OPENAI_TEXT_MODEL,
        image_model=settings.OPENAI_IMAGE_MODEL,
        image_response_format=settings.OPENAI_IMAGE_RESPONSE_FORMAT,
        image_quality=settings.OPENAI_IMAGE_QUALITY,
        image_sizes=dict(settings.OPENAI_IMAGE_SIZES),
        image_download_timeout=settings.GENERATION_IMAGE_DOWNLOAD_TIMEOUT,
        image_max_bytes=settings.GENERATION_IMAGE_MAX_BYTES,
        concurrency=settings.GENERATION_CONCURRENCY,
        rpm=settings.GENERATION_RPM,
        burst=settings.GENERATION_BURST,
        images_per_minute=settings.GENERATION_IMAGES_PER_MINUTE,
        tpm=settings.GENERATION_TPM,
        request_timeout=settings.GENERATION_REQUEST_TIMEOUT,
        max_tries=settings.GENERATION_MAX_TRIES,
        retry_after_cap=settings.GENERATION_RETRY_AFTER_CAP,
        post_deadline=settings.GENERATION_POST_DEADLINE,
        lease_seconds=settings.GENERATION_LEASE_SECONDS,
        # Renewed at least three times a lease: one late renewal never costs a live worker its posts.
        lease_renewal_seconds=min(settings.GENERATION_LEASE_RENEWAL_SECONDS, settings.GENERATION_LEASE_SECONDS / 3),
        recovery_interval=settings.GENERATION_RECOVERY_INTERVAL,
        chunk_seconds=settings.GENERATION_CHUNK_SECONDS,
        shutdown_seconds=settings.GENERATION_SHUTDOWN_SECONDS,
        max_chunks=settings.GENERATION_MAX_CHUNKS,
        redis_url=settings.REDIS_URL,
        prices=dict(settings.GENERATION_PRICES),
    )


def redis_client(config: EngineConfig) -> aioredis.Redis:
    """The engine's asyncio Redis client (the shared rate limiter, metrics)."""
    return aioredis.from_url(config.redis_url, health_check_interval=30)


def text_cost(config: EngineConfig, prompt_tokens: int, completion_tokens: int) -> Decimal:
    price = config.prices.get(config.text_model, {}) if config.provider != "local" else {}
    per_in = Decimal(str(price.get("input_per_million", "0")))
    per_out = Decimal(str(price.get("output_per_million", "0")))
    return (per_in * prompt_tokens + per_out * completion_tokens) / Decimal(1_000_000)


def image_cost(config: EngineConfig, images: int) -> Decimal:
    price = config.prices.get(config.image_model, {}) if config.provider != "local" else {}
    return Decimal(str(price.get("per_image", "0"))) * images
