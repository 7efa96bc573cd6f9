"""Settings for the campaign post generator: one module, every value from the environment.

The defaults give a working development setup with nothing installed: SQLite in the
project folder and the local (offline) generation provider. Production sets DEBUG=0,
and then SECRET_KEY, ALLOWED_HOSTS and the provider's key are required.
"""

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from dotenv import load_dotenv

from config.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_decimal,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file fills in what the environment leaves unset: `make run` writes one in the project folder
# (DEBUG and its private Redis), so that commands from a second terminal use the same setup. ENV_FILE
# names another file, or none when empty (the tests' choice). https://github.com/theskumar/python-dotenv
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env_str("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The site's public address, for links made outside a request (a worker's export.ready webhook).
# Default: the first ALLOWED_HOSTS entry over https (production redirects to https anyway).
_first_host = next((host for host in ALLOWED_HOSTS if host != "*" and not host.startswith(".")), "localhost")
SITE_URL = env_str(
    "SITE_URL", f"http://localhost:{env_str('PORT', '8000')}" if DEBUG else f"https://{_first_host}"
).rstrip("/")
if not re.fullmatch(r"https?://[^/?#\s]+", SITE_URL):
    raise ConfigError(f"SITE_URL must be a scheme and a host, such as https://posts.example.com, got {SITE_URL!r}")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_rq",
    "axes",
    # django-ninja: the JSON API under /api/v1/ (api/); listed as an app so that its docs page
    # uses the Swagger UI files the package ships, served from our static files, not a CDN.
    "ninja",
    # The project's apps, from the lowest layer up (docs/architecture.md).
    "generation",
    "accounts",
    "workspaces",
    "campaigns",
    "exports",
    "webhooks",
    "api",
    # The periodic tasks' clock (`manage.py clock`), an entry point like the web and the workers.
    "clock",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer probes by IP and plain HTTP (observability.probes).
    "observability.middleware.ProbeMiddleware",
    # Before anything reads the path or the query: a control character in them is a 400 (shared.middleware).
    "shared.middleware.ControlCharactersMiddleware",
    # The scheme from X-Forwarded-Proto, only from our own proxies (TRUSTED_PROXY_COUNT or
    # TRUSTED_PROXY_CIDRS, as for the client's IP): before SecurityMiddleware's HTTPS redirect.
    "shared.client_ip.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Near the top, so that responses made by the middleware below it (static files,
    # redirects, sign-in lockouts) carry the policy too.
    "shared.content_security_policy.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in person's time zone for everything below (workspaces.middleware).
    "accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # request.workspace (the one chosen in the header); a service's NotMember answers 404.
    "workspaces.middleware.WorkspaceMiddleware",
    # Last, so that it sees failed sign-ins after authentication ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workspaces.context_processors.workspaces",
            ],
        },
    },
]

# DATABASES
# ------------------------------------------------------------------------------
# DATABASE_URL selects the engine: sqlite:///path (the default, in the project folder)
# or postgres://user:pass@host:port/name, which uses Django's built-in psycopg pool.
# https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(DATABASE_URL)
except ValueError as exc:
    raise ConfigError(f"DATABASE_URL is not a valid database URL ({exc})") from None
if _database["ENGINE"] == "django.db.backends.postgresql":
    DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 4, minimum=0)
    if DATABASE_POOL_MAX_SIZE:
        # A pool needs CONN_MAX_AGE=0: the pool, not Django, keeps connections alive.
        _database["CONN_MAX_AGE"] = 0
        # The pool checks a connection before lending it (one round trip), so that after a
        # PostgreSQL restart or failover no request is answered with an error for each
        # connection that died in the pool meanwhile.
        _database["CONN_HEALTH_CHECKS"] = True
        _database["OPTIONS"] = {
            "pool": {
                "min_size": 0,
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": 10,
                "max_idle": 60,
                # After a failed connection the pool retries with a doubling delay until
                # reconnect_timeout (5 minutes by default), so a database back after a
                # minute's outage was tried again only a minute later. Giving up after as long
                # as a caller waits lets the next caller start a fresh attempt at once.
                # https://www.psycopg.org/psycopg3/docs/api/pool.html#psycopg_pool.ConnectionPool
                "reconnect_timeout": 10,
            },
        }
    _database["OPTIONS"] = {**_database.get("OPTIONS", {}), "connect_timeout": 5}
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    DATABASE_POOL_MAX_SIZE = 0
    # WAL and a busy timeout let the web server and a worker write to one file.
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    raise ConfigError("DATABASE_URL must use postgres:// or sqlite://")
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REDIS AND RQ
# ------------------------------------------------------------------------------
# https://github.com/rq/django-rq#support-for-django-redis-and-django-redis-cache
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# CACHES AND SESSIONS
# ------------------------------------------------------------------------------
# The Redis every process already shares. Sessions are read from it and written through to the
# database, which saves a query on every page and on every progress poll.
# https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "TIMEOUT": 3600,
    },
    # Rendered post cards (campaigns.cards, which skips it when DEBUG is on), in each process's
    # own memory: about 5 KB a card.
    "cards": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "post-cards",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# The workers take from them in this order (docs/workers.md): the clock's periodic tasks first,
