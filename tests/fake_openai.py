"""A fake OpenAI-compatible server on loopback, for tests and benchmarks.

It speaks just enough of the API for the official SDK: POST /v1/chat/completions
(answers with a JSON caption) and POST /v1/images/generations (answers with b64_json).
Behaviour is set by a Config, changeable at run time with POST /_config:

- latency per endpoint (text_latency, image_latency, in seconds);
- a rate limit like OpenAI's: a bucket of `rpm` requests, full at start, refilling
  continuously; over it, 429 with retry-after and x-ratelimit-* headers on every answer;
- injected faults: each request fails with probability `fault_rate`, with a kind drawn from
  `fault_kinds` (429, 500, 503, timeout, malformed_json, truncated_image; also 401, not in
  the default mix: a refused key, echoed in the error message as OpenAI does); and posts
  whose prompt says "post number N" with N in `refuse_posts` are refused permanently (HTTP 400).

GET /_stats returns what it saw: requests by endpoint and status, faults injected by kind,
the peak number of requests in flight, and the arrival times (for checking a rate limit
from outside).

Run alone (the benchmark does): python -m tests.fake_openai --port 8765 --rpm 120
"""

import argparse
import base64
import contextlib
import io
import json
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

FAULT_KINDS = ("429", "500", "503", "timeout", "malformed_json", "truncated_image")
_POST_NUMBER = re.compile(r"post number (\d+)")


@dataclass
class Config:
    text_latency: float = 0.0
    image_latency: float = 0.0
    rpm: int = 0  # 0: no rate limit
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    refuse_posts: list[int] = field(default_factory=list)
    timeout_seconds: float = 30.0  # how long a "timeout" fault hangs
    seed: int = 1234
    caption_chars: int = 180


class State:
    def __init__(self, config: Config) -> None:
        self.lock = threading.Lock()
        self.configure(config)

    def configure(self, config: Config) -> None:
        with self.lock:
            self.config = config
            self.random = random.Random(config.seed)
            self.tokens = float(config.rpm)
            self.refilled_at = time.monotonic()
            self.counts: dict[str, int] = {}
            self.in_flight = 0
            self.peak_in_flight = 0
            self.arrivals: list[float] = []
            self.accepted: list[float] = []
            self.bodies: list[tuple[str, dict]] = []  # (endpoint, request body), for tests that check the prompts

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

    def stats(self) -> dict:
        with self.lock:
            return {
                "counts": dict(self.counts),
                "peak_in_flight": self.peak_in_flight,
                "arrivals": list(self.arrivals),
                "accepted": list(self.accepted),
                "config": asdict(self.config),
            }


