"""Typed reads of environment variables for config.settings.

Every setting that comes from the environment is read through these functions,
so a missing or malformed value fails with one line that names the variable.
"""

import json
import os
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

Default = TypeVar("Default")


class ConfigError(ImproperlyConfigured):
    """A required environment variable is missing or malformed."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value:
        return value
    if required:
        raise ConfigError(f"{name} must be set")
    return default or ""


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def env_decimal(name: str, default: str | None = None) -> Decimal | None:
    value = _raw(name) or default
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a decimal number, got {value!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = (_raw(name) or default).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_json(name: str, default: Default) -> Default:
    """The variable's JSON, which takes the place of `default`: the same shape is expected, not checked."""
    value = _raw(name)
    if not value:
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} must be valid JSON ({exc.msg})") from None
