"""Chooses the services the tests run against, before Django reads its settings.

Loaded by pytest as an early plugin (`-p tests.environment` in pyproject.toml):
DATABASE_URL / REDIS_URL when set; else PostgreSQL and Redis on localhost when they
answer; else SQLite and a private Redis server (devserver.redis_server).
"""

import atexit
import os
import tempfile
from pathlib import Path

from devserver.redis_server import redis_answers, start_redis

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/campaign_posts"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"

_scratch = Path(tempfile.mkdtemp(prefix="campaign-posts-tests-"))


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=1):
            return True
    except Exception:
        return False


def _choose() -> None:
    # A developer's .env (make run writes one) is for their shell, not for the tests.
    os.environ["ENV_FILE"] = ""
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("MEDIA_ROOT", str(_scratch / "media"))
    os.environ.setdefault("LOG_FORMAT", "text")
    if not os.environ.get("DATABASE_URL"):
        if _postgres_answers():
            os.environ["DATABASE_URL"] = LOCAL_POSTGRES
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{_scratch / 'db.sqlite3'}"
    if not os.environ.get("REDIS_URL"):
        if redis_answers(LOCAL_REDIS):
            os.environ["REDIS_URL"] = LOCAL_REDIS
        else:
            url, process = start_redis(_scratch / "redis")
            os.environ["REDIS_URL"] = url
            atexit.register(process.terminate)


_choose()
