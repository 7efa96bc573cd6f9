"""Security promises: sign-in throttling, deploy settings, the Content-Security-Policy, and a key that never leaks.

(Per-URL ownership (404), CSRF and escaping are tested with the pages, in the page tests.)
"""

import base64
import logging
import secrets

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse
from rq.job import Job

from campaigns.models import BatchJob, BatchStatus, Campaign, Post
from campaigns.services import batch_start
from generation.jobs import run_batch_inline
from tests.factories import CampaignFactory, UserFactory
from tests.fake_openai import Config
from tests.support import FAKE_KEY, wait_for_batch_end
from tests.test_settings import PRODUCTION, manage

User = get_user_model()

# SIGN-IN THROTTLING
# ------------------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.mark.django_db
def test_password_guessing_locks_the_account_out_even_with_the_right_password(client):
    user = UserFactory(username="guessme")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "guessme", f"wrong-{attempt}")
        if attempt < settings.AXES_FAILURE_LIMIT - 1:
            # An ordinary failed sign-in: the form again, with its error.
            assert response.status_code == 200
            assert b"Please enter a correct username and password" in response.content
    response = sign_in(client, "guessme", "correct-horse-battery")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "Try again in 15 minutes" in page  # AXES_COOLOFF_HOURS = 0.25
    assert "_auth_user_id" not in client.session
    assert_strict_policy(response)
    assert client.get(reverse("campaigns:list")).status_code == 302  # still signed out
    # The lock is on this account from this address: another user signs in as usual.
    UserFactory(username="bystander")
    assert sign_in(Client(), "bystander", "correct-horse-battery").status_code == 302
    assert user.pk


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_count(client):
    UserFactory(username="forgetful")
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "forgetful", f"wrong-{attempt}")
    assert sign_in(client, "forgetful", "correct-horse-battery").status_code == 302
    client.logout()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "forgetful", f"wrong-{attempt}")
    assert sign_in(client, "forgetful", "correct-horse-battery").status_code == 302


# THE SIGNED-IN USER, ON EVERY REQUEST
# ------------------------------------------------------------------------------
# Django's ModelBackend loads the user's row afresh on every request; nothing caches it.


@pytest.mark.django_db
def test_a_sign_in_goes_through_djangos_model_backend(client):
    user = UserFactory(username="regular")
    assert sign_in(client, "regular", "correct-horse-battery").status_code == 302
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 200 and response.wsgi_request.user == user


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["deactivated", "deleted", "password changed elsewhere"])
def test_a_session_ends_on_the_next_request_when_its_user_changes(client, change):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("campaigns:list")).status_code == 200
    if change == "deactivated":
        User.objects.filter(pk=user.pk).update(is_active=False)  # no signal, no cache to clear
    elif change == "deleted":
        user.delete()
    else:
        User.objects.filter(pk=user.pk).update(password=make_password("another-horse-battery"))
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # The backend refuses an inactive or missing user; a changed password fails the session's hash.
    assert (ModelBackend().get_user(user.pk) is None) == (change != "password changed elsewhere")


# DEPLOY SETTINGS
# ------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings():
    production = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


# CONTENT-SECURITY-POLICY
# ------------------------------------------------------------------------------


def assert_strict_policy(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"):
        assert unsafe not in policy.split(), unsafe


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/login/", 200),
        ("/accounts/login", 301),  # CommonMiddleware's APPEND_SLASH redirect
        ("/admin/login/", 200),
        ("/admin/", 302),
        ("/no/such/page/", 404),
        ("/", 302),
    ],
)
def test_every_response_carries_the_policy(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_strict_policy(response)


@pytest.mark.django_db
def test_signed_in_pages_admin_and_errors_carry_the_policy(staff_client, client):
    for path in ("/admin/", reverse("admin:campaigns_post_changelist"), "/admin/no-such-thing/"):
        assert_strict_policy(staff_client.get(path))
    # A CSRF failure is a response too (the lockout page: see the sign-in test).
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert_strict_policy(response)


@pytest.mark.django_db
def test_only_the_rq_dashboard_may_run_inline_scripts(staff_client):
    """django-rq's job lists need their inline scripts; the looser policy stops at that dashboard."""
    dashboard = staff_client.get(reverse("admin:django_rq_jobs", args=[0]))
    assert dashboard.status_code == 200
    assert "script-src 'self' 'unsafe-inline'" in dashboard["Content-Security-Policy"]
    assert '<script type="text/javascript">' in dashboard.content.decode()
    assert_strict_policy(staff_client.get(reverse("admin:campaigns_batchjob_changelist")))


# THE OPENAI KEY NEVER LEAKS
# ------------------------------------------------------------------------------


def text_of_rows() -> str:
    """Every column of every campaign, batch and post, as text."""
    return "\n".join(str(row) for model in (Campaign, BatchJob, Post) for row in model.objects.values())


def text_of_pages(batch: BatchJob, owner) -> str:
    staff, marketer = Client(), Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    marketer.force_login(owner)
    post = batch.posts.first()
    pages = [
        staff.get(reverse("admin:campaigns_batchjob_changelist")),
        staff.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])),
        staff.get(reverse("admin:campaigns_post_changelist")),
        staff.get(reverse("admin:campaigns_post_change", args=[post.pk])),
        staff.get(reverse("admin:django_rq_home")),
        marketer.get(reverse("campaigns:batch_detail", args=[batch.pk])),
        marketer.get(reverse("campaigns:post_detail", args=[post.pk])),
        marketer.get(reverse("campaigns:detail", args=[batch.campaign_id])),
    ]
    assert all(page.status_code == 200 for page in pages), [page.status_code for page in pages]
    return "\n".join(page.content.decode() for page in pages)


