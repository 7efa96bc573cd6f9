"""What the fake server answers: captions, images, retry hints and the error bodies real servers send.

The live endpoints and the Batch API's output lines build their bodies here, so a line of a
batch's output file holds exactly what the live endpoint would have answered.
"""

import base64
import io
import json
import math
import re
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from PIL import Image, ImageDraw

_POST_NUMBER = re.compile(r"post number (\d+)")


def _image_bytes(width: int = 256, height: int = 256, seed: int = 0) -> bytes:
    image = Image.new("RGB", (width, height), (30 + seed % 200, 90, 160))
    ImageDraw.Draw(image).ellipse((40, 40, width - 40, height - 40), fill=(240, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


IMAGE = _image_bytes()
IMAGE_B64 = base64.b64encode(IMAGE).decode()
TRUNCATED_IMAGE = IMAGE[: len(IMAGE) // 2]
TRUNCATED_IMAGE_B64 = base64.b64encode(TRUNCATED_IMAGE).decode()


def post_number(body: dict) -> int | None:
    """The post a request is for, from "post number N" in its prompt (prompts count from 1, batches from 0)."""
    for message in body.get("messages") or []:
        match = _POST_NUMBER.search(str(message.get("content", "")))
        if match:
            return int(match.group(1)) - 1
    match = _POST_NUMBER.search(str(body.get("prompt", "")))
    return int(match.group(1)) - 1 if match else None


def chat_completion(body: dict, number: int | None, caption_chars: int, malformed: bool = False) -> dict:
    number = number or 0
    words = ("Fresh", "Bold", "Smooth", "Bright", "Cool", "Crisp", "Golden", "Easy")
    caption = (
        f"{words[number % len(words)]} idea number {number}: "
        + ("a sunny take on the brief that keeps going " * 20)[:caption_chars]
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
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 420, "completion_tokens": 120, "total_tokens": 540},
    }


def image_answer_form(body: dict, image_response: str) -> str:
    """ "b64" or "url": how an image request is answered.

    "auto" does what OpenAI does: gpt-image-* always answer base64, dall-e-* (and most compatible
    servers) a URL unless the request asks response_format=b64_json.
    """
    if image_response != "auto":
        return image_response
    if str(body.get("model", "")).startswith("gpt-image"):
        return "b64"
    return "b64" if body.get("response_format") == "b64_json" else "url"


def images_payload(item: dict) -> dict:
    return {"created": int(time.time()), "data": [item]}


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    payload: dict  # {"error": {message, type, param, code}}, as OpenAI sends it
    html: bytes | None = None  # what a proxy in front of the server sends instead of JSON


def error_payload(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


_ERRORS: dict[str, ErrorAnswer] = {
    "400": ErrorAnswer(
        400,
        error_payload(
            "Invalid value for 'size': must be one of 1024x1024, 1024x1536, 1536x1024.",
            "invalid_request_error",
            "invalid_value",
            "size",
        ),
    ),
    "403": ErrorAnswer(
        403,
        error_payload(
            "Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"
        ),
    ),
    "408": ErrorAnswer(408, error_payload("Request timed out.", "server_error", "timeout")),
    "409": ErrorAnswer(409, error_payload("The request conflicted with another request.", "server_error", "conflict")),
    "429": ErrorAnswer(
        429,
        error_payload(
            "Rate limit reached for requests per min (RPM). Please try again later.", "requests", "rate_limit_exceeded"
        ),
    ),
    "quota": ErrorAnswer(
        429,
        error_payload(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
    ),
    "500": ErrorAnswer(
        500, error_payload("The server had an error while processing your request. Sorry about that!", "server_error")
    ),
    # A 502 usually comes from the proxy in front of the API, as HTML.
    "502": ErrorAnswer(
        502,
        error_payload("Bad gateway.", "server_error", "bad_gateway"),
        html=b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    ),
    "503": ErrorAnswer(
        503, error_payload("The server is overloaded or not ready yet.", "server_error", "service_unavailable")
    ),
    "504": ErrorAnswer(504, error_payload("Gateway timeout.", "server_error", "gateway_timeout")),
    "content_policy": ErrorAnswer(
        400,
        error_payload(
            "Your request was rejected by the safety system.", "invalid_request_error", "content_policy_violation"
        ),
    ),
}


def error_answer(kind: str, *, key: str = "", key_echo: list[str] | tuple[str, ...] = ("plain",)) -> ErrorAnswer:
    """The answer of an error fault kind; a 401 echoes the refused key in each form of `key_echo`."""
    if kind == "401":
        echoed = " / ".join(echo_key(key, form) for form in key_echo)
        message = f"Incorrect API key provided: {echoed}. You can find your API key at https://platform.openai.com."
        return ErrorAnswer(401, error_payload(message, "invalid_request_error", "invalid_api_key"))
    return _ERRORS[kind]


def echo_key(key: str, form: str) -> str:
    if form == "upper":
        return key.upper()
    if form == "base64":
        return base64.b64encode(key.encode()).decode()
    if form == "urlencoded":
        # Every byte: quote() leaves a key of letters, digits and dashes unchanged.
        return "".join(f"%{byte:02X}" for byte in key.encode())
    return key


def retry_hint_headers(hints: dict[str, float], now: float, seconds_format: str = "g") -> dict[str, str]:
    """Headers asking for a wait of `seconds` per hint: Retry-After (seconds or HTTP date), retry-after-ms."""
    headers = {}
    for hint, seconds in hints.items():
        if hint == "retry-after":
            headers["retry-after"] = format(seconds, seconds_format)
        elif hint == "retry-after-ms":
            headers["retry-after-ms"] = str(math.ceil(seconds * 1000))
        elif hint == "retry-after-date":
            # An HTTP date counts whole seconds: rounded up, it never asks for less than `seconds`.
            headers["retry-after"] = formatdate(math.ceil(now + seconds), usegmt=True)
    return headers


def asked_wait(headers: dict[str, str], now: float) -> float | None:
    """The wait an answer's hints ask for, read as the SDK reads them: retry-after-ms first."""
    if "retry-after-ms" in headers:
        return float(headers["retry-after-ms"]) / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return parsedate_to_datetime(value).timestamp() - now
