"""The web process at its edge, a real gunicorn with the production settings: whom it believes
about the scheme, where it listens by default, and what its logs never hold."""

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
from shared.logging import redact_url_secrets
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


# -- Nothing secret in the logs ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_and_djangos_request_log_never_hold_a_url_secret(tmp_path, static_root, log_format):
    """Each secret-bearing URL, requested as a client would (and as a Referer, and through the
    sign-in redirect's ?next=): neither gunicorn's access log nor the app's log holds the secret.

    text: gunicorn's own access log, to the file --access-logfile names. json (production's): the
    access lines go with every other log line to stdout, one JSON object each (config/gunicorn.py)."""
    secrets = {
        "invitation": "invIT3-s3cretToken_a1",
        "calendar": "CaL-s3cretFeedToken_b2",
        "signed_id": "eyJzZWNyZXQiOjF9:1tABCD:S1gnatureOfTheCsvExport_c3",
        "link": "eyJleHBvcnQiOjd9:1tEFGH:S1gnatureOfTheZipLink_d4",
    }
    urls = [
        f"/invitations/{secrets['invitation']}/",
        f"/calendar/{secrets['calendar']}.ics",
        f"/api/v1/exports/{secrets['signed_id']}/download",
        f"/api/v1/exports/{secrets['signed_id']}",
        f"/api/v1/exports/7/download?link={secrets['link']}",
        f"/accounts/login/?next=%2Fapi%2Fv1%2Fexports%2F7%2Fdownload%3Flink%3D{secrets['link']}",
    ]
    access_log = tmp_path / "access.log"
    proxy = {**HOST, "X-Forwarded-Proto": "https"}
    # From our proxy, so that the requests reach the views (and Django's own "Not Found: …" lines).
    with gunicorn(
        tmp_path,
        static_root,
        "--access-logfile",
        str(access_log),
        TRUSTED_PROXY_CIDRS="127.0.0.0/8",
        LOG_FORMAT=log_format,
    ) as port:
        statuses = [get(port, url, **proxy)[0] for url in urls]
        referer = f"https://posts.example.com/invitations/{secrets['invitation']}/"
        statuses.append(get(port, "/accounts/login/", **proxy, Referer=referer)[0])
        statuses.append(get(port, urls[0], **HOST)[0])  # plain http: the HTTPS redirect's line too
    # invitation → sign-in; calendar, downloads → 404; status without a token → 401; sign-in → 200; http → 301
    assert statuses == [302, 404, 404, 401, 404, 200, 200, 301], statuses

    output = (tmp_path / "out.log").read_text()
    if log_format == "text":
        assert access_log.read_text().count(' HTTP/1.1" ') >= len(statuses)
    else:
        assert output.count('"logger": "gunicorn.access"') >= len(statuses)
    logged = (access_log.read_text() if access_log.exists() else "") + output
    for name, secret in secrets.items():
        for part in {secret, *secret.split(":")}:
            assert part not in logged, f"the {name} secret is in the logs"
    assert "/invitations/[redacted]/" in logged
    assert "/calendar/[redacted]" in logged
    assert "/api/v1/exports/[redacted]/download" in logged
    assert "link=[redacted]" in logged and "link%3D[redacted]" in logged
    assert "Not Found: /calendar/[redacted]" in logged  # Django's request log, redacted as well


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("GET /invitations/Tok-1_a/ HTTP/1.1", "GET /invitations/[redacted]/ HTTP/1.1"),
        ("GET /calendar/Feed-2_b.ics HTTP/1.1", "GET /calendar/[redacted] HTTP/1.1"),
        ("/api/v1/exports/eyJ9:1t:Sig/download", "/api/v1/exports/[redacted]/download"),
        ("/api/v1/exports/42/download?link=eyJ9:1t:Sig&x=1", "/api/v1/exports/42/download?link=[redacted]&x=1"),
        ("/accounts/login/?next=%2Finvitations%2FTok-1_a%2F", "/accounts/login/?next=%2Finvitations%2F[redacted]%2F"),
        ("?next=/api/v1/exports/7/download%3Flink%3DeyJ9:Sig", "?next=/api/v1/exports/7/download%3Flink%3D[redacted]"),
        (
            "https://posts.example.com/accounts/reset/MQ/c9x-1a2b3c/",
            "https://posts.example.com/accounts/reset/MQ/[redacted]/",
        ),
        ("/accounts/reset/MQ/set-password/", "/accounts/reset/MQ/set-password/"),  # nothing secret left there
        ("/api/v1/exports/42", "/api/v1/exports/42"),  # a ZIP's number is no secret
    ],
)
def test_url_secrets_are_redacted_in_every_form_a_log_line_carries_them(text, redacted):
    assert redact_url_secrets(text) == redacted
