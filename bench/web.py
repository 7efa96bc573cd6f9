"""The web benchmark: the campaign page (with many posts) and the batch progress partial under gunicorn.

A signed-in marketer's session and CSRF cookies (what a browser holds once it has opened the
page) go with every request; the progress partial is asked for as htmx asks for it
(HX-Request). The load comes from wrk when it is installed (apt-get install wrk), else from a
small Python client: CONCURRENCY keep-alive connections, each sending its next request when the
last one answered. Queries per request are counted in-process with Django's test client, on the
big campaign and on a small one: a page whose count grows with the posts would show two
different numbers.
"""

import contextlib
import http.client
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bench.harness import BASE_DIR, WEB_APP, Sampler, free_port, stop_process, wait_until
from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start, campaign_create
from workspaces.services.workspaces import personal_workspace

CONCURRENCY = 8
# The load is split into rounds, each with new connections, and the round with the median p95 is
# reported (all rounds' p95 are kept too). wrk opens its 8 keep-alive connections at once and
# gunicorn's processes take them unevenly (whichever wakes first accepts several), and a process
# that holds more than its share serves them on one core for the whole round: one round alone
# measures that draw as much as the pages.
ROUNDS = 3
# p95 at concurrency 8 on the 2-core machine (issue 12). The partial's was 20 ms, met only with
# forks of the framework's paths; fewer polls, not cheaper ones, is how its load goes down now.
TARGETS_MS = {"campaign page": 100.0, "batch progress partial": 30.0}

