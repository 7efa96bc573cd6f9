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
    economy_poll_seconds: float = 30.0
    economy_batch_images: bool = True

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
        economy_poll_seconds=settings.GENERATION_ECONOMY_POLL_SECONDS,
        economy_batch_images=settings.GENERATION_ECONOMY_BATCH_IMAGES,
    )


def redis_client(config: EngineConfig) -> aioredis.Redis:
    """The engine's asyncio Redis client (the shared rate limiter, metrics)."""
    return aioredis.from_url(config.redis_url, health_check_interval=30)


def _price(config: EngineConfig, model: str, *, batch: bool) -> dict:
    """A model's prices; with batch=True its Batch API prices (GENERATION_PRICES["batch"]), or the
    standard ones when the table has none for it."""
    if config.provider == "local":
        return {}
    standard = config.prices.get(model, {})
    return config.prices.get("batch", {}).get(model, standard) if batch else standard


def text_cost(config: EngineConfig, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> Decimal:
    price = _price(config, config.text_model, batch=batch)
    per_in = Decimal(str(price.get("input_per_million", "0")))
    per_out = Decimal(str(price.get("output_per_million", "0")))
    return (per_in * prompt_tokens + per_out * completion_tokens) / Decimal(1_000_000)


def image_cost(config: EngineConfig, images: int, *, batch: bool = False) -> Decimal:
    price = _price(config, config.image_model, batch=batch)
    return Decimal(str(price.get("per_image", "0"))) * images


# What one post usually spends: a caption of ~700 prompt and ~300 completion tokens, one image.
# Used before a batch starts (its estimate) and to tell when a running batch nears its cap.
POST_PROMPT_TOKENS_ESTIMATE = 700
POST_COMPLETION_TOKENS_ESTIMATE = 300


def estimated_post_cost(config: EngineConfig, *, economy: bool = False) -> Decimal:
    """What one post of a batch is expected to cost with the configured provider, models and prices;
    an economy batch's at the Batch API's prices (its images too unless they take the normal path)."""
    text = text_cost(config, POST_PROMPT_TOKENS_ESTIMATE, POST_COMPLETION_TOKENS_ESTIMATE, batch=economy)
    return text + image_cost(config, 1, batch=economy and config.economy_batch_images)


def economy_unavailable_reason(config: EngineConfig) -> str | None:
    """Why economy batches (OpenAI's Batch API) can not run with this configuration; None when they can."""
    if config.provider != "openai":
        return (
            "Economy mode needs a provider with a Batch API (GENERATION_PROVIDER=openai); "
            f"the {config.provider} provider has none."
        )
    return None