# so that they never wait behind a backlog of chunk jobs.
RQ_QUEUES = {
    "clock": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
    "generation": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}
RQ = {"WORKER_CLASS": "generation.worker.GenerationWorker"}
RQ_SHOW_ADMIN_LINK = True

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out client before the password is checked; then the
    # lock per client IP across usernames (password spraying, accounts.signin).
    "axes.backends.AxesStandaloneBackend",
    "accounts.signin.SprayThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "campaigns:list"
LOGOUT_REDIRECT_URL = "login"
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_HOURS", 0.25, minimum=0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's IP behind proxies (shared.client_ip), for axes and every throttle keyed by IP.
AXES_CLIENT_IP_CALLABLE = "shared.client_ip.client_ip"
# Failed sign-ins from one client IP, any usernames, per AXES_COOLOFF_HOURS (accounts.signin).
SIGN_IN_FAILURES_PER_IP = env_int("SIGN_IN_FAILURES_PER_IP", 20, minimum=1)

# PROXIES
# ------------------------------------------------------------------------------
# Who stands in front of the app, so that the client's IP is read from X-Forwarded-For
# (shared.client_ip): a fixed number of proxies, or their networks. Neither: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
TRUSTED_PROXY_CIDRS = env_list("TRUSTED_PROXY_CIDRS")
try:
    TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network(cidr, strict=False) for cidr in TRUSTED_PROXY_CIDRS]
except ValueError as exc:
    raise ConfigError(f"TRUSTED_PROXY_CIDRS must be comma-separated networks such as 10.0.0.0/8 ({exc})") from None
if TRUSTED_PROXY_COUNT and TRUSTED_PROXY_NETWORKS:
    raise ConfigError("Set TRUSTED_PROXY_COUNT or TRUSTED_PROXY_CIDRS, not both")

# EMAIL
# ------------------------------------------------------------------------------
# EMAIL_URL configures the backend in one variable, e.g. smtp://user:password@smtp.example.com:587/?tls=True
# (https://github.com/migonzalvar/dj-email-url). Development prints emails on the console; production
# without EMAIL_URL sends none, and the pages that would need email say so (EMAIL_CONFIGURED).
EMAIL_URL = env_str("EMAIL_URL", "console:" if DEBUG else "")
EMAIL_CONFIGURED = bool(EMAIL_URL)
try:
    _email = dj_email_url.parse(EMAIL_URL or "dummy:")
except ValueError as exc:
    raise ConfigError(f"EMAIL_URL is not a valid email URL ({exc})") from None
if not _email.get("EMAIL_BACKEND"):
    raise ConfigError("EMAIL_URL is not a valid email URL (smtp://, submission://, console: or dummy:)")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Campaign Posts <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Password reset requests (accounts.password_reset), per client IP and per address asked for.
PASSWORD_RESETS_PER_IP_PER_HOUR = env_int("PASSWORD_RESETS_PER_IP_PER_HOUR", 5, minimum=1)
PASSWORD_RESETS_PER_EMAIL_PER_HOUR = env_int("PASSWORD_RESETS_PER_EMAIL_PER_HOUR", 3, minimum=1)