def _image_bytes(width: int = 256, height: int = 256, seed: int = 0) -> bytes:
    image = Image.new("RGB", (width, height), (30 + seed % 200, 90, 160))
    ImageDraw.Draw(image).ellipse((40, 40, width - 40, height - 40), fill=(240, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


IMAGE = _image_bytes()
IMAGE_B64 = base64.b64encode(IMAGE).decode()
TRUNCATED_IMAGE_B64 = base64.b64encode(IMAGE[: len(IMAGE) // 2]).decode()


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK, which added ~40 ms to every answer on top of the configured latency.
    disable_nagle_algorithm = True

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args) -> None:
        return

    def _body(self) -> dict:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return {}

    def _send(self, status: int, payload, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/_stats":
            self._send(200, self.state.stats())
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/_config":
            self.state.configure(Config(**body))
            self._send(200, {"ok": True})
            return
        if self.path.endswith("/chat/completions"):
            self._api("chat", body)
        elif self.path.endswith("/images/generations"):
            self._api("images", body)
        else:
            self._send(404, {"error": {"message": f"unknown path {self.path}"}})

    def _api(self, endpoint: str, body: dict) -> None:
        state = self.state
        with state.lock:
            config = state.config
            state.arrivals.append(time.time())
            state.bodies.append((endpoint, body))
            allowed, wait, remaining = state.take_token()
            fault = None
            if allowed and config.fault_rate and state.random.random() < config.fault_rate:
                kinds = [k for k in config.fault_kinds if endpoint == "images" or k != "truncated_image"]
                fault = state.random.choice(kinds) if kinds else None
                if fault:
                    state.count(f"fault:{fault}")
            if allowed:
                state.accepted.append(time.time())
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        headers = {}
        if config.rpm:
            headers = {
                "x-ratelimit-limit-requests": str(config.rpm),
                "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": f"{max(wait, 60.0 / config.rpm):.3f}s",
            }
        try:
            if not allowed:
                self._finish(
                    endpoint,
                    429,
                    {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
                    {**headers, "retry-after": f"{wait:.3f}"},
                )
                return
            time.sleep(config.text_latency if endpoint == "chat" else config.image_latency)
            post_number = _post_number(body)
            if post_number is not None and post_number in config.refuse_posts:
                self._finish(
                    endpoint,
                    400,
                    {
                        "error": {
                            "message": "Your request was rejected by the safety system.",
                            "code": "content_policy_violation",
                        }
                    },
                    headers,
                )
                return
            if fault == "401":
                key = self.headers.get("authorization", "").removeprefix("Bearer ")
                message = (
                    f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com."
                )
                self._finish(endpoint, 401, {"error": {"message": message, "code": "invalid_api_key"}}, headers)
                return
            if fault in ("429", "500", "503"):
                status = int(fault)
                extra = {"retry-after": "0.2"} if status == 429 else {}
                self._finish(endpoint, status, {"error": {"message": f"injected {status}"}}, {**headers, **extra})
                return
            if fault == "timeout":
                time.sleep(config.timeout_seconds)
                self._finish(endpoint, 504, {"error": {"message": "injected timeout"}}, headers)
                return
            if endpoint == "chat":
                self._chat(body, headers, post_number, malformed=fault == "malformed_json")
            else:
                self._images(headers, truncated=fault == "truncated_image", malformed=fault == "malformed_json")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state.lock:
                state.in_flight -= 1

    def _finish(self, endpoint: str, status: int, payload, headers: dict, raw: bytes | None = None) -> None:
        with self.state.lock:
            self.state.count(f"{endpoint}:{status}")
        self._send(status, payload, headers, raw)

    def _chat(self, body: dict, headers: dict, post_number: int | None, malformed: bool) -> None:
        number = post_number or 0
        words = ("Fresh", "Bold", "Smooth", "Bright", "Cool", "Crisp", "Golden", "Easy")
        caption = (
            f"{words[number % len(words)]} idea number {number}: "
            + ("a sunny take on the brief that keeps going " * 20)[: self.state.config.caption_chars]
        )
        content = json.dumps(
            {
                "caption": caption.strip(),
                "hashtags": ["#Fresh", f"#Idea{number}", "#Summer"],
                "headline": f"Idea number {number}",
                "image_prompt": f"A bright summer scene, variation {number}",
            }
        )
        if malformed:
            content = content[: len(content) // 2]
        payload = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 420, "completion_tokens": 120, "total_tokens": 540},
        }
        self._finish("chat", 200, payload, headers)

    def _images(self, headers: dict, truncated: bool, malformed: bool) -> None:
        if malformed:
            self._finish("images", 200, None, headers, raw=b'{"created": 1, "data": [{"b64_json": "')
            return
        payload = {"created": int(time.time()), "data": [{"b64_json": TRUNCATED_IMAGE_B64 if truncated else IMAGE_B64}]}
        self._finish("images", 200, payload, headers)


def _post_number(body: dict) -> int | None:
    for message in body.get("messages") or []:
        match = _POST_NUMBER.search(str(message.get("content", "")))
        if match:
            return int(match.group(1)) - 1  # prompts count from 1, batches from 0
    match = _POST_NUMBER.search(str(body.get("prompt", "")))
    return int(match.group(1)) - 1 if match else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen() backlog, fixed when the server is made. Python's default of 5 dropped the
    # connections of a worker opening 16 at once; the client retried each after 1 s (SYN timeout).
    request_queue_size = 512


class FakeOpenAIServer:
    """The server on a background thread: `with FakeOpenAIServer(Config(...)) as server: server.base_url`."""

    def __init__(self, config: Config | None = None, port: int = 0) -> None:
        self.httpd = _Server(("127.0.0.1", port), Handler)
        self.httpd.state = State(config or Config())  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def state(self) -> State:
        return self.httpd.state  # type: ignore[attr-defined]

    def configure(self, config: Config) -> None:
        self.state.configure(config)

    def stats(self) -> dict:
        return self.state.stats()

    def received(self, endpoint: str) -> list[dict]:
        """The bodies of the requests made to an endpoint ("chat" or "images"), in arrival order."""
        with self.state.lock:
            return [body for name, body in self.state.bodies if name == endpoint]

    def __enter__(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--text-latency", type=float, default=0.0)
    parser.add_argument("--image-latency", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    config = Config(
        text_latency=args.text_latency, image_latency=args.image_latency, rpm=args.rpm, fault_rate=args.fault_rate
    )
    server = FakeOpenAIServer(config, port=args.port)
    print(f"fake OpenAI server on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.httpd.serve_forever()


if __name__ == "__main__":
    main()
