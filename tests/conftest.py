import pytest
import redis
from django.conf import settings
from django.core.cache import caches

from config.env import env_bool
from tests.factories import CampaignFactory, StaffFactory, UserFactory
from tests.fake_openai import Config, FakeOpenAIServer
from tests.support import FAKE_KEY, WorkerPool

# CI has PostgreSQL, Redis, workers and Chromium (.ci/run sees to it): there a test that would
# skip for lack of one of them fails instead, so a green run means every test ran.
IN_CI = env_bool("CI", False)


def pytest_collection_modifyitems(config, items):
    """Skip tests that need PostgreSQL or real workers on the SQLite fallback (in CI they fail: see below).

    In parallel (in an xdist worker), the slow tests go first: each is sent to the first free worker
    (`--dist load --maxschedchunk 1`), so the long ones start early and the quick ones fill in at the end.
    """
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: "slow" not in item.keywords)  # stable: file order otherwise
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (running on the SQLite fallback)")
    for item in items:
        if "postgres" in item.keywords or "workers" in item.keywords:
            item.add_marker(skip)


def fail_skips_in_ci(report: pytest.TestReport | pytest.CollectReport) -> pytest.TestReport | pytest.CollectReport:
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped, and CI=true allows no skip: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test's skip (a skip marker, or pytest.skip() in the test or a fixture) fails it in CI."""
    return fail_skips_in_ci((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """So does a whole module's skip (pytest.skip(allow_module_level=True), pytest.importorskip)."""
    return fail_skips_in_ci((yield))


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts with an empty Redis database (the tests' own: see tests.environment)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def clean_card_cache():
    """Cached post cards live in the process's memory (campaigns.cards): none crosses into another test."""
    caches["cards"].clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made by the dozen: the production hasher's slowness is its point, and no test's."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def campaign(user):
    return CampaignFactory(owner=user)


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def fake_openai():
    """A fake OpenAI-compatible server on loopback; `.configure(Config(...))` changes its behaviour."""
    with FakeOpenAIServer(Config()) as server:
        yield server


@pytest.fixture
def openai_settings(settings, fake_openai):
    """Point this process at the fake server (worker processes get it from `openai_env`)."""
    settings.GENERATION_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_API_KEY = FAKE_KEY
    return settings


@pytest.fixture
def openai_env(fake_openai) -> dict[str, str]:
    """Environment for worker processes that talk to the fake server."""
    return {"GENERATION_PROVIDER": "openai", "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": FAKE_KEY}


@pytest.fixture
def workers(tmp_path, transactional_db):
    """Start real rqworker processes with `workers.start(name, **env)`; all are killed afterwards."""
    pool = WorkerPool(tmp_path)
    yield pool
    pool.stop_all()
