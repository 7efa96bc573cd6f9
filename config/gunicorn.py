"""Gunicorn settings for the web process (Procfile, Dockerfile), read from the environment.

https://docs.gunicorn.org/en/stable/settings.html

Each process has its own database pool of up to DATABASE_POOL_MAX_SIZE connections (4 by
default), shared by its threads: one web container holds at most WEB_CONCURRENCY x that
many connections to PostgreSQL. Scale out with more containers behind the load balancer.
"""

import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

# Gunicorn reads this file before it puts the project on sys.path (with --chdir, for one).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gunicorn.glogging import Logger

from config.env import env_bool, env_choice, env_int
from shared.logging import redact_url_secrets

# Loopback unless told otherwise: an app reachable around its proxies would take their headers
# from anyone (with TRUSTED_PROXY_COUNT, X-Forwarded-For and -Proto are believed from every peer).
# A container sets GUNICORN_HOST=0.0.0.0 (the Dockerfile does): only its published port reaches it.
bind = f"{os.environ.get('GUNICORN_HOST', '').strip() or '127.0.0.1'}:{env_int('PORT', 8000, minimum=1)}"

# Threads let one process serve the htmx progress polls (one a second per open batch page)
# while another request waits on the database. Two, not more: rendering holds the GIL, and the
# kernel hands connections to processes unevenly, so the threads of a process that got more than
# its share queue behind one core. In `make bench` (concurrency 8, 2 cores) 5 x 2 kept the progress
# partial's tail lower than 5 x 4 did; see BENCHMARKS.md.
worker_class = "gthread"
workers = env_int("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8), minimum=1)
threads = env_int("GUNICORN_THREADS", 2, minimum=1)
# ZIP exports of large campaigns take a while; the load balancer's own timeout should be longer.
timeout = env_int("GUNICORN_TIMEOUT", 120, minimum=1)
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then, staggered, so slow leaks never add up. Progress polls make
# requests plentiful and a restart costs half a second of CPU, so not too often.
max_requests = 20000
max_requests_jitter = 2000
# Heartbeat files on tmpfs: a container's disk can stall under load and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's own advice
# Gunicorn believes no forwarded header from anyone: the app decides whom to believe, with one
# setting (TRUSTED_PROXY_COUNT or TRUSTED_PROXY_CIDRS; shared/client_ip.py). Gunicorn's own list
# (FORWARDED_ALLOW_IPS, 127.0.0.1 by default) would be a second one that could disagree.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}


class RedactingLogger(Logger):
    """Gunicorn's logger, with the secrets that travel in URLs redacted from every access log atom.

    Invitation and calendar feed tokens, signed export ids and ?link= values (shared.logging) are
    replaced in the request line, the path, the query, the Referer and every header and environ
    atom, whatever access_log_format picks, so the line never holds them."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_url_secrets(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger
loglevel = env_choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info")
accesslog = "-"
errorlog = "-"
if env_choice("LOG_FORMAT", ("json", "text"), "text" if env_bool("DEBUG", False) else "json") == "json":
    # The same one-JSON-object-per-line format as Django's logs (shared.logging).
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "shared.logging.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