# STATIC AND MEDIA
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
# collectstatic writes here (the Docker image does it at build time); WhiteNoise serves it.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media (generated images, ZIP exports) is private: every file is served through a view that checks
# that the user may see it (campaigns.views.media), never straight from MEDIA_ROOT or a bucket.
# MEDIA_URL is that view's prefix. MEDIA_STORAGE picks where files live:
# - filesystem (the default, `make run`): MEDIA_ROOT, which every web and worker process must see;
#   the view hands the file over itself (MEDIA_SERVING=django) or with X-Accel-Redirect to nginx
#   (MEDIA_SERVING=nginx, an `internal` location at MEDIA_ACCEL_REDIRECT_PREFIX aliasing MEDIA_ROOT);
# - s3: any S3-compatible bucket through django-storages, kept private; the view answers with a
#   presigned URL valid for MEDIA_URL_SECONDS. https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_STORAGE = env_choice("MEDIA_STORAGE", ("filesystem", "s3"), "filesystem")
MEDIA_SERVING = env_choice("MEDIA_SERVING", ("django", "nginx"), "django")
MEDIA_ACCEL_REDIRECT_PREFIX = env_str("MEDIA_ACCEL_REDIRECT_PREFIX", "/protected-media/")
MEDIA_URL_SECONDS = env_int("MEDIA_URL_SECONDS", 300, minimum=10)
# How the media view hands a file over: "django", "nginx" or "s3" (a presigned URL).
MEDIA_DELIVERY = "s3" if MEDIA_STORAGE == "s3" else MEDIA_SERVING
if MEDIA_STORAGE == "s3":
    S3_BUCKET = env_str("S3_BUCKET", required=True)
    S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "") or None
    S3_REGION = env_str("S3_REGION", "") or None
    _media_storage = {
        "BACKEND": "shared.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": S3_REGION,
            # Credentials: S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY, else boto3's own chain (an
            # instance role, AWS_* variables, ~/.aws).
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "default_acl": None,  # the bucket's own: private
            "querystring_auth": True,
            "querystring_expire": MEDIA_URL_SECONDS,
            "file_overwrite": False,
            "signature_version": "s3v4",
            # S3-compatible servers (MinIO, Ceph, moto) are addressed by path; AWS by bucket host.
            "addressing_style": "path" if S3_ENDPOINT_URL else "virtual",
        },
    }
    # Presigned URLs send the browser to the bucket: images must be allowed from there.
    if S3_ENDPOINT_URL:
        _endpoint = urlsplit(S3_ENDPOINT_URL)
        MEDIA_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
    else:
        MEDIA_ORIGINS = [f"https://{S3_BUCKET}.s3.amazonaws.com"] + (
            [f"https://{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com"] if S3_REGION else []
        )
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    MEDIA_ORIGINS = []
# ZIP exports (exports.jobs): how long a download link works, and a job's time limit.
EXPORT_LINK_HOURS = env_float("EXPORT_LINK_HOURS", 24.0, minimum=0.01)
EXPORT_JOB_TIMEOUT = env_int("EXPORT_JOB_TIMEOUT", 1800, minimum=10)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# SECURITY
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from any client.
    # shared.client_ip.TrustedProxyMiddleware believes it from our proxies only.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
_image_sources = " ".join(["'self'", "data:", "blob:", *MEDIA_ORIGINS])
CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; img-src {_image_sources}; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
# django-rq's job lists (staff only) select and act on jobs with inline scripts; that one
# dashboard gets them, every other page keeps the policy above.
CONTENT_SECURITY_POLICY_RQ_DASHBOARD = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)

# LOGGING
# ------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info").upper()
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "shared.logging.RedactSecretsFilter"},
        "quiet_clock_jobs": {"()": "clock.log_filter.QuietClockJobs"},
    },
    "formatters": {
        "json": {"()": "shared.logging.JsonFormatter"},
        "text": {"()": "shared.logging.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets", "quiet_clock_jobs"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO", "propagate": True},
        "rq.worker": {"level": LOG_LEVEL, "propagate": True},
        "httpx": {"level": "WARNING", "propagate": True},
        "httpx2": {"level": "WARNING", "propagate": True},
        "openai": {"level": "WARNING", "propagate": True},
    },
}

# OBSERVABILITY
# ------------------------------------------------------------------------------
# /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; empty disables it.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# API AND WEBHOOKS
# ------------------------------------------------------------------------------
# Requests per token, "number/period" with period s, m, h or d (django-ninja's throttling).
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "120/m")
if not re.fullmatch(r"[1-9][0-9]*/[smhd]", API_RATE_LIMIT):
    raise ConfigError("API_RATE_LIMIT must be a number of requests per s, m, h or d, such as 120/m")
