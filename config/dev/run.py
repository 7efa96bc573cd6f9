"""`make run`: set up and run the whole app on one machine for development.

Migrates, loads the demo data, then runs the web server and one RQ worker until Ctrl-C.
With no REDIS_URL it starts a private Redis (config.dev.redis_server) and stops it on exit;
with no DATABASE_URL the settings use SQLite in the project folder.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.dev.redis_server import start_redis

BASE_DIR = Path(__file__).resolve().parent.parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]


def main() -> int:
    env = os.environ.copy()
    env.setdefault("DEBUG", "1")
    children: list[subprocess.Popen] = []
    if not env.get("REDIS_URL"):
        url, redis_process = start_redis(BASE_DIR / "var" / "redis")
        env["REDIS_URL"] = url
        children.append(redis_process)
        print(f"Started a private Redis at {url}")
    port = env.get("PORT", "8000")
    try:
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
        subprocess.run([*MANAGE, "demo"], env=env, check=True)  # noqa: S603
        children.append(subprocess.Popen([*MANAGE, "runserver", f"127.0.0.1:{port}"], env=env))  # noqa: S603
        children.append(
            subprocess.Popen([*MANAGE, "rqworker", "generation", "default", "--name", f"dev-{os.getpid()}"], env=env)  # noqa: S603
        )
        print(f"\nThe app is running at http://127.0.0.1:{port}/ (admin: /admin/). Ctrl-C stops it.\n", flush=True)
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
