"""The web process at its edge, a real gunicorn with the production settings: whom it believes
about the scheme, and where it listens by default."""

import contextlib
import ipaddress
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import RequestFactory

from shared.client_ip import forwarded_scheme
from tests.support import BASE_DIR, database_url, manage_py
from tests.test_deployment import PRODUCTION, free_port, get

HOST = {"Host": "posts.example.com"}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """Collected once: the production pages need the static files' manifest to render."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, **PRODUCTION, "STATIC_ROOT": str(root), "DATABASE_URL": database_url()}
    collected = manage_py("collectstatic", "--noinput", "-v", "0", env=env, timeout=300)
    assert collected.returncode == 0, collected.stderr
    return root


@contextlib.contextmanager
def gunicorn(tmp_path: Path, static_root: Path, *arguments: str, **settings: str) -> Iterator[int]:
    """config/gunicorn.py with the production settings (and these), on a free port; its output in tmp_path/out.log."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GENERATION_", "DEBUG", "LOG_", "TRUSTED_PROXY"))},
        **PRODUCTION,
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url(),
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
        **settings,
    }
    output = open(tmp_path / "out.log", "wb")  # noqa: SIM115 - the process writes to it
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "config/gunicorn.py", *arguments, "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    port = int(env["PORT"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(port, "/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "out.log").read_text()
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        output.close()


# -- The scheme is believed from our proxies only ---------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_x_forwarded_proto_is_believed_from_a_trusted_proxy_only(tmp_path, static_root):
    """SECURE_SSL_REDIRECT is on. A client that says "https" over plain http is still redirected to
    https; the same request from a proxy of TRUSTED_PROXY_CIDRS is served."""
    https = {**HOST, "X-Forwarded-Proto": "https"}
    with gunicorn(tmp_path, static_root, TRUSTED_PROXY_CIDRS="10.0.0.0/8") as port:  # we are 127.0.0.1: a client
        status, headers, _ = get(port, "/api/v1/openapi.json", **https)
        assert (status, headers.get("Location")) == (301, "https://posts.example.com/api/v1/openapi.json")
        status, headers, _ = get(port, "/accounts/login/", **https)
        assert (status, headers.get("Location")) == (301, "https://posts.example.com/accounts/login/")
    with gunicorn(tmp_path, static_root, TRUSTED_PROXY_CIDRS="127.0.0.0/8") as port:  # now we are the proxy
        status, _, body = get(port, "/api/v1/openapi.json", **https)
        assert status == 200 and b'"openapi"' in body
        assert get(port, "/accounts/login/", **https)[0] == 200
        assert get(port, "/accounts/login/", **HOST)[0] == 301  # the proxy says nothing: plain http


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded_for", "proto", "scheme"),
    [
        ({}, "203.0.113.9", "", "https", None),  # no proxies configured: the client's own text
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/8"]}, "203.0.113.9", "", "https", None),  # not from a proxy
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/8"]}, "10.0.0.2", "203.0.113.9", "https", "https"),
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/8"]}, "10.0.0.2", "203.0.113.9", "http", "http"),
        # the client wrote "https" and the proxy appended what it saw: the proxy's entry counts
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/8"]}, "10.0.0.2", "203.0.113.9", "https, http", "http"),
        # two proxies of ours, each appending: the outermost's entry (where TLS ended)
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/8"]}, "10.0.0.2", "203.0.113.9, 10.0.0.3", "http, https, http", "https"),
        ({"TRUSTED_PROXY_COUNT": 1}, "10.9.9.9", "203.0.113.9", "https", "https"),
        ({"TRUSTED_PROXY_COUNT": 1}, "10.9.9.9", "203.0.113.9", "javascript", None),
    ],
)
def test_the_forwarded_scheme_is_our_outermost_proxys(settings, trusted, remote, forwarded_for, proto, scheme):
    settings.TRUSTED_PROXY_COUNT = trusted.get("TRUSTED_PROXY_COUNT", 0)
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network(cidr) for cidr in trusted.get("TRUSTED_PROXY_NETWORKS", [])]
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_PROTO": proto}
    if forwarded_for:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().get("/", **meta)
    assert forwarded_scheme(request) == scheme


def test_gunicorn_listens_on_loopback_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("GUNICORN_HOST", raising=False)
    monkeypatch.setenv("PORT", "8123")
    config = runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py"))
    assert config["bind"] == "127.0.0.1:8123"
    # and it believes no forwarded header itself: the app decides (TRUSTED_PROXY_*)
    assert config["forwarded_allow_ips"] == "" and config["secure_scheme_headers"] == {}
    monkeypatch.setenv("GUNICORN_HOST", "0.0.0.0")
    assert runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py"))["bind"] == "0.0.0.0:8123"
    assert "ENV GUNICORN_HOST=0.0.0.0" in (BASE_DIR / "Dockerfile").read_text()  # a container publishes its port