# How long a batch start's Idempotency-Key replays its batch; after it, the key starts a new one.
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24, minimum=1)
# How long an export's download link works.
API_EXPORT_LINK_SECONDS = env_int("API_EXPORT_LINK_SECONDS", 3600, minimum=1)
# Webhook deliveries: seconds to wait before each retry after the first attempt (about a day in
# all, as the Standard Webhooks guidance suggests); an endpoint whose delivery fails them all is
# disabled. https://www.standardwebhooks.com/
WEBHOOK_RETRY_DELAYS = env_json("WEBHOOK_RETRY_DELAYS", [5, 300, 1800, 7200, 18000, 36000, 36000])
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Outbound requests to addresses that members give (webhook endpoints, and what publishes next)
# go to global unicast addresses only, unless this is on (development, the tests' local receivers):
# shared/outbound.py. WEBHOOK_ALLOW_PRIVATE_TARGETS is its old name, still read; either one on allows.
ALLOW_PRIVATE_TARGETS = env_bool("ALLOW_PRIVATE_TARGETS", False) or env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_ALLOW_PRIVATE_TARGETS = ALLOW_PRIVATE_TARGETS

# GENERATION
# ------------------------------------------------------------------------------
# Every knob of the engine, read here once; generation.config turns them into one object.
GENERATION_PROVIDER = env_choice("GENERATION_PROVIDER", ("local", "openai"), "local")
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
if GENERATION_PROVIDER == "openai" and not DEBUG and not OPENAI_API_KEY:
    raise ConfigError("OPENAI_API_KEY must be set when GENERATION_PROVIDER=openai")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "") or None
