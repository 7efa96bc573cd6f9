"""Log formatting: one JSON object per line in production, readable lines in development."""

import base64
import functools
import json
import logging
import re
from datetime import UTC, datetime

from django.conf import settings

# Context that the engine attaches with `extra=`; formatters print whichever are present.
CONTEXT_FIELDS = (
    "batch_id",
    "post_id",
    "campaign_id",
    "attempt",
    "try",
    "latency_ms",
    "provider",
    "reason",
    "worker",
)

_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")
REDACTED = "[redacted]"


def _base64_forms(secret: bytes) -> set[str]:
    """The runs of base64 characters that encode `secret` wherever it sits in a longer encoded
    text (3 alignments), in the standard and URL-safe alphabets, padding left out."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret).decode().rstrip("=")
        first = -(-8 * shift // 6)  # the first character made of the secret's bits alone
        last = (8 * (shift + len(secret))) // 6  # one past the last such character
        stable = encoded[first:last]
        forms |= {stable, stable.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= 8}


@functools.lru_cache(maxsize=4)
def _key_pattern(key: str) -> re.Pattern[str]:
    """The key in any case, with any of its bytes percent-encoded, or base64-encoded."""
    plain = "".join(
        "(?:" + "|".join([re.escape(char)] + [f"%{byte:02x}" for byte in char.encode()]) + ")"
        if len(char.encode()) == 1
        else re.escape(char)
        for char in key
    )
    # Base64 is case-sensitive: matched as it is (after the case-insensitive plain forms).
    encoded = "|".join(re.escape(form) for form in sorted(_base64_forms(key.encode()), key=len, reverse=True))
    return re.compile(f"(?i:{plain})" + (f"|{encoded}" if encoded else ""))


# Secrets that travel in URLs: the capability is the URL itself, so an access log line (the
# request line, a Referer, a sign-in redirect's ?next=) would hand it to anyone who reads logs.
# A slash, "?", "&" and "=" are also matched percent-encoded (?next=%2Finvitations%2F…).
_SLASH = r"(?:/|%2[fF])"
# A path segment, up to the next slash, "?", "&", quote or space (also percent-encoded).
_END = r"""(?:[^/\s?#&"'%]|%(?!2[fF]|3[fF]|26)[0-9a-fA-F]{2})+"""
_URL_SECRETS = [
    # an invitation link: /invitations/<token>/
    re.compile(rf"({_SLASH}invitations{_SLASH})(?:{_END})"),
    # a calendar feed: /calendar/<token>.ics
    re.compile(rf"({_SLASH}calendar{_SLASH})(?:{_END})"),
    # an API CSV export: /api/v1/exports/<signed id>[/download] (a ZIP's id is a number, not secret)
    re.compile(rf"({_SLASH}exports{_SLASH})(?!\d+(?:[/?#\s\"']|%2[fF]|%3[fF]|$))(?:{_END})"),
    # a password reset link: /accounts/reset/<uidb64>/<token>/ (Django's own)
    re.compile(rf"({_SLASH}reset{_SLASH}[^/\s?#%]+{_SLASH})(?!set-password)(?:{_END})"),
    # a signed download link's query parameter: ?link=<signed token> (exports.links)
    re.compile(r"((?:[?&;]|%3[fF]|%26)link(?:=|%3[dD]))[^&\s#\"']*"),
]


def redact_url_secrets(text: str) -> str:
    """Replace the secret part of invitation, calendar feed, signed export and password reset
    URLs, and of ?link= values, with [redacted], wherever they sit in the text."""
    for pattern in _URL_SECRETS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def redact_secrets(text: str) -> str:
    """Remove the configured OpenAI key from text in every form a server may echo it (any case,
    percent-encoded, base64), anything shaped like an OpenAI key, and secrets carried in URLs."""
    key = getattr(settings, "OPENAI_API_KEY", "")
    if key and len(key) >= 8:
        text = _key_pattern(key).sub(REDACTED, text)
    return redact_url_secrets(_KEY_PATTERN.sub(REDACTED, text))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_secrets(logging.Formatter().formatException(record.exc_info))
        return True


def _context(record: logging.LogRecord) -> dict:
    return {field: getattr(record, field) for field in CONTEXT_FIELDS if hasattr(record, field)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if context:
            line += " " + " ".join(f"{key}={value}" for key, value in context.items())
        return line
