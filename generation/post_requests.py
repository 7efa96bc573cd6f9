"""What the provider is asked for one post: the caption and image requests, built the same way by
the runner (request by request) and by economy batches (one line each in a JSONL file)."""

from generation.providers.base import Brief, CaptionRequest, ImageRequest
from shared.platforms import TARGET_CAPTION_CHARS, rules_for


def caption_request(
    *, brief: Brief, platform: str, sequence: int, post_id: int, attempt: int = 0, avoid_caption: str = ""
) -> CaptionRequest:
    rules = rules_for(platform)
    return CaptionRequest(
        brief=brief,
        platform=platform,
        variant=sequence,
        seed=post_id,
        target_chars=TARGET_CAPTION_CHARS[platform],
        limit_chars=rules.caption_limit,
        max_hashtags=rules.max_hashtags,
        attempt=attempt,
        avoid_caption=avoid_caption,
    )


def image_request(
    *, brief: Brief, platform: str, sequence: int, post_id: int, prompt: str, headline: str
) -> ImageRequest:
    rules = rules_for(platform)
    return ImageRequest(
        brief=brief,
        platform=platform,
        variant=sequence,
        seed=post_id,
        prompt=prompt,
        headline=headline or brief.name,
        width=rules.image_width,
        height=rules.image_height,
        orientation=rules.orientation,
    )
