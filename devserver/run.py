"""`make run`: set up and run the whole app on one machine for development.

Checks that the port is free, migrates, loads the demo data, then runs the web server, one RQ
worker and the clock (the periodic tasks: recovery, economy polls, webhook sweeps; see
docs/workers.md) until Ctrl-C. With no REDIS_URL it starts a private Redis
(devserver.redis_server) and stops it on exit; with no DATABASE_URL the settings use SQLite in
the project folder. It writes what it chose (DEBUG=1, the private Redis's URL) to `.env`, which
the settings read, so that `manage.py` commands typed in a second terminal use the same database
and Redis.
"""

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dotenv import set_key

from devserver.redis_server import start_redis

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
ENV_FILE = BASE_DIR / ".env"
HOST = "127.0.0.1"


def port_problem(port: str) -> str | None:
    """Why the web server could not listen on `port`, or None when it can."""
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"PORT must be a number from 1 to 65535, not {port!r}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is already in use (another `make run`?); pick another: make run PORT=8001"
            return f"cannot listen on port {port} ({exc.strerror})"
    return None


def remember(env: dict[str, str], *names: str) -> None:
    """Write these variables to .env (other lines in it are kept) for commands run from another terminal."""
    ENV_FILE.touch(mode=0o600, exist_ok=True)
    for name in names:
        set_key(ENV_FILE, name, env[name], quote_mode="never")


def main() -> int:
    env = os.environ.copy()
    env.setdefault("DEBUG", "1")
    port = env.get("PORT", "8000")
    problem = port_problem(port)
    if problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 1
    children: list[subprocess.Popen] = []
    if not env.get("REDIS_URL"):
        url, redis_process = start_redis(BASE_DIR / "var" / "redis")
        env["REDIS_URL"] = url
        children.append(redis_process)
        print(f"Started a private Redis at {url}")
    remember(env, "DEBUG", "REDIS_URL")
    try:
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
        subprocess.run([*MANAGE, "demo"], env=env, check=True)  # noqa: S603
        children.append(subprocess.Popen([*MANAGE, "runserver", f"{HOST}:{port}"], env=env))  # noqa: S603
        children.append(
            subprocess.Popen(  # noqa: S603
                [*MANAGE, "rqworker", "clock", "generation", "default", "--name", f"dev-{os.getpid()}"], env=env
            )
        )
        children.append(subprocess.Popen([*MANAGE, "clock", "--name", f"dev-clock-{os.getpid()}"], env=env))  # noqa: S603
        print(
            f"\nThe app is running at http://{HOST}:{port}/ (admin: /admin/). Ctrl-C stops it.\n"
            f"Commands in another terminal use the same setup (.env): .venv/bin/python manage.py help\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"setup failed: {' '.join(exc.cmd[1:3])} exited with {exc.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
