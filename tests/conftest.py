import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.factories import CampaignFactory, StaffFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """Skip tests that need PostgreSQL when the suite runs on the SQLite fallback."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (running on the SQLite fallback)")
    for item in items:
        if "postgres" in item.keywords or "workers" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts with an empty Redis database (the test one: see tests.environment)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.close()


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
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
