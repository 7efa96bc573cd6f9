"""The one table of platform rules: caption limits, hashtag limits and image sizes.

Everything that depends on a platform (prompts, caption checks, image fitting, the
web form's character counter) reads it from here.
"""

import re
from dataclasses import dataclass

from django.db import models


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook"
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    TIKTOK = "tiktok", "TikTok"


def platform_names(values: list[str]) -> str:
    """["instagram", "x"] -> "Instagram, X": platform codes as people read them (unknown codes as they are)."""
    return ", ".join(Platform(value).label if value in Platform.values else value for value in values)


@dataclass(frozen=True)
class PlatformRules:
    platform: Platform
    caption_limit: int  # characters, hashtags included
    max_hashtags: int
    image_width: int
    image_height: int
    style: str  # what a good post on this platform sounds like, for prompts

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.image_width, self.image_height)

    @property
    def orientation(self) -> str:
        if self.image_width == self.image_height:
            return "square"
        return "landscape" if self.image_width > self.image_height else "portrait"


RULES: dict[str, PlatformRules] = {
    rules.platform.value: rules
    for rules in (
        PlatformRules(Platform.INSTAGRAM, 2200, 5, 1080, 1350, "visual, warm, line breaks, emoji welcome"),
        PlatformRules(Platform.FACEBOOK, 63206, 5, 1200, 630, "conversational, community-minded, a question helps"),
        PlatformRules(Platform.LINKEDIN, 3000, 5, 1200, 627, "professional, insight first, no slang"),
        PlatformRules(Platform.X, 280, 3, 1600, 900, "punchy, one idea, very short"),
        PlatformRules(Platform.TIKTOK, 2200, 5, 1080, 1920, "playful, trend-aware, hook in the first words"),
    )
}

# Captions we generate stay well under the very long limits: nobody reads 60,000 characters.
TARGET_CAPTION_CHARS = {"instagram": 600, "facebook": 500, "linkedin": 900, "x": 240, "tiktok": 300}

ELLIPSIS = "…"
_HASHTAG_CLEAN = re.compile(r"[^\w]", re.UNICODE)


def rules_for(platform: str) -> PlatformRules:
    try:
        return RULES[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; choose from {', '.join(RULES)}") from None


def normalize_hashtag(tag: str) -> str:
    """'#Summer sale!' -> '#SummerSale'; empty string when nothing usable is left."""
    words = [word for word in re.split(r"\s+", tag.strip().lstrip("#")) if word]
    cleaned = "".join(_HASHTAG_CLEAN.sub("", word[:1].upper() + word[1:]) for word in words)
    return f"#{cleaned}" if cleaned else ""


def normalize_hashtags(tags: list[str], platform: str, *, cap: bool = True) -> list[str]:
    """Normalised, de-duplicated (case-insensitively) and, with cap, cut to the platform's maximum."""
    seen: set[str] = set()
    result = []
    for tag in tags:
        normalized = normalize_hashtag(tag)
        if normalized and normalized.lower() not in seen:
            seen.add(normalized.lower())
            result.append(normalized)
    return result[: rules_for(platform).max_hashtags] if cap else result


def full_text(caption: str, hashtags: list[str]) -> str:
    """The text as published: the caption, then the hashtags on their own line."""
    if not hashtags:
        return caption
    return f"{caption}\n\n{' '.join(hashtags)}"


def full_length(caption: str, hashtags: list[str]) -> int:
    return len(full_text(caption, hashtags))


def caption_budget(platform: str, hashtags: list[str]) -> int:
    """Characters left for the caption once the hashtags are placed."""
    limit = rules_for(platform).caption_limit
    return limit - (full_length("", hashtags) + 2 if hashtags else 0)


def shorten_at_word_boundary(text: str, limit: int) -> str:
    """Shorten text to at most `limit` characters, cutting between words and adding an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[: room + 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary <= 0:
        # One enormous word: drop it rather than cut it in the middle.
        return ""
    return text[:boundary].rstrip(" \n,;:-–—") + ELLIPSIS


def fit_caption(caption: str, hashtags: list[str], platform: str) -> tuple[str, list[str]]:
    """Make caption + hashtags fit the platform: fewer hashtags first, then a shorter caption."""
    hashtags = normalize_hashtags(hashtags, platform)
    limit = rules_for(platform).caption_limit
    caption = caption.strip()
    # Hashtags never take more than half the room.
    while hashtags and caption_budget(platform, hashtags) < limit // 2:
        hashtags = hashtags[:-1]
    if full_length(caption, hashtags) > limit:
        caption = shorten_at_word_boundary(caption, caption_budget(platform, hashtags))
    return caption, hashtags
