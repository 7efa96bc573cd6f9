"""Caption previews: one caption per platform from a brief that is not saved yet.

The campaign form shows them while the marketer types. Nothing is written to the database;
the configured provider is asked once per platform, through the limiter the workers share
when it uses the network, and each answer is fitted to its platform like a batch post's.
"""

import asyncio
import logging
from dataclasses import dataclass

from generation.config import EngineConfig, engine_config
from generation.platforms import TARGET_CAPTION_CHARS, fit_caption, full_length, rules_for
from generation.providers import build_provider
from generation.providers.base import Brief, CaptionRequest, ProviderError, RateLimitedError

log = logging.getLogger(__name__)

# A preview is worth a short wait, not a batch's patience.
PREVIEW_TIMEOUT_SECONDS = 20.0


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


def preview_brief(
    *,
    name: str,
    brief: str,
    target_audience: str = "",
    tone: str = "",
    language: str = "en",
    keywords: list[str] | tuple[str, ...] = (),
    hashtags: list[str] | tuple[str, ...] = (),
    call_to_action: str = "",
    brand_color: str = "#2F5BEA",
) -> Brief:
    """A provider Brief from form data (campaign_id 0: there is no campaign yet)."""
    return Brief(
        campaign_id=0,
        name=name,
        brief=brief,
        target_audience=target_audience,
        tone=tone,
        language=language,
        keywords=tuple(keywords),
        hashtags=tuple(hashtags),
        call_to_action=call_to_action,
        brand_color=brand_color,
    )


def friendly_error(exc: BaseException) -> str:
    """What the preview panel says when the provider did not answer."""
    if isinstance(exc, RateLimitedError):
        return "The AI provider is busy right now (rate limited). Try the preview again in a few seconds."
    if isinstance(exc, TimeoutError):
        return "The AI provider took too long to answer. Try the preview again."
    if isinstance(exc, ProviderError):
        return f"The AI provider could not write a caption ({exc.reason[:160]}). Try again in a moment."
    return "The preview is not available right now. Your campaign can still be saved."


async def _one_caption(provider, limiter, brief: Brief, platform: str, variant: int) -> CaptionPreview:
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
            await limiter.acquire()
        result = await provider.caption(request)
    except (ProviderError, TimeoutError) as exc:
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
    client = None
    limiter = None
    try:
        if provider.uses_network:
            from generation.jobs import redis_client, redis_limiter

            client = redis_client()
            limiter = redis_limiter(config, client)
        calls = [_one_caption(provider, limiter, brief, platform, variant) for platform in platforms]
        return list(await asyncio.wait_for(asyncio.gather(*calls), timeout=PREVIEW_TIMEOUT_SECONDS))
    finally:
        await provider.aclose()
        if client is not None:
            await client.aclose()


def caption_previews(brief: Brief, platforms: list[str], *, variant: int = 0) -> list[CaptionPreview]:
    """One fitted caption per platform, in the order given. Never raises for provider trouble:
    a platform whose caption could not be written carries a friendly `error` instead.

    `variant` plays the part of a post's position in a batch: it picks the caption's angle,
    so the same brief and variant give comparable samples while the marketer edits.
    """
    config = engine_config()
    try:
        return asyncio.run(_previews(config, brief, platforms, variant))
    except TimeoutError as exc:
        error = friendly_error(exc)
    except Exception as exc:  # the form must keep working whatever the provider or Redis did
        log.warning("caption preview failed", exc_info=True)
        error = friendly_error(exc)
    return [CaptionPreview(platform=p, limit=rules_for(p).caption_limit, error=error) for p in platforms]