WRK_SCRIPT = """
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
if os.getenv("BENCH_HTMX") == "1" then wrk.headers["HX-Request"] = "true" end
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "seconds": %f, "errors": %d, "p50": %f, "p95": %f, "p99": %f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def run_web_benchmark(
    run, *, seconds: float, posts: int, tool: str = "auto", gunicorn_args: str = "", rounds: int = ROUNDS
) -> tuple[list[dict], str | None]:
    try:
        reverse("campaigns:detail", args=[1])
        reverse("campaigns:batch_progress", args=[1])
    except NoReverseMatch:
        return [], "the URL names campaigns:detail and campaigns:batch_progress do not exist yet (branch web)"
    print(f"\n== web: the campaign page with {posts:,} posts and the batch progress partial", flush=True)
    big, batch = _campaign_with_posts(run.user, posts, name="Web benchmark")
    small, small_batch = _campaign_with_posts(run.user, min(posts, 30), name="Web benchmark (small)")
    # A table that was just bulk-loaded has no statistics yet, and the planner then sorts all of a
    # campaign's posts instead of reading the index; in production autovacuum has analyzed it.
    # Vacuumed too, or autovacuum would do it now, on the two cores the load is measured on, after
    # the engine scenarios' thousands of updates.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(run.user)
    pages = [
        (
            "campaign page",
            reverse("campaigns:detail", args=[big.pk]),
            reverse("campaigns:detail", args=[small.pk]),
            False,
        ),
        (
            "batch progress partial",
            reverse("campaigns:batch_progress", args=[batch.pk]),
            reverse("campaigns:batch_progress", args=[small_batch.pk]),
            True,
        ),
    ]
    static_root = run.scratch / "static"
    env = {
        **run.env,
        "DJANGO_SETTINGS_MODULE": "bench.web_settings",
        "BENCH_STATIC_ROOT": str(static_root),
        "PGAPPNAME": WEB_APP,
        "LOG_LEVEL": "warning",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )
    with override_settings(STATIC_ROOT=static_root):
        queries = {
            name: (_queries(client, url, htmx), _queries(client, small_url, htmx))
            for name, url, small_url, htmx in pages
        }
    # The cookies a browser holds once it has opened the campaign page: the session, and the CSRF
    # cookie set with the page's token. Without the latter every answer would mint a new token.
    cookie = "; ".join(f"{name}={client.cookies[name].value}" for name in ("sessionid", "csrftoken"))
    port = free_port()
    server = _start_gunicorn(env, port, run.log_dir / "gunicorn.log", gunicorn_args)
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(port, pages[0][1], cookie) == 200, timeout=60, what="gunicorn to answer")
        if tool == "wrk" and not shutil.which("wrk"):
            raise SystemExit("--load-tool wrk: wrk is not installed (apt-get install wrk)")
        if tool == "auto":
            tool = "wrk" if shutil.which("wrk") else "python"
            if tool == "python":
                print("   wrk is not installed (apt-get install wrk): using the Python load client", flush=True)
        for name, url, _, htmx in pages:
            _load(tool, base, url, cookie, htmx, seconds=min(2.0, seconds / 2))  # warm-up: imports, pools, caches
            sampler = Sampler(workers={}, dsn=run.database_url, database=run.database)
            sampler.start()
            # Each round opens new connections: see ROUNDS.
            results = [_load(tool, base, url, cookie, htmx, seconds=seconds / rounds) for _ in range(rounds)]
            samples = sampler.stop()
            result = sorted(results, key=lambda r: r["p95"])[len(results) // 2]
            load_seconds = sum(r["seconds"] for r in results)
            requests = sum(r["requests"] for r in results)
            errors = sum(r["errors"] for r in results)
            big_queries, small_queries = queries[name]
            row = {
                "page": name,
                "url": url,
                "posts": posts,
                "concurrency": CONCURRENCY,
                "tool": tool,
                "requests": requests,
                "errors": errors,
                "requests_per_second": requests / load_seconds if load_seconds else None,
                "p50_ms": result["p50"],
                "p95_ms": result["p95"],
                "p99_ms": result["p99"],
                "rounds": [{key: r[key] for key in ("requests", "seconds", "p50", "p95", "p99")} for r in results],
                "queries": big_queries,
                "queries_small_campaign": small_queries,
                "peak_pg_connections": samples.peak_pg.get(WEB_APP, 0),
                "load_after": os.getloadavg(),
            }
            limit = TARGETS_MS[name]
            row["targets"] = [
                {"label": f"p95 < {limit:.0f} ms", "met": row["p95_ms"] < limit, "value": f"{row['p95_ms']:.1f} ms"},
                {
                    "label": "fixed queries",
                    "met": big_queries == small_queries,
                    "value": f"{big_queries} at {posts:,} posts, {small_queries} at {min(posts, 30)}",
                },
                {"label": "0 errors", "met": errors == 0, "value": str(errors)},
            ]
            rows.append(row)
            print(
                f"   {name}: {row['requests_per_second']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
                f"p95 {row['p95_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, {big_queries} queries, "
                f"{errors} errors, peak PG {row['peak_pg_connections']}",
                flush=True,
            )
    finally:
        stop_process(server)
    return rows, None


def _campaign_with_posts(user, count: int, *, name: str) -> tuple:
    """A campaign with `count` finished posts in batches of up to 1,000; its last batch is running."""
    campaign = campaign_create(
        workspace=personal_workspace(user),
        owner=user,
        actor=user,
        name=name,
        brief="Launch our nitro cold brew for summer. Smooth and naturally sweet, no sugar added.",
        target_audience="busy commuters",
        tone="upbeat, friendly",
        platforms=["instagram", "x", "linkedin"],
        keywords=["cold brew", "summer mornings"],
        hashtags=["#BrewBetter"],
        call_to_action="Order today.",
    )
    batches = []
    # Started as the shell starts batches (actor None): loading 10,000 posts is not a marketer's day,
    # and their per-user limits would refuse it.
    for start in range(0, count, 1000):
        batches.append(batch_start(campaign=campaign, count=min(1000, count - start), actor=None, enqueue=False))
    now = timezone.now()
    Post.objects.filter(campaign=campaign).update(
        status=GenerationStatus.SUCCEEDED,
        caption="✨ Cold brew, done right. Smooth, naturally sweet, no sugar added. Made for busy commuters. "
        "Order today.",
        hashtags=["#BrewBetter", "#ColdBrew", "#SummerMornings"],
        headline="Cold brew, done right.",
        image=f"posts/{campaign.pk}/bench.jpg",
        thumbnail=f"posts/{campaign.pk}/bench-thumb.jpg",
        generated_at=now,
    )
    for batch in batches:
        BatchJob.objects.filter(pk=batch.pk).update(
            status=BatchStatus.SUCCEEDED, succeeded_count=batch.requested_count, started_at=now, finished_at=now
        )
    # The last batch is still running, as when a marketer watches it: the partial keeps polling.
    last = batches[-1]
    half = last.requested_count // 2
    Post.objects.filter(batch=last, sequence__gte=half).update(status=GenerationStatus.PENDING, caption="")
    BatchJob.objects.filter(pk=last.pk).update(status=BatchStatus.RUNNING, succeeded_count=half, finished_at=None)
    last.refresh_from_db()
    return campaign, last


def _queries(client: Client, url: str, htmx: bool) -> int:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code} to the benchmark's signed-in client")
    return len(captured.captured_queries)


def _start_gunicorn(env: dict, port: int, log_path: Path, extra_args: str = "") -> subprocess.Popen:
    """gunicorn with the project's config/gunicorn.py when there is one, else the same shape inline.

    `extra_args` (--gunicorn-args) come last, so they override either.
    """
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    config = BASE_DIR / "config" / "gunicorn.py"
    if config.exists():
        command += ["--config", str(config), "--access-logfile", str(log_path.with_suffix(".access.log"))]
    else:
        workers = min((os.cpu_count() or 1) * 2 + 1, 8)
        command += ["--worker-class", "gthread", "--workers", str(workers), "--threads", "2"]
    command += shlex.split(extra_args)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _status(port: int, url: str, cookie: str) -> int | None:
    with contextlib.suppress(OSError):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", url, headers={"Cookie": cookie})
        status = conn.getresponse().status
        conn.close()
        return status
    return None


def _load(tool: str, base: str, url: str, cookie: str, htmx: bool, *, seconds: float) -> dict:
    if tool == "wrk":
        return _wrk(base + url, cookie, htmx, seconds=seconds)
    return _python_load(base, url, cookie, htmx, seconds=seconds)


def _wrk(url: str, cookie: str, htmx: bool, *, seconds: float) -> dict:
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-bench-wrk-{os.getpid()}.lua"
    script.write_text(WRK_SCRIPT)
    try:
        output = subprocess.run(
            # wrk counts an answer slower than --timeout (2 s by default) as an error; a slow answer is
            # what p99 shows, an error is a failed one (as the Python client's 30 s timeout has it).
            [
                *("wrk", "-t", "2", "-c", str(CONCURRENCY), "-d", f"{max(seconds, 1):.0f}s"),
                *("--timeout", "30s", "-s", str(script), url),
            ],
            env={**os.environ, "BENCH_COOKIE": cookie, "BENCH_HTMX": "1" if htmx else "0"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        script.unlink(missing_ok=True)
    line = next(line for line in output.splitlines() if line.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


def _python_load(base: str, url: str, cookie: str, htmx: bool, *, seconds: float) -> dict:
    """CONCURRENCY threads, one keep-alive connection each, a request as soon as the last answered."""
    host, port = base.removeprefix("http://").split(":")
    headers = {"Cookie": cookie, **({"HX-Request": "true"} if htmx else {})}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except OSError:
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0] if latencies else 0] * 99
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors[0],
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
    }
