"""Log formatting: one JSON object per line in production, readable lines in development."""

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


def redact_secrets(text: str) -> str:
    """Remove the configured OpenAI key, and anything shaped like an OpenAI key, from text."""
    key = getattr(settings, "OPENAI_API_KEY", "")
    if key and len(key) >= 8:
        text = text.replace(key, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


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
