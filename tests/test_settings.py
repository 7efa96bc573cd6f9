"""Start-up refuses a production configuration that is missing or malformed, in one line."""

import os
import subprocess
import sys

import pytest

from tests.support import BASE_DIR

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "posts.example.com",
    "DATABASE_URL": "sqlite:////tmp/settings-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("GENERATION_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=environment,
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        timeout=60,
    )


def test_production_settings_start():
    result = manage("check", **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "configuration error: SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "configuration error: SECRET_KEY must be at least 32 characters"),
        ({"ALLOWED_HOSTS": ""}, "configuration error: ALLOWED_HOSTS must be set"),
        ({"DEBUG": "maybe"}, "configuration error: DEBUG must be a boolean"),
        ({"GENERATION_CONCURRENCY": "lots"}, "configuration error: GENERATION_CONCURRENCY must be an integer"),
        ({"GENERATION_PROVIDER": "magic"}, "configuration error: GENERATION_PROVIDER must be one of local, openai"),
        ({"GENERATION_PROVIDER": "openai"}, "configuration error: OPENAI_API_KEY must be set"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "configuration error: DATABASE_URL must use postgres:// or sqlite://"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(override, message):
    result = manage("check", **{**PRODUCTION, **override})
    assert result.returncode == 1
    assert result.stderr.strip() == message or result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
