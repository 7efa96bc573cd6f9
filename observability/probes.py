"""Endpoints for load balancers and Prometheus: /healthz, /readyz and /metrics.

They are answered by observability.middleware.ProbeMiddleware before any other middleware runs:
load balancers and Prometheus address a process by its IP (a Host header that ALLOWED_HOSTS
refuses), over plain HTTP (no SSL redirect), without a session or a CSRF cookie. None of
the responses depends on the Host header, so skipping its check opens nothing.
"""

import hmac
import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_rq.contrib.prometheus import RQCollector
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from generation.metrics import GenerationCollector

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving requests. Touches neither the database nor Redis, so a
    database outage does not make every web process look dead and get restarted."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("readiness: the database does not answer (%s)", type(exc).__name__)
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis() -> str:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("readiness: Redis does not answer (%s)", type(exc).__name__)
        return f"error: {type(exc).__name__}"
    finally:
        client.close()
    return "ok"


def readyz(request: HttpRequest) -> HttpResponse:
    """The process can do its work: the database and Redis answer. 503 names the one that does not."""
    checks = {connection.vendor: _check_database(), "redis": _check_redis()}
    failed = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed},
        status=503 if failed else 200,
    )


_registry: CollectorRegistry | None = None


def metrics_registry() -> CollectorRegistry:
    """The collectors read Redis and PostgreSQL at scrape time; nothing is counted in this process."""
    global _registry
    if _registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(GenerationCollector(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)))
        # django-rq's own: rq_workers, rq_jobs{queue,status} (queue depth is status="queued"), ...
        registry.register(RQCollector())
        _registry = registry
    return _registry


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for "Authorization: Bearer <METRICS_TOKEN>" only.

    404 while METRICS_TOKEN is unset: the endpoint is switched off and says nothing of itself.
    403 for a missing or wrong token: the endpoint exists, so a scraper with a stale token
    shows a clear "forbidden" instead of looking misconfigured with a wrong path.
    """
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    supplied = request.headers.get("Authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        return HttpResponse("Forbidden: send Authorization: Bearer <METRICS_TOKEN>.\n", status=403)
    try:
        body = generate_latest(metrics_registry())
    except (redis.RedisError, DatabaseError) as exc:
        log.warning("metrics: a source does not answer (%s)", type(exc).__name__)
        return HttpResponse(f"Metrics unavailable: {type(exc).__name__}.\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}
