"""The HTTP server: routing, the rate limit, injected faults, image downloads, and what it saw."""

import email
import email.policy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fake_openai.answers import (
    IMAGE,
    IMAGE_B64,
    TRUNCATED_IMAGE,
    TRUNCATED_IMAGE_B64,
    asked_wait,
    chat_completion,
    error_answer,
    error_payload,
    image_answer_form,
    images_payload,
    post_number,
    retry_hint_headers,
)
from tests.fake_openai.batches import ENDPOINTS, ApiError
from tests.fake_openai.config import ERROR_KINDS, Config
from tests.fake_openai.state import State

NOT_AN_IMAGE = b"<html><body><h1>Sign in to view this file</h1></body></html>"


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK, which added ~40 ms to every answer on top of the configured latency.
    disable_nagle_algorithm = True

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def log_message(self, format, *args) -> None:
        return

    # Reading and writing

    def _start(self) -> tuple[str, dict[str, list[str]]]:
        """Note the arrival of a request; its path and query."""
        self.arrived_at = time.time()
        self.fault: str | None = None
        url = urlsplit(self.path)
        return url.path, parse_qs(url.query)

    def _raw_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    @staticmethod
    def _json(raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}

    def _key(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")

    def _send(
        self,
        status: int,
        payload,
        headers: dict | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _finish(self, endpoint: str, status: int, payload, headers: dict, raw: bytes | None = None, **send) -> None:
        """Answer, and record it: counts by endpoint and status, and the request's own entry."""
        answered_at = time.time()
        with self.state.lock:
            self.state.count(f"{endpoint}:{status}")
            self.state.requests.append(
                {
                    "endpoint": endpoint,
                    "status": status,
                    "fault": self.fault,
                    "arrived_at": self.arrived_at,
                    "answered_at": answered_at,
                    "hints": {k: v for k, v in headers.items() if k in ("retry-after", "retry-after-ms")},
                    "retry_after": asked_wait(headers, answered_at),
                }
            )
        self._send(status, payload, headers, raw, **send)

    def _fail(self, endpoint: str, kind: str, headers: dict, hints_of: str | None = None) -> None:
        """Answer with an error's body and the retry hints configured for its fault kind."""
        answer = error_answer(kind, key=self._key(), key_echo=self.state.config.key_echo)
        hints = retry_hint_headers(self.state.config.retry_hints.get(hints_of or kind, {}), time.time())
        if answer.html is not None:
            self._finish(endpoint, answer.status, None, {**headers, **hints}, answer.html, content_type="text/html")
        else:
            self._finish(endpoint, answer.status, answer.payload, {**headers, **hints})

    # Routing

    def do_GET(self) -> None:
        path, query = self._start()
        if path == "/_stats":
            self._send(200, self.state.stats())
        elif path.startswith("/files/"):
            self._download(path.removeprefix("/files/"))
        else:
            self._batch_api("GET", path, query, b"")

    def do_DELETE(self) -> None:
        path, query = self._start()
        self._batch_api("DELETE", path, query, b"")

    def do_PATCH(self) -> None:
        path, _ = self._start()
        body = self._json(self._raw_body())
        if path == "/_config":
            self._configure(lambda: self.state.update(**body))
        else:
            self._send(404, error_payload(f"unknown path {path}", "invalid_request_error"))

    def do_POST(self) -> None:
        path, query = self._start()
        raw = self._raw_body()
        if path == "/_config":
            self._configure(lambda: self.state.configure(Config(**self._json(raw))))
        elif path == "/_clock":
            self.state.advance_clock(float(self._json(raw).get("advance", 0)))
            self._send(200, {"clock_offset": self.state.clock_offset})
        elif path.endswith("/chat/completions"):
            self._api("chat", self._json(raw))
        elif path.endswith("/images/generations"):
            self._api("images", self._json(raw))
        else:
            self._batch_api("POST", path, query, raw)

    def _configure(self, change) -> None:
        try:
            change()
        except (TypeError, ValueError) as exc:
            self._send(400, error_payload(str(exc), "invalid_request_error"))
            return
        self._send(200, {"ok": True})

    # Chat and images

    def _api(self, endpoint: str, body: dict) -> None:
        state = self.state
        with state.lock:
            config = state.config
            state.arrivals.append(time.time())
            state.bodies.append((endpoint, body))
            allowed, wait, remaining = state.take_token()
            index = state.api_requests
            state.api_requests += 1
            fault = None
            if index < len(config.fault_sequence):
                fault = config.fault_sequence[index] or None
                if fault == "truncated_image" and endpoint != "images":
                    fault = None
            elif allowed and config.fault_rate and state.random.random() < config.fault_rate:
                kinds = [k for k in config.fault_kinds if endpoint == "images" or k != "truncated_image"]
                fault = state.random.choice(kinds) if kinds else None
            fault = fault if allowed else None
            if fault:
                state.count(f"fault:{fault}")
            if allowed:
                state.accepted.append(time.time())
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        self.fault = fault
        headers = {}
        if config.rpm:
            headers = {
                "x-ratelimit-limit-requests": str(config.rpm),
                "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": f"{max(wait, 60.0 / config.rpm):.3f}s",
            }
        try:
            if not allowed:
                self.fault = "rate_limit"
                hints = retry_hint_headers(dict.fromkeys(config.rate_limit_hints, wait), time.time(), ".3f")
                self._finish(
                    endpoint,
                    429,
                    error_payload("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                    {**headers, **hints},
                )
                return
            time.sleep(config.text_latency if endpoint == "chat" else config.image_latency)
            number = post_number(body)
            if number is not None and number in config.refuse_posts:
                self._fail(endpoint, "content_policy", headers)
            elif endpoint == "images" and self._rejects_response_format(body):
                message = "Unknown parameter: 'response_format'."
                payload = error_payload(message, "invalid_request_error", "unknown_parameter", "response_format")
                self._finish(endpoint, 400, payload, headers)
            elif fault in ERROR_KINDS:
                self._fail(endpoint, fault, headers)
            elif fault == "timeout":
                time.sleep(config.timeout_seconds)
                self._fail(endpoint, "504", headers, hints_of="timeout")
            elif endpoint == "chat":
                payload = chat_completion(body, number, config.caption_chars, malformed=fault == "malformed_json")
                self._finish("chat", 200, payload, headers)
            else:
                self._images(body, headers, truncated=fault == "truncated_image", malformed=fault == "malformed_json")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state.lock:
                state.in_flight -= 1

    def _rejects_response_format(self, body: dict) -> bool:
        """gpt-image-* models refuse response_format (they always answer base64), when so configured."""
        return (
            self.state.config.gpt_image_rejects_response_format
            and str(body.get("model", "")).startswith("gpt-image")
            and "response_format" in body
        )

    def _images(self, body: dict, headers: dict, truncated: bool, malformed: bool) -> None:
        state = self.state
        form = image_answer_form(body, state.config.image_response)
        with state.lock:
            state.image_requests.append(
                {"model": body.get("model"), "response_format": body.get("response_format"), "answered_as": form}
            )
            url = state.publish(TRUNCATED_IMAGE if truncated else IMAGE, self.origin) if form == "url" else None
        if malformed:
            self._finish("images", 200, None, headers, raw=b'{"created": 1, "data": [{"b64_json": "')
            return
        if url:
            item = {"url": url, "revised_prompt": str(body.get("prompt", ""))}
        else:
            item = {"b64_json": TRUNCATED_IMAGE_B64 if truncated else IMAGE_B64}
        self._finish("images", 200, images_payload(item), headers)

    # Image downloads

    def _download(self, name: str) -> None:
        state = self.state
        with state.lock:
            config = state.config
            data = state.published.get(name)
            fault = None
            if config.download_fault_rate and state.download_random.random() < config.download_fault_rate:
                fault = state.download_random.choice(config.download_faults)
        status = 404 if data is None or fault == "404" else 200
        # Recorded before answering: a test reads the stats as soon as its download ends.
        with state.lock:
            state.count(f"download:{status}")
            state.downloads.append({"name": name, "status": status, "fault": fault, "arrived_at": self.arrived_at})
        try:
            if status == 404:
                self._send(404, error_payload(f"File {name} not found.", "invalid_request_error"))
            elif fault == "not_image":
                self._send(200, None, raw=NOT_AN_IMAGE, content_type="image/png")
            elif fault == "slow":
                self._send_slowly(data, config.download_slow_seconds)
            elif fault in ("oversized", "oversized_chunked"):
                self._send_oversized(data, config.download_oversized_bytes, chunked=fault == "oversized_chunked")
            else:
                self._send(200, None, raw=data, content_type="image/png")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_slowly(self, data: bytes, seconds: float, pieces: int = 10) -> None:
        """The whole image, in `pieces` writes spread over `seconds`: each read is quick, the body is not."""
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        size = -(-len(data) // pieces)
        for start in range(0, len(data), size):
            time.sleep(seconds / pieces)
            self.wfile.write(data[start : start + size])
            self.wfile.flush()

    def _send_oversized(self, data: bytes, size: int, chunked: bool) -> None:
        """A PNG's first bytes padded to `size`: with its length declared, or chunked with none."""
        self.send_response(200)
        self.send_header("content-type", "image/png")
        if chunked:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(size))
        self.end_headers()
        self.close_connection = True  # a client that stops reading leaves the rest unread
        block = 64 * 1024
        for start in range(0, size, block):
            piece = data[start : start + block].ljust(min(block, size - start), b"\0")
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    # Files and batches

    def _batch_api(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        state = self.state
        route = _route(method, path)
        if route is None:
            self._send(404, error_payload(f"unknown path {method} {path}", "invalid_request_error"))
            return
        endpoint, action, object_id = route
        with state.lock:
            config = state.config
            fault = None
            if config.batch_api_fault_rate and state.batch_api_random.random() < config.batch_api_fault_rate:
                fault = state.batch_api_random.choice(config.batch_api_fault_kinds)
                state.count(f"batch_api_fault:{fault}")
        self.fault = fault
        if fault in ERROR_KINDS:
            self._fail(endpoint, fault, {})
            return
        try:
            with state.lock:
                status, payload, raw_answer = 200, *self._batch_action(action, object_id, query, raw)
        except ApiError as refusal:
            status, payload, raw_answer = refusal.status, refusal.payload, None
        if fault == "lost_reply":  # done, but the connection drops before the answer
            with state.lock:
                state.count(f"{endpoint}:lost")
            self.close_connection = True
            return
        if raw_answer is not None:
            self._finish(endpoint, status, None, {}, raw_answer, content_type="application/octet-stream")
        else:
            self._finish(endpoint, status, payload, {})

    def _batch_action(self, action: str, object_id: str, query: dict[str, list[str]], raw: bytes):
        """(payload, raw bytes or None) of one Files or Batches call; the caller holds the lock."""
        state = self.state
        store = state.store
        now = state.now()
        if action == "upload_file":
            fields = _multipart(self.headers.get("content-type", ""), raw)
            if "file" not in fields or "purpose" not in fields:
                raise ApiError(400, "Missing required parameter: 'file' and 'purpose'.", param="file")
            filename, data = fields["file"]
            purpose = fields["purpose"][1].decode()
            return store.upload(filename=filename or "upload", purpose=purpose, data=data, now=now).to_json(), None
        if action == "retrieve_file":
            return store.file(object_id).to_json(), None
        if action == "file_content":
            return None, store.file(object_id).data
        if action == "delete_file":
            return store.delete_file(object_id), None
        if action == "create_batch":
            body = self._json(raw)
            batch = store.create(body, config=state.config, now=now, answer=self._line_answer, key=self._key())
            state.bodies.extend((f"batch:{ENDPOINTS[batch.endpoint]}", line.request) for line in batch.lines)
            return store.view(batch, now), None
        if action == "list_batches":
            limit = int((query.get("limit") or ["20"])[0])
            return store.list(now, after=(query.get("after") or [None])[0], limit=limit), None
        if action == "retrieve_batch":
            return store.view(store.batch(object_id), now), None
        return store.view(store.cancel(object_id, now), now), None

    def _line_answer(self, endpoint: str, body: dict) -> tuple[int, dict]:
        """What the live endpoint would answer this request, without its latency, limit or faults."""
        config = self.state.config
        number = post_number(body)
        if number is not None and number in config.refuse_posts:
            answer = error_answer("content_policy")
            return answer.status, answer.payload
        if endpoint == "chat":
            return 200, chat_completion(body, number, config.caption_chars)
        form = image_answer_form(body, config.image_response)
        self.state.image_requests.append(
            {"model": body.get("model"), "response_format": body.get("response_format"), "answered_as": form}
        )
        if form == "url":
            return 200, images_payload({"url": self.state.publish(IMAGE, self.origin)})
        return 200, images_payload({"b64_json": IMAGE_B64})


_ROUTES = [
    # method, path, endpoint (for the counts), action
    ("POST", re.compile(r"/v1/files"), "files", "upload_file"),
    ("GET", re.compile(r"/v1/files/(?P<id>[^/]+)"), "files", "retrieve_file"),
    ("DELETE", re.compile(r"/v1/files/(?P<id>[^/]+)"), "files", "delete_file"),
    ("GET", re.compile(r"/v1/files/(?P<id>[^/]+)/content"), "file_content", "file_content"),
    ("POST", re.compile(r"/v1/batches"), "batches", "create_batch"),
    ("GET", re.compile(r"/v1/batches"), "batches", "list_batches"),
    ("GET", re.compile(r"/v1/batches/(?P<id>[^/]+)"), "batches", "retrieve_batch"),
    ("POST", re.compile(r"/v1/batches/(?P<id>[^/]+)/cancel"), "batches", "cancel_batch"),
]


def _route(method: str, path: str) -> tuple[str, str, str] | None:
    """(endpoint, action, object id) of a Files or Batches call."""
    for route_method, pattern, endpoint, action in _ROUTES:
        match = pattern.fullmatch(path)
        if route_method == method and match:
            return endpoint, action, match.groupdict().get("id", "")
    return None


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name → (filename, bytes)."""
    message = email.message_from_bytes(f"content-type: {content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP)
    if not message.is_multipart():
        return {}
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


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
        # Stopping waits for the serving loop's next poll: 0.5 s by default, at the end of every test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def state(self) -> State:
        return self.httpd.state  # type: ignore[attr-defined]

    def configure(self, config: Config) -> None:
        """Start over with this behaviour (what was seen, files and batches are forgotten)."""
        self.state.configure(config)

    def update(self, **fields) -> None:
        """Change some Config fields and keep what was seen, files and batches."""
        self.state.update(**fields)

    def advance_clock(self, seconds: float) -> None:
        """Move the clock batches run on forward, as if `seconds` had passed."""
        self.state.advance_clock(seconds)

    def stats(self) -> dict:
        return self.state.stats()

    def received(self, endpoint: str) -> list[dict]:
        """The bodies of the requests made to an endpoint, in arrival order: "chat" or "images", or
        "batch:chat" / "batch:images" for the lines of the batches created."""
        with self.state.lock:
            return [body for name, body in self.state.bodies if name == endpoint]

    def __enter__(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
