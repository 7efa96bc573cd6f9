"""The fake server's behaviour: one Config, every field documented in the package's docstring."""

from dataclasses import dataclass, field

# The default mix of injected faults (kept as it is: seeded tests depend on its order).
FAULT_KINDS = ("429", "500", "503", "timeout", "malformed_json", "truncated_image")
# Faults that answer with an error body shaped like a real server's (see answers.error_answer).
ERROR_KINDS = ("400", "401", "403", "408", "409", "429", "500", "502", "503", "504", "quota", "content_policy")
ALL_FAULT_KINDS = (*ERROR_KINDS, "timeout", "malformed_json", "truncated_image")
# Faults of the Files and Batches endpoints: any error kind, or "lost_reply" (done, then no answer).
BATCH_API_FAULT_KINDS = (*ERROR_KINDS, "lost_reply")
DOWNLOAD_FAULTS = ("404", "slow", "not_image", "oversized", "oversized_chunked")
KEY_ECHOES = ("plain", "upper", "base64", "urlencoded")
IMAGE_RESPONSES = ("b64", "url", "auto")
RETRY_HINTS = ("retry-after", "retry-after-ms", "retry-after-date")


@dataclass
class Config:
    # Latency, rate limit and faults of /v1/chat/completions and /v1/images/generations.
    text_latency: float = 0.0
    image_latency: float = 0.0
    rpm: int = 0  # 0: no rate limit
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    fault_sequence: list[str] = field(default_factory=list)
    refuse_posts: list[int] = field(default_factory=list)
    timeout_seconds: float = 30.0  # how long a "timeout" fault hangs
    seed: int = 1234
    caption_chars: int = 180
    # Retry hints: by fault kind, hint → seconds; and the hints the rate limiter's own 429 carries.
    retry_hints: dict[str, dict[str, float]] = field(default_factory=lambda: {"429": {"retry-after": 0.2}})
    rate_limit_hints: list[str] = field(default_factory=lambda: ["retry-after"])
    # Error shapes: how a 401 echoes the key it refused.
    key_echo: list[str] = field(default_factory=lambda: ["plain"])
    # Images: base64 or a URL on this server, and faults of the download.
    image_response: str = "b64"
    gpt_image_rejects_response_format: bool = False
    download_fault_rate: float = 0.0
    download_faults: list[str] = field(default_factory=lambda: ["404"])
    download_slow_seconds: float = 5.0
    download_oversized_bytes: int = 21 * 1024 * 1024
    # Files and Batches API.
    batch_stage_seconds: float = 1.0
    batch_fail_custom_ids: list[str] = field(default_factory=list)
    batch_fail_fraction: float = 0.0
    batch_fail_kinds: list[str] = field(default_factory=lambda: ["500"])
    expire_batches: int = 0
    batch_expire_fraction: float = 0.5
    refuse_images_in_batches: bool = False
    batch_api_fault_rate: float = 0.0
    batch_api_fault_kinds: list[str] = field(default_factory=lambda: ["500"])

    def __post_init__(self) -> None:
        _check_subset("fault_kinds", self.fault_kinds, ALL_FAULT_KINDS)
        _check_subset("fault_sequence", [kind for kind in self.fault_sequence if kind], ALL_FAULT_KINDS)
        _check_subset("retry_hints", list(self.retry_hints), ALL_FAULT_KINDS)
        for hints in self.retry_hints.values():
            _check_hints(list(hints))
        _check_hints(self.rate_limit_hints)
        _check_subset("key_echo", self.key_echo, KEY_ECHOES)
        _check_subset("image_response", [self.image_response], IMAGE_RESPONSES)
        _check_subset("download_faults", self.download_faults, DOWNLOAD_FAULTS)
        _check_subset("batch_fail_kinds", self.batch_fail_kinds, ERROR_KINDS)
        _check_subset("batch_api_fault_kinds", self.batch_api_fault_kinds, BATCH_API_FAULT_KINDS)
        if self.batch_stage_seconds < 0:
            raise ValueError("batch_stage_seconds must be 0 or more")


def _check_subset(name: str, values: list[str], allowed: tuple[str, ...]) -> None:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"{name}: unknown {unknown}; known: {', '.join(allowed)}")


def _check_hints(hints: list[str]) -> None:
    _check_subset("retry hints", hints, RETRY_HINTS)
    if "retry-after" in hints and "retry-after-date" in hints:
        raise ValueError("retry hints: retry-after and retry-after-date are the same header; choose one")
