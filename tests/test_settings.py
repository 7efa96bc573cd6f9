"""Start-up refuses a production configuration that is missing or malformed, in one line."""

import os
import subprocess

import pytest

from tests.support import manage_py

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "posts.example.com",
    "DATABASE_URL": "sqlite:////tmp/settings-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("GENERATION_")}
    return manage_py(*args, env={**environment, **env}, timeout=60)


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
        ({"SITE_URL": "posts.example.com/app"}, "configuration error: SITE_URL must be a scheme and a host"),
        ({"API_IDEMPOTENCY_HOURS": "0"}, "configuration error: API_IDEMPOTENCY_HOURS must be at least 1"),
        ({"EMAIL_URL": "pigeon://coop"}, "configuration error: EMAIL_URL is not a valid email URL"),
        ({"MEDIA_STORAGE": "s3"}, "configuration error: S3_BUCKET must be set"),
        ({"TRUSTED_PROXY_CIDRS": "10.0.0.0/33"}, "configuration error: TRUSTED_PROXY_CIDRS must be comma-separated"),
        (
            {"TRUSTED_PROXY_COUNT": "1", "TRUSTED_PROXY_CIDRS": "10.0.0.0/8"},
            "configuration error: Set TRUSTED_PROXY_COUNT",
        ),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(override, message):
    result = manage("check", **{**PRODUCTION, **override})
    assert result.returncode == 1
    assert result.stderr.strip() == message or result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def settings_of(*names: str, **env: str) -> list[str]:
    code = f"from django.conf import settings; print(*(repr(getattr(settings, n)) for n in {names!r}), sep='\\n')"
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_email_url_configures_a_real_backend_and_development_prints_to_the_console():
    smtp = settings_of(
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_HOST_USER",
        "EMAIL_USE_TLS",
        "EMAIL_CONFIGURED",
        **PRODUCTION,
        EMAIL_URL="smtp://mailer:secret@smtp.example.com:587/?tls=True",
    )
    assert smtp == [
        "'django.core.mail.backends.smtp.EmailBackend'",
        "'smtp.example.com'",
        "587",
        "'mailer'",
        "True",
        "True",
    ]
    assert settings_of("EMAIL_BACKEND", "EMAIL_CONFIGURED", DEBUG="1") == [
        "'django.core.mail.backends.console.EmailBackend'",
        "True",
    ]
    assert settings_of("EMAIL_BACKEND", "EMAIL_CONFIGURED", **PRODUCTION) == [
        "'django.core.mail.backends.dummy.EmailBackend'",
        "False",
    ]


def test_s3_storage_keeps_media_private_and_allows_its_images():
    lines = settings_of(
        "STORAGES",
        "MEDIA_DELIVERY",
        "CONTENT_SECURITY_POLICY",
        **PRODUCTION,
        MEDIA_STORAGE="s3",
        S3_BUCKET="posts-media",
        S3_ENDPOINT_URL="https://s3.example.net:9000",
    )
    storages, delivery, policy = (eval(line) for line in lines)
    options = storages["default"]["OPTIONS"]
    assert storages["default"]["BACKEND"] == "shared.storage.PrivateS3Storage"
    assert (options["bucket_name"], options["querystring_auth"], options["default_acl"]) == ("posts-media", True, None)
    assert delivery == "s3"
    assert "img-src 'self' data: blob: https://s3.example.net:9000;" in policy
