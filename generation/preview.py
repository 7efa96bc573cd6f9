"""Caption previews: one caption per platform for a campaign whose brief is being written.

The campaign form shows them when the marketer asks. Nothing is written to the database. The
configured provider is asked once per platform and each answer is fitted to its platform like a
batch post's. A person is waiting in a web request, so a preview never takes a place in the line
of batch requests at the shared rate limiter: if the provider has no room right now, or does not
answer within PREVIEW_SECONDS, the preview says so and the marketer tries again.
"""

import asyncio
import logging
from dataclasses import dataclass

from generation.claims import brief_of
from generation.config import EngineConfig, engine_config, redis_client
from generation.domain_port import Campaign
from generation.providers import build_provider
from generation.providers.base import Brief, CaptionRequest, Provider, ProviderError, RateLimitedError
from generation.ratelimit import RateLimiterBusyError, RedisRateLimiter
from shared.platforms import TARGET_CAPTION_CHARS, fit_caption, full_length, rules_for

log = logging.getLogger(__name__)

# The longest a marketer waits for sample captions, everything included.
PREVIEW_SECONDS = 5.0

BUSY = "The AI provider is busy with batches right now. Try the preview again in a minute."
SLOW = "The AI provider took too long to answer. Try the preview again."
UNAVAILABLE = "The preview is not available right now. Your campaign can still be saved."


@dataclass(frozen=True)
class CaptionPreview:
    platform: str
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    length: int = 0
    limit: int = 0
    error: str = ""

    @property
    def platform_label(self) -> str:
        return rules_for(self.platform).platform.label


def friendly_error(exc: BaseException) -> str:
    """What the preview panel says when the provider did not answer."""
    if isinstance(exc, RateLimitedError | RateLimiterBusyError):
        return BUSY
    if isinstance(exc, TimeoutError):
        return SLOW
    if isinstance(exc, ProviderError):
        return "The AI provider could not write a caption right now. Try again in a moment."
    return UNAVAILABLE


async def _one_caption(
    config: EngineConfig,
    provider: Provider,
    limiter: RedisRateLimiter | None,
    brief: Brief,
    platform: str,
    variant: int,
) -> CaptionPreview:
    rules = rules_for(platform)
    request = CaptionRequest(
        brief=brief,
        platform=platform,
        variant=variant,
        seed=variant + 1,
        target_chars=TARGET_CAPTION_CHARS[platform],
        limit_chars=rules.caption_limit,
        max_hashtags=rules.max_hashtags,
    )
    try:
        if limiter is not None:
            await limiter.acquire(max_wait=0)
        result = await provider.caption(request)
    except (ProviderError, TimeoutError) as exc:
        if isinstance(exc, RateLimitedError) and limiter is not None:
            # The provider's quota is everyone's: the batches hear of this 429 too.
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            await limiter.pause(min(wait, config.retry_after_cap))
        log.info("caption preview failed: %s", getattr(exc, "reason", type(exc).__name__))
        return CaptionPreview(platform=platform, limit=rules.caption_limit, error=friendly_error(exc))
    # As in a batch: the campaign's own hashtags first, then the provider's.
    wanted = list(brief.hashtags) + [tag for tag in result.hashtags if tag not in brief.hashtags]
    caption, hashtags = fit_caption(result.caption, wanted, platform)
    return CaptionPreview(
        platform=platform,
        caption=caption,
        hashtags=tuple(hashtags),
        length=full_length(caption, hashtags),
        limit=rules.caption_limit,
    )


async def _previews(config: EngineConfig, brief: Brief, platforms: list[str], variant: int) -> list[CaptionPreview]:
    provider = build_provider(config)
    client = redis_client(config) if provider.uses_network else None
    try:
        limiter = RedisRateLimiter.for_config(config, client) if client is not None else None
        calls = [_one_caption(config, provider, limiter, brief, platform, variant) for platform in platforms]
        return list(await asyncio.wait_for(asyncio.gather(*calls), timeout=PREVIEW_SECONDS))
    finally:
        await provider.aclose()
        if client is not None:
            await client.aclose()


def caption_previews(campaign: Campaign, platforms: list[str], *, variant: int = 0) -> list[CaptionPreview]:
    """One fitted caption per platform, in the order given. Never raises for provider trouble:
    a platform whose caption could not be written carries a friendly `error` instead.

    `variant` plays the part of a post's position in a batch: it picks the caption's angle,
    so the same brief and variant give comparable samples while the marketer edits.
    """
    config = engine_config()
    try:
        return asyncio.run(_previews(config, brief_of(campaign), platforms, variant))
    except Exception as exc:  # the form must keep working whatever the provider or Redis did
        if not isinstance(exc, TimeoutError):
            log.warning("caption preview failed", exc_info=True)
        error = friendly_error(exc)
    return [CaptionPreview(platform=p, limit=rules_for(p).caption_limit, error=error) for p in platforms]
