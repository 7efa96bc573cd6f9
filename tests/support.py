"""Helpers for tests that use real processes: rqworker pools and their clock, polling, the test database's URL."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db import connection

from devserver.redis_server import start_redis

BASE_DIR = Path(__file__).resolve().parent.parent
FAKE_KEY = "sk-test-fake-key-0123456789abcdefghij"
# GENERATION_RECOVERY_INTERVAL of the workers and the clock that WorkerPool starts, in seconds: how
# often the clock has a worker run recovery, economy polls and webhook sweeps.
WORKER_RECOVERY_INTERVAL = 1


def database_url() -> str:
    """The URL of the database the tests use right now (the test database, once created)."""
    params = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{params['NAME']}"
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


# What a worker and the clock run: the Procfile's and docker-compose.yml's commands (tests/test_deployment.py).
WORKER_COMMAND = ("manage.py", "rqworker", "clock", "generation", "default")
CLOCK_COMMAND = ("manage.py", "clock")


class WorkerPool:
    """Real `manage.py rqworker` processes against the test database and Redis, with a clock.

    As in a deployment, the workers' periodic tasks (recovery, economy polls, webhook sweeps)
    come from a clock process (`manage.py clock`): the pool starts one with its first worker, in
    that worker's environment (its Redis, its GENERATION_RECOVERY_INTERVAL), and it outlives
    workers that are killed or stopped. Its log is log("clock").
    """

    CLOCK = "clock"

    def __init__(self, log_dir: Path, base_env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.base_env = dict(base_env or {})
        self.processes: dict[str, subprocess.Popen] = {}
        self.clock: subprocess.Popen | None = None
        # What marks each worker's processes (work horses inherit it) and database sessions.
        self.tokens: dict[str, str] = {}
        self.app_names: dict[str, str] = {}

    def start(self, name: str, **env) -> subprocess.Popen:
        assert name != self.CLOCK, "the clock's name"
        token = f"{os.getpid()}:{name}:{uuid.uuid4().hex}"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DATABASE_POOL_MAX_SIZE": "2",
            "GENERATION_RECOVERY_INTERVAL": str(WORKER_RECOVERY_INTERVAL),
            # libpq labels the worker's sessions with it, unless the test gives its own.
            "PGAPPNAME": f"test-worker-{name}",
            **self.base_env,
            **{key: str(value) for key, value in env.items()},
            WORKER_TOKEN: token,
        }
        if self.clock is None:
            clock_environment = {**environment, WORKER_TOKEN: f"{token}:clock"}  # killing the worker spares it
            self.clock = self._spawn(
                self.CLOCK, [*CLOCK_COMMAND, "--name", f"test-clock-{os.getpid()}"], clock_environment
            )
        process = self._spawn(name, [*WORKER_COMMAND, "--name", name], environment)
        self.processes[name] = process
        self.tokens[name] = token
        self.app_names[name] = environment["PGAPPNAME"]
        return process

    def _spawn(self, name: str, command: list[str], environment: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [sys.executable, str(BASE_DIR / command[0]), *command[1:]],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=BASE_DIR,
            start_new_session=True,
        )
        log.close()
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a worker and its work horse, and wait for the worker to end.

        rq puts each work horse in a process group of its own, so the horse is found
        among the worker's children and signalled separately. The worker is frozen meanwhile:
        with the clock's jobs arriving every second, it would otherwise fork a horse after the
        children were listed; one forked all the same is found afterwards by the token in its
        environment.
        """
        process = self.processes[name]
        try:
            worker = psutil.Process(process.pid)
            worker.suspend()
            horses = worker.children(recursive=True)
        except psutil.NoSuchProcess:
            worker, horses = None, []
        for horse in horses:
            with contextlib.suppress(psutil.NoSuchProcess):
                horse.send_signal(sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        if worker is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.resume()  # a signal other than SIGKILL is handled once it runs again
        process.wait(timeout=60)
        for late in processes_with_token(self.tokens[name]):
            with contextlib.suppress(psutil.NoSuchProcess):
                late.send_signal(sig)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                self.kill(name, signal.SIGKILL)
        if self.clock is not None and self.clock.poll() is None:
            self.clock.kill()
            self.clock.wait(timeout=60)
        self.end_database_sessions()

    def end_database_sessions(self) -> None:
        """End the sessions of the killed workers' processes, as PostgreSQL does once it notices they
        are gone, and wait until they have: a session still running a query when the test database
        is flushed after the test can deadlock with the flush."""
        if connection.vendor != "postgresql" or not self.app_names:
            return
        names = sorted(set(self.app_names.values()))
        query = "FROM pg_stat_activity WHERE datname = current_database() AND application_name = ANY(%s)"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_terminate_backend(pid) {query}", [names])

        def ended() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) {query}", [names])
                return cursor.fetchone()[0] == 0

        wait_for(ended, timeout=30, interval=0.05, message="the killed workers' database sessions to end")


# The environment variable that marks the processes a WorkerPool started, and their work horses.
WORKER_TOKEN = "CAMPAIGN_POSTS_TEST_WORKER"


def processes_with_token(token: str) -> list[psutil.Process]:
    """Live processes whose environment carries this WorkerPool token (work horses included)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(WORKER_TOKEN) == token:
                found.append(process)
    return found


class PrivateRedis:
    """A redis-server of the test's own (a Unix socket under `folder`), which it may kill and restart.

    The shared Redis is never restarted. Like a server without persistence, a restarted
    one comes back empty, on the same address.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url, self.process = start_redis(folder)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def start(self) -> None:
        url, self.process = start_redis(self.folder)
        assert url == self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")


def wait_for_batch_end(batch, *, timeout: float):
    def ended() -> bool:
        batch.refresh_from_db()
        return not batch.is_active

    wait_for(ended, timeout=timeout, message=f"batch {batch.pk} to end")
    return batch


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in a thread of its own, released together at a barrier as simultaneous requests
    would be; each thread closes its database connection. What each call returned, or the exception
    it raised, in the order of `calls`."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # the caller's assertions show it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def manage_py(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run `manage.py ARGS` in a child process with exactly the environment `env`; its output is captured as text."""
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        timeout=timeout,
    )


def run_manage(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run `manage.py ARGS` in a child process against the test database and Redis, as an operator would."""
    return manage_py(*args, env={**os.environ, "DATABASE_URL": database_url(), **env}, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """The command failed with exit status 1 and one line on stderr that says `fragment`."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: ")
    assert fragment in lines[0]
