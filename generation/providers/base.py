"""The one provider interface: a caption for a post, then an image for it."""

from dataclasses import dataclass, field
from typing import Protocol

# The one list of reason codes lives with the domain, which stores them on failed posts.
from shared.failure_reasons import FailureReason

__all__ = [
    "Brief",
    "CaptionRequest",
    "CaptionResult",
    "FailureReason",
    "ImageRequest",
    "ImageResult",
    "PermanentProviderError",
    "Provider",
    "ProviderError",
    "RateLimitInfo",
    "RateLimitedError",
    "TransientProviderError",
]


@dataclass(frozen=True)
class Brief:
    """What the provider knows of a campaign: plain data, safe to use away from the ORM."""

    campaign_id: int
    name: str
    brief: str
    target_audience: str
    tone: str
    language: str
    keywords: tuple[str, ...]
    hashtags: tuple[str, ...]
    call_to_action: str
    brand_color: str


@dataclass(frozen=True)
class CaptionRequest:
    brief: Brief
    platform: str
    variant: int  # the post's position in its batch: picks its angle and structure
    seed: int  # differs between posts of different batches: varies the details
    target_chars: int
    limit_chars: int
    max_hashtags: int
    shorter_than: int | None = None  # set when a first answer was too long
    attempt: int = 0  # how many times the post was taken before: a regeneration asks for a new caption
    avoid_caption: str = ""  # the caption being replaced, which the new one must not repeat


@dataclass(frozen=True)
class ImageRequest:
    brief: Brief
    platform: str
    variant: int
    seed: int
    prompt: str
    headline: str
    width: int
    height: int
    orientation: str


@dataclass(frozen=True)
class RateLimitInfo:
    """What a provider's x-ratelimit-* headers said about the quota left."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_seconds: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_seconds: float | None = None


@dataclass(frozen=True)
class CaptionResult:
    caption: str
    hashtags: list[str]
    headline: str
    image_prompt: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rate_limit: RateLimitInfo = field(default_factory=RateLimitInfo)


@dataclass(frozen=True)
class ImageResult:
    data: bytes
    # True when the provider drew a JPEG at exactly the requested size, so it needs no fitting.
    fitted: bool = False
    rate_limit: RateLimitInfo = field(default_factory=RateLimitInfo)


class ProviderError(Exception):
    """A request failed. `transient` says whether trying again may succeed; `code` says why, as
    one of a fixed few (what is stored on the post and counted); `reason` is the text for staff
    and logs (it may hold the provider's own words, redacted)."""

    transient = False

    def __init__(
        self,
        reason: str,
        *,
        code: FailureReason,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = FailureReason(code)
        self.status = status
        self.retry_after = retry_after


class TransientProviderError(ProviderError):
    transient = True


class RateLimitedError(TransientProviderError):
    """HTTP 429: every worker pauses until retry_after, not just the one that got it."""

    def __init__(self, reason: str, *, status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(reason, code=FailureReason.RATE_LIMITED, status=status, retry_after=retry_after)


class PermanentProviderError(ProviderError):
    transient = False


class Provider(Protocol):
    name: str
    text_model: str
    image_model: str
    # Whether calls leave the machine and count against a shared quota.
    uses_network: bool

    async def caption(self, request: CaptionRequest) -> CaptionResult: ...

    async def image(self, request: ImageRequest) -> ImageResult: ...

    async def aclose(self) -> None: ...
