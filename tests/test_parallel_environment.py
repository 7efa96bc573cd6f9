"""The tests' own environment in parallel (tests/environment.py): each pytest-xdist worker, and every
process it starts, uses a test database, a Redis database and a media folder of its own."""

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.environment import worker_redis_url, xdist_worker
from tests.support import run_manage


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Locally (15) and in CI (14): counted down, away from `make run`'s database 0.
        ("redis://127.0.0.1:6379/15", [f"redis://127.0.0.1:6379/{n}" for n in (15, 14, 13, 12)]),
        ("redis://127.0.0.1:6379/14", ["redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/13"]),
        # The private server's 0: counted up.
        ("unix:///tmp/run/redis.sock?db=0", [f"unix:///tmp/run/redis.sock?db={n}" for n in (0, 1, 2)]),
        ("redis://:secret@cache:6380/2", [f"redis://:secret@cache:6380/{n}" for n in (2, 3, 4, 5)]),
        ("redis://127.0.0.1:6379", ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"]),
    ],
)
def test_each_worker_gets_a_redis_database_of_its_own(url, expected):
    assert [worker_redis_url(url, index, len(expected)) for index in range(len(expected))] == expected


def test_more_workers_than_redis_databases_is_refused_in_one_line():
    with pytest.raises(SystemExit) as refused:
        worker_redis_url("redis://127.0.0.1:6379/8", 0, 17)
    assert "17 xdist workers need 17 Redis databases" in str(refused.value)


@pytest.mark.django_db
def test_this_worker_and_the_commands_it_starts_use_its_own_databases():
    worker = xdist_worker()
    if worker is not None:
        index, _ = worker
        if connection.vendor == "postgresql":  # SQLite's test database is in each process's memory
            assert connection.settings_dict["NAME"].endswith(f"_gw{index}")
        assert os.environ["MEDIA_ROOT"].endswith(f"gw{index}") and os.environ["MEDIA_ROOT"] == str(settings.MEDIA_ROOT)
    assert os.environ["REDIS_URL"] == settings.REDIS_URL
    # What a worker process or a command started by a test sees (tests.support passes the test database).
    code = (
        "from django.conf import settings; from django.db import connection;"
        " print(connection.settings_dict['NAME'], settings.REDIS_URL, settings.MEDIA_ROOT, sep='\\n')"
    )
    result = run_manage("shell", "--no-imports", "-c", code, timeout=60)
    assert result.returncode == 0, result.stderr
    name, redis_url, media_root = result.stdout.splitlines()[-3:]
    assert (redis_url, media_root) == (settings.REDIS_URL, str(settings.MEDIA_ROOT))
    if connection.vendor == "postgresql":
        assert name == connection.settings_dict["NAME"]