OPENAI_TEXT_MODEL = env_str("OPENAI_TEXT_MODEL", "gpt-4o-mini")
OPENAI_IMAGE_MODEL = env_str("OPENAI_IMAGE_MODEL", "gpt-image-1")
# Empty: chosen per model (b64_json for dall-e-*, nothing for gpt-image-* and others). An image
# answered as a URL is downloaded (https, or http from OPENAI_BASE_URL's host), within a timeout
# and a size cap.
OPENAI_IMAGE_RESPONSE_FORMAT = env_str("OPENAI_IMAGE_RESPONSE_FORMAT", "")
GENERATION_IMAGE_DOWNLOAD_TIMEOUT = env_float("GENERATION_IMAGE_DOWNLOAD_TIMEOUT", 30.0, minimum=0.1)
GENERATION_IMAGE_MAX_BYTES = env_int("GENERATION_IMAGE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
OPENAI_IMAGE_QUALITY = env_str("OPENAI_IMAGE_QUALITY", "")
OPENAI_IMAGE_SIZES = env_json(
    "OPENAI_IMAGE_SIZES",
    {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"},
)
GENERATION_CONCURRENCY = env_int("GENERATION_CONCURRENCY", 16, minimum=1)
# Provider limits shared by every worker; 0 means "not set" (learned from headers).
GENERATION_RPM = env_int("GENERATION_RPM", 0, minimum=0)
GENERATION_BURST = env_int("GENERATION_BURST", 0, minimum=0)
GENERATION_IMAGES_PER_MINUTE = env_int("GENERATION_IMAGES_PER_MINUTE", 0, minimum=0)
GENERATION_TPM = env_int("GENERATION_TPM", 0, minimum=0)
GENERATION_REQUEST_TIMEOUT = env_float("GENERATION_REQUEST_TIMEOUT", 90.0, minimum=0.1)
GENERATION_MAX_TRIES = env_int("GENERATION_MAX_TRIES", 5, minimum=1)
# A server's Retry-After / retry-after-ms (on 408, 409, 429, 5xx) is honoured up to this many seconds.
GENERATION_RETRY_AFTER_CAP = env_float("GENERATION_RETRY_AFTER_CAP", 60.0, minimum=0.0)
GENERATION_POST_DEADLINE = env_float("GENERATION_POST_DEADLINE", 600.0, minimum=1.0)
# A post is worked on under a lease that its worker renews while it lives; a dead worker's posts
# are taken over once their lease expires: within LEASE + RECOVERY_INTERVAL seconds of its death
# (the lease runs out 10-15 s after, and the clock has a worker look for lost work every 3 s).
GENERATION_LEASE_SECONDS = env_float("GENERATION_LEASE_SECONDS", 15.0, minimum=1.0)
# How often a live worker renews its leases (at most a third of the lease, whatever this says).
GENERATION_LEASE_RENEWAL_SECONDS = env_float("GENERATION_LEASE_RENEWAL_SECONDS", 5.0, minimum=0.1)
# How often the clock enqueues its periodic tasks: recovery, economy polls, webhook sweeps (clock/).
GENERATION_RECOVERY_INTERVAL = env_float("GENERATION_RECOVERY_INTERVAL", 3.0, minimum=0.5)
GENERATION_CHUNK_SECONDS = env_float("GENERATION_CHUNK_SECONDS", 900.0, minimum=1.0)
# A worker told to stop (SIGTERM) gives its posts in flight this long to finish, then hands the
# rest back. Keep it under the process manager's grace period before SIGKILL.
GENERATION_SHUTDOWN_SECONDS = env_float("GENERATION_SHUTDOWN_SECONDS", 20.0, minimum=0.0)
GENERATION_MAX_CHUNKS = env_int("GENERATION_MAX_CHUNKS", 8, minimum=1)
# Caption previews on the campaign form, per user: each spends provider requests that batches
# would otherwise use. Counted in the default cache by django-ratelimit (its decorator only: its
# system check does not know Django's RedisCache, which is shared and increments atomically).
PREVIEWS_PER_MINUTE = env_int("PREVIEWS_PER_MINUTE", 30, minimum=1)
# USD prices per model: text per million tokens, images per image. Override with JSON.
# "batch" holds the Batch API's prices (economy batches) in the same shape; a model missing
# there is reckoned at its standard price, so a cost is never under-reported.
GENERATION_PRICES = env_json(
    "GENERATION_PRICES",
    {
        "gpt-4o-mini": {"input_per_million": "0.15", "output_per_million": "0.60"},
        "gpt-4o": {"input_per_million": "2.50", "output_per_million": "10.00"},
        "gpt-4.1-mini": {"input_per_million": "0.40", "output_per_million": "1.60"},
        "gpt-image-1": {"per_image": "0.042"},
        "gpt-image-1-mini": {"per_image": "0.011"},
        "dall-e-3": {"per_image": "0.040"},
        "batch": {
            "gpt-4o-mini": {"input_per_million": "0.075", "output_per_million": "0.30"},
            "gpt-4o": {"input_per_million": "1.25", "output_per_million": "5.00"},
            "gpt-4.1-mini": {"input_per_million": "0.20", "output_per_million": "0.80"},
            "gpt-image-1": {"per_image": "0.021"},
            "gpt-image-1-mini": {"per_image": "0.0055"},
            "dall-e-3": {"per_image": "0.020"},
        },
    },
)

# SPEND AND FAIRNESS
# ------------------------------------------------------------------------------
# Every batch gets this cost cap unless a smaller one is asked for; only staff and the shell may
# ask for more. 0: no default cap.
GENERATION_DEFAULT_COST_CAP_USD = env_decimal("GENERATION_DEFAULT_COST_CAP_USD", "50") or None
# Per-user limits (staff and the shell are exempt). Batches and posts are counted in PostgreSQL,
# exactly; regenerations and exports in the default cache (Redis), per minute.
ACTIVE_BATCHES_PER_USER = env_int("ACTIVE_BATCHES_PER_USER", 3, minimum=1)
POSTS_PER_DAY_PER_USER = env_int("POSTS_PER_DAY_PER_USER", 3000, minimum=1)
REGENERATIONS_PER_MINUTE = env_int("REGENERATIONS_PER_MINUTE", 20, minimum=1)
EXPORTS_PER_MINUTE = env_int("EXPORTS_PER_MINUTE", 10, minimum=1)
# Economy batches (OpenAI's Batch API): how often a provider batch is asked about, and whether
# image lines go through it (0 sends images through the normal path, for providers whose Batch
# API takes no image lines).
GENERATION_ECONOMY_POLL_SECONDS = env_float("GENERATION_ECONOMY_POLL_SECONDS", 30.0, minimum=0.1)
GENERATION_ECONOMY_BATCH_IMAGES = env_bool("GENERATION_ECONOMY_BATCH_IMAGES", True)
