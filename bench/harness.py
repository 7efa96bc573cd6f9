"""The processes a benchmark runs against, and what it samples from them.

- FakeProvider: tests/fake_openai/ as a process of its own, with a scenario's latency and rate limit.
- Workers: K real `manage.py rqworker clock generation default` processes, and the clock
  (`manage.py clock`) that enqueues their periodic tasks: recovery, economy polls.
- Sampler: a thread that samples the workers' memory (work horses included) and the
  benchmark database's connections from pg_stat_activity, by application_name.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
FAKE_KEY = "sk-bench-fake-key-0123456789abcdefghij"
# libpq reads PGAPPNAME, so every connection a process opens is labelled with its role.
WORKER_APP = "cp-bench-worker"
WEB_APP = "cp-bench-web"
DRIVER_APP = "cp-bench-driver"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def stop_process(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    """SIGTERM the process group (rq's warm shutdown), then SIGKILL whatever is left."""
    if process.poll() is not None:
        return
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # rq puts each work horse in a process group of its own.
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


class FakeProvider:
    """The fake OpenAI-compatible server in its own process (so its threads do not share our GIL)."""

    def __init__(self, *, text_latency: float, image_latency: float, rpm: int, log_path: Path) -> None:
        self.port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "tests.fake_openai",
            "--port",
            str(self.port),
            "--text-latency",
            str(text_latency),
            "--image-latency",
            str(image_latency),
            "--rpm",
            str(rpm),
        ]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as response:
            return json.loads(response.read())

    def start(self) -> "FakeProvider":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def answers() -> bool:
            try:
                self._get("/_stats")
                return True
            except OSError:
                return False

        wait_until(answers, timeout=30, what="the fake OpenAI server")
        return self

    def stats(self) -> dict:
        return self._get("/_stats")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, grace=5)


class Workers:
    """K `manage.py rqworker clock generation default` processes with a scenario's environment,
    and one clock, as a deployment runs them (the clock is no worker: neither listed nor sampled)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.clock: subprocess.Popen | None = None

    def start(self, count: int, *, prefix: str) -> dict[str, int]:
        if self.clock is None:
            self.clock = self._spawn(f"{prefix}-clock-{os.getpid()}", ["clock"])
        for index in range(1, count + 1):
            name = f"{prefix}-w{index}-{os.getpid()}"
            self.processes[name] = self._spawn(name, ["rqworker", "clock", "generation", "default"])
        self.wait_ready()
        return {name: process.pid for name, process in self.processes.items()}

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [*MANAGE, *command, "--name", name],
                env=self.env,
                cwd=BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker has registered with rq and is waiting for work."""
        import django_rq
        from rq.worker import Worker

        connection = django_rq.get_queue("generation").connection

        def ready() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"worker {name} exited; see {self.log_dir / (name + '.log')}")
            registered = {w.name: w.get_state() for w in Worker.all(connection=connection)}
            return all(registered.get(name) == "idle" for name in self.processes)

        wait_until(ready, timeout=timeout, what="the workers to register", interval=0.1)

    def stop(self) -> None:
        processes = [*self.processes.values(), *([self.clock] if self.clock else [])]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            stop_process(process)
        self.processes.clear()
        self.clock = None


@dataclass
class Samples:
    """What the sampler saw. Memory in bytes; `timeline` holds (seconds, rss by worker, pg by app)."""

    idle_rss: dict[str, int] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)  # the largest process of each worker (horse or not)
    peak_pg: dict[str, int] = field(default_factory=dict)
    timeline: list[tuple[float, dict[str, int], dict[str, int]]] = field(default_factory=list)
    horses: set[int] = field(default_factory=set)
    cpu_seconds: float = 0.0  # CPU the workers used (work horses included) between start and stop

    @property
    def peak_rss_mb(self) -> float:
        return max(self.peak_rss.values(), default=0) / 2**20

    @property
    def rss_growth_mb(self) -> float:
        """The most any worker grew, horse included, over its idle size before the batch."""
        growth = [self.peak_rss[name] - self.idle_rss.get(name, self.peak_rss[name]) for name in self.peak_rss]
        return max(growth, default=0) / 2**20


class Sampler(threading.Thread):
    """Samples every `interval` seconds until stopped: worker memory and PostgreSQL connections.

    A worker's memory is the RSS of its largest process: rq forks a work horse per job, and
    a fresh horse shares (and counts) its parent's pages, so the horse's RSS is what the
    worker weighs while it works. Connections are counted by application_name, which each
    role sets through PGAPPNAME.
    """

    def __init__(self, *, workers: dict[str, int], dsn: str, database: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True, name="bench-sampler")
        self.workers = workers
        self.dsn = dsn
        self.database = database
        self.interval = interval
        self.samples = Samples()
        self.started = time.monotonic()
        self._halt = threading.Event()
        self._connection = psycopg.connect(dsn, autocommit=True, application_name="cp-bench-sampler")
        self._seen_cpu: dict[int, float] = {}
        self.samples.idle_rss = {name: self._rss(pid)[0] for name, pid in workers.items()}
        self._seen_at_start = dict(self._seen_cpu)
        self._cpu_at_start = self._cpu()

    def _cpu(self) -> float:
        """CPU seconds of the workers so far: their own, their reaped work horses' (rq waits for
        each horse, which adds its time to the parent's children_*), and live horses'."""
        total = 0.0
        for pid in self.workers.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                parent = psutil.Process(pid)
                times = parent.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
                for child in parent.children(recursive=True):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        child_times = child.cpu_times()
                        total += child_times.user + child_times.system
        return total

    def _rss(self, pid: int) -> tuple[int, list[int]]:
        try:
            parent = psutil.Process(pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0, []
        sizes, pids = [], []
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                sizes.append(process.memory_info().rss)
                pids.append(process.pid)
                times = process.cpu_times()
                self._seen_cpu[process.pid] = times.user + times.system
        return max(sizes, default=0), pids[1:]

    def sample(self) -> None:
        rss = {}
        for name, pid in self.workers.items():
            rss[name], horses = self._rss(pid)
            self.samples.horses.update(horses)
            self.samples.peak_rss[name] = max(self.samples.peak_rss.get(name, 0), rss[name])
        rows = self._connection.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY 1",
            [self.database],
        ).fetchall()
        pg = dict(rows)
        for app, n in pg.items():
            self.samples.peak_pg[app] = max(self.samples.peak_pg.get(app, 0), n)
        self.samples.timeline.append((time.monotonic() - self.started, rss, pg))

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> Samples:
        self._halt.set()
        self.join(timeout=10)
        self.sample()
        # Two counts that should agree: the kernel's (reaped horses' time lands in their parent's
        # children_*), and the sum of what each process was last seen to have used (misses only
        # a horse's last interval). The larger one wins: either can miss a horse caught exiting.
        seen = sum(cpu - self._seen_at_start.get(pid, 0.0) for pid, cpu in self._seen_cpu.items())
        self.samples.cpu_seconds = max(self._cpu() - self._cpu_at_start, seen)
        self._connection.close()
        return self.samples
