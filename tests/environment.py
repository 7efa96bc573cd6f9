"""Chooses the services the tests run against, before Django reads its settings.

Loaded by pytest as an early plugin (`-p tests.environment` in pyproject.toml):
DATABASE_URL / REDIS_URL when set; else PostgreSQL and Redis on localhost when they
answer; else SQLite and a private Redis server (devserver.redis_server).

In parallel (pytest-xdist, `-n`), each worker process gets services of its own, so that
no test sees another's rows, keys or files:
- PostgreSQL: pytest-django names each worker's test database after it (test_NAME_gw0, ...).
- Redis: a database number of its own, counted down from REDIS_URL's (15 locally, 14 in
  CI: gw0 15, gw1 14, ...), or up from it when there are not enough numbers below
  (the private server's 0: gw0 0, gw1 1, ...); see `worker_redis_url`.
- MEDIA_ROOT: a folder of its own, named after the worker, inside the run's.
The rqworker processes and commands that tests start inherit this process's environment,
so they use the same worker's Redis database, media folder and (through
tests.support.database_url) test database.
"""

import atexit
import functools
import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from devserver.redis_server import redis_answers, start_redis

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/campaign_posts"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"
# A Redis server has 16 databases (0-15) unless configured otherwise.
REDIS_DATABASES = 16


@functools.cache
def _scratch() -> Path:
    """The run's folder for what it keeps on disk (made once, and only when something needs it)."""
    return Path(tempfile.mkdtemp(prefix="campaign-posts-tests-"))


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=1):
            return True
    except Exception:
        return False


def xdist_worker() -> tuple[int, int] | None:
    """(index, count) of this pytest-xdist worker (gw2 of 4: (2, 4)); None when not one."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not name.startswith("gw"):
        return None
    return int(name[2:]), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def worker_redis_url(url: str, index: int, count: int) -> str:
    """The Redis URL of worker `index` of `count`: the same server, a database number of its own.

    The run's databases are REDIS_URL's and the ones below it (15, 14, 13, ...), or, when there are
    not enough below, the ones above it (0, 1, 2, ... on the private server). Either way they stay
    among the server's 16 and are distinct: worker 0 keeps REDIS_URL's own.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    base = int(query.get("db", 0)) if parts.scheme == "unix" else int(parts.path.strip("/") or 0)
    if base - (count - 1) >= 0:
        number = base - index
    elif base + (count - 1) < REDIS_DATABASES:
        number = base + index
    else:
        raise SystemExit(
            f"tests.environment: {count} xdist workers need {count} Redis databases next to REDIS_URL's {base};"
            " run fewer workers (-n) or point REDIS_URL at another database"
        )
    if parts.scheme == "unix":  # unix:///path/redis.sock?db=N (urlunsplit would drop the empty host)
        return f"{url.partition('?')[0]}?{urlencode({**query, 'db': number})}"
    return urlunsplit(parts._replace(path=f"/{number}"))


def _choose() -> None:
    # A developer's .env (make run writes one) is for their shell, not for the tests.
    os.environ["ENV_FILE"] = ""
    os.environ.setdefault("DEBUG", "1")
    if "MEDIA_ROOT" not in os.environ:
        os.environ["MEDIA_ROOT"] = str(_scratch() / "media")
    os.environ.setdefault("LOG_FORMAT", "text")
    if not os.environ.get("DATABASE_URL"):
        if _postgres_answers():
            os.environ["DATABASE_URL"] = LOCAL_POSTGRES
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{_scratch() / 'db.sqlite3'}"
    if not os.environ.get("REDIS_URL"):
        if redis_answers(LOCAL_REDIS):
            os.environ["REDIS_URL"] = LOCAL_REDIS
        else:
            url, process = start_redis(_scratch() / "redis")
            os.environ["REDIS_URL"] = url
            atexit.register(process.terminate)
    # An xdist worker inherits the choices above from the process that started it (which ran this
    # module first): it keeps the servers and takes a Redis database and a media folder of its own.
    worker = xdist_worker()
    if worker is not None:
        index, count = worker
        os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], index, count)
        os.environ["MEDIA_ROOT"] = str(Path(os.environ["MEDIA_ROOT"]) / f"gw{index}")


_choose()
