"""What the server knows: its behaviour, its clock, its rate-limit bucket, its files and batches,
and everything it saw (GET /_stats)."""

import dataclasses
import random
import threading
import time
from dataclasses import asdict

from tests.fake_openai.batches import BatchStore
from tests.fake_openai.config import Config


class State:
    def __init__(self, config: Config) -> None:
        self.lock = threading.Lock()
        self.clock_offset = 0.0
        self.configure(config)

    def configure(self, config: Config) -> None:
        """Start over with this behaviour: everything seen, files and batches are forgotten."""
        with self.lock:
            self.config = config
            self.random = random.Random(config.seed)
            # Their own draws, so that downloads and Batch API calls leave the faults of the
            # chat and image endpoints exactly as a seed made them before these existed.
            self.download_random = random.Random(f"{config.seed}:downloads")
            self.batch_api_random = random.Random(f"{config.seed}:batch-api")
            self.tokens = float(config.rpm)
            self.refilled_at = time.monotonic()
            self.counts: dict[str, int] = {}
            self.in_flight = 0
            self.peak_in_flight = 0
            self.api_requests = 0  # chat and image requests so far, for fault_sequence
            self.arrivals: list[float] = []
            self.accepted: list[float] = []
            self.bodies: list[tuple[str, dict]] = []  # (endpoint, request body), for tests that check the prompts
            self.requests: list[dict] = []
            self.image_requests: list[dict] = []
            self.downloads: list[dict] = []
            self.published: dict[str, bytes] = {}  # images served at /files/<name>
            self.store = BatchStore()

    def update(self, **fields) -> None:
        """Change some of the behaviour and keep everything seen, files and batches."""
        with self.lock:
            self.config = dataclasses.replace(self.config, **fields)

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds

    def now(self) -> float:
        """The clock batches move on: the wall clock, plus however far a test advanced it."""
        return time.time() + self.clock_offset

    def take_token(self) -> tuple[bool, float, int]:
        """(allowed, seconds until the next token, tokens remaining) for one request."""
        rpm = self.config.rpm
        if not rpm:
            return True, 0.0, 0
        now = time.monotonic()
        rate = rpm / 60.0
        self.tokens = min(float(rpm), self.tokens + (now - self.refilled_at) * rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True, 0.0, int(self.tokens)
        return False, (1.0 - self.tokens) / rate, 0

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def publish(self, data: bytes, origin: str) -> str:
        """Serve these bytes at a URL of this server; the URL."""
        name = f"img-{len(self.published) + 1}.png"
        self.published[name] = data
        return f"{origin}/files/{name}"

    def stats(self) -> dict:
        with self.lock:
            return {
                "counts": dict(self.counts),
                "peak_in_flight": self.peak_in_flight,
                "arrivals": list(self.arrivals),
                "accepted": list(self.accepted),
                "requests": [dict(entry) for entry in self.requests],
                "image_requests": list(self.image_requests),
                "downloads": list(self.downloads),
                **self.store.stats(self.now()),
                "clock_offset": self.clock_offset,
                "config": asdict(self.config),
            }