def text_of_jobs(batch: BatchJob) -> str:
    connection = redis.Redis.from_url(settings.REDIS_URL)
    texts = []
    for job in Job.fetch_many(batch.rq_job_ids, connection=connection):
        if job is not None:
            result = job.latest_result()
            texts += [job.description or "", repr(job.kwargs), repr(result.return_value if result else None)]
            texts.append(result.exc_string if result and result.exc_string else "")
    return "\n".join(texts)


REFUSED = "the provider refused the credentials (HTTP 401); check OPENAI_API_KEY"


def key_forms(key: str) -> list[str]:
    """The key as a server may echo it: as it is, base64 (alone or after "Bearer "), percent-encoded."""
    return [
        key,
        base64.b64encode(key.encode()).decode(),
        base64.b64encode(f"Bearer {key}".encode()).decode()[12:-4],
        "".join(f"%{byte:02X}" for byte in key.encode()),
    ]


@pytest.mark.workers
@pytest.mark.slow
def test_a_refused_key_never_appears_in_logs_pages_or_the_database(workers, openai_settings, openai_env, fake_openai):
    """The fake server answers 401 with the key echoed in its message, as OpenAI does."""
    fake_openai.configure(Config(fault_rate=1.0, fault_kinds=["401"]))
    owner = UserFactory()
    workers.start("keyholder", **openai_env, LOG_LEVEL="debug")
    batch = batch_start(campaign=CampaignFactory(owner=owner), count=4, actor=None)
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.failed_count) == (BatchStatus.FAILED, 4)
    assert set(batch.posts.values_list("failure_reason", "error_message")) == {("auth", REFUSED)}
    assert fake_openai.stats()["counts"]["chat:401"] == 4  # the server did echo it, four times

    log = workers.log("keyholder")
    assert "post failed" in log  # the worker did log the failures
    assert FAKE_KEY not in log
    assert FAKE_KEY not in text_of_rows()
    assert FAKE_KEY not in text_of_pages(batch, owner)
    assert FAKE_KEY not in text_of_jobs(batch)


@pytest.mark.django_db(transaction=True)
def test_a_refused_key_of_any_shape_stays_out_of_this_process_logs(openai_settings, fake_openai, caplog):
    """The same in-process (generate_posts --sync), with a key not shaped like OpenAI's, every logger at DEBUG,
    echoed back by the server as it is, in upper case, in base64 and percent-encoded."""
    key = "proxy-" + secrets.token_hex(20)
    openai_settings.OPENAI_API_KEY = key
    fake_openai.configure(
        Config(fault_rate=1.0, fault_kinds=["401"], key_echo=["plain", "upper", "base64", "urlencoded"])
    )
    for name in ("", "openai", "httpx", "httpcore", "generation"):
        caplog.set_level(logging.DEBUG, logger=name)
    batch = batch_start(campaign=CampaignFactory(), count=3, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.error_summary) == (BatchStatus.FAILED, "3 failed: Credentials refused (3)")
    assert set(batch.posts.values_list("failure_reason", flat=True)) == {"auth"}
    assert fake_openai.received("chat")  # the key was sent, and echoed back
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "post failed" in logged
    rows = text_of_rows()
    forms = key_forms(key)
    assert not [form for form in forms if form.lower() in logged.lower() or form.lower() in rows.lower()]


def test_the_engine_config_never_prints_the_key(openai_settings):
    from generation.config import engine_config

    config = engine_config()
    assert config.api_key == FAKE_KEY
    assert FAKE_KEY not in repr(config) and FAKE_KEY not in str(config)
