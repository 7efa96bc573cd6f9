"""One benchmark run: set up Django on the benchmark's database, then run scenarios one by one.

Imported only after bench.generation has put the benchmark's environment in os.environ,
since Django reads its settings once.
"""

import os
import time
from pathlib import Path

import django

django.setup()

import django_rq  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.harness import WORKER_APP, FakeProvider, Sampler, Workers  # noqa: E402
from bench.scenarios import Scenario, targets_for  # noqa: E402
from campaigns.models import BatchJob, Post  # noqa: E402
from campaigns.services import batch_start, campaign_create  # noqa: E402
from workspaces.services.workspaces import personal_workspace  # noqa: E402


class BenchmarkRun:
    def __init__(self, *, env: dict[str, str], database_url: str, database: str, scratch: Path) -> None:
        self.env = env
        self.database_url = database_url
        self.database = database
        self.scratch = scratch
        self.log_dir = scratch / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0, interactive=False)
        self.redis = django_rq.get_queue("generation").connection
        self.redis.flushdb()
        from django.contrib.auth import get_user_model

        self.user = get_user_model().objects.create_user("bench-marketer", password=os.urandom(12).hex())
        self.campaign = campaign_create(
            workspace=personal_workspace(self.user),
            owner=self.user,
            actor=self.user,
            name="Benchmark cold brew",
            brief="Launch our nitro cold brew for summer. Smooth and naturally sweet, no sugar added.",
            target_audience="busy commuters",
            tone="upbeat, friendly",
            platforms=["instagram", "x", "linkedin"],
            keywords=["cold brew", "summer mornings", "oat milk"],
            hashtags=["#BrewBetter"],
            call_to_action="Order today.",
        )

    # Generation ---------------------------------------------------------------------------

    def generation(self, suite: list[Scenario]) -> list[dict]:
        rows = []
        for scenario in suite:
            print(f"\n== {scenario.name}: {scenario.description or scenario.group}", flush=True)
            row = self.scenario(scenario)
            rows.append(row)
            print(_summary(row), flush=True)
        return rows

    def scenario(self, scenario: Scenario) -> dict:
        self.redis.flushdb()  # limiter buckets, queues and registries of the scenario before
        provider = None
        env = {
            **self.env,
            "PGAPPNAME": WORKER_APP,
            "GENERATION_PROVIDER": scenario.provider,
            "GENERATION_CONCURRENCY": str(scenario.concurrency),
            "GENERATION_RPM": str(scenario.rpm),
        }
        if scenario.provider == "openai":
            provider = FakeProvider(
                text_latency=scenario.text_latency,
                image_latency=scenario.image_latency,
                rpm=scenario.rpm,
                log_path=self.log_dir / f"{scenario.name}-fake-openai.log",
            ).start()
            env["OPENAI_BASE_URL"] = provider.base_url
        workers = Workers(env, self.log_dir)
        try:
            pids = workers.start(scenario.workers, prefix=scenario.name)
            time.sleep(0.3)  # let the workers settle in their blocking pop before sampling their idle size
            sampler = Sampler(workers=pids, dsn=self.database_url, database=self.database)
            sampler.start()
            load_before = os.getloadavg()
            overrides = {
                "GENERATION_PROVIDER": scenario.provider,
                "GENERATION_CONCURRENCY": scenario.concurrency,
                "GENERATION_RPM": scenario.rpm,
                "OPENAI_BASE_URL": provider.base_url if provider else None,
            }
            with override_settings(**overrides):
                batch = batch_start(campaign=self.campaign, count=scenario.posts, actor=self.user)
            timed_out = not self._wait(batch, timeout=self._timeout(scenario))
            samples = sampler.stop()
            stats = provider.stats() if provider else {}
            return self._row(scenario, batch, samples, stats, load_before, timed_out)
        finally:
            workers.stop()
            if provider:
                provider.stop()

    @staticmethod
    def _timeout(scenario: Scenario) -> float:
        if scenario.ideal_seconds is None:
            return 300.0
        return scenario.ideal_seconds * 3 + 60

    @staticmethod
    def _wait(batch: BatchJob, *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if BatchJob.objects.filter(pk=batch.pk, status__in=["queued", "running"]).exists():
                time.sleep(0.05)
                continue
            return True
        return False

    def _row(self, scenario, batch, samples, stats, load_before, timed_out) -> dict:
        batch.refresh_from_db()
        end = batch.finished_at
        seconds = (end - batch.created_at).total_seconds() if end else None
        done = batch.succeeded_count + batch.failed_count
        completions = sorted(
            (generated - batch.created_at).total_seconds()
            for generated in Post.objects.filter(batch=batch, generated_at__isnull=False).values_list(
                "generated_at", flat=True
            )
        )
        counts = stats.get("counts", {})
        ideal = scenario.ideal_seconds
        row = {
            "scenario": scenario.name,
            "group": scenario.group,
            "posts": scenario.posts,
            "workers": scenario.workers,
            "concurrency": scenario.concurrency,
            "provider": scenario.provider,
            "text_latency": scenario.text_latency,
            "image_latency": scenario.image_latency,
            "rpm": scenario.rpm,
            "status": "timed out" if timed_out else batch.status,
            "seconds": seconds,
            "posts_per_minute": done * 60 / seconds if seconds else None,
            "posts_per_second": done / seconds if seconds else 0.0,
            "ideal_seconds": ideal,
            "latency_bound_seconds": scenario.latency_seconds,
            "rate_bound_seconds": scenario.rate_seconds,
            "ratio": seconds / ideal if seconds and ideal else None,
            "http_429": sum(n for key, n in counts.items() if key.endswith(":429")),
            "requests": counts,
            "server_peak_in_flight": stats.get("peak_in_flight"),
            "failed": batch.failed_count + (scenario.posts - done if timed_out else 0),
            "succeeded": batch.succeeded_count,
            "worker_cpu_seconds": samples.cpu_seconds,
            "cpu_ms_per_post": samples.cpu_seconds * 1000 / done if done else None,
            "peak_rss_mb": samples.peak_rss_mb,
            "rss_growth_mb": samples.rss_growth_mb,
            "worker_processes_seen": len(samples.horses),
            "peak_pg_connections": samples.peak_pg.get(WORKER_APP, 0),
            "peak_pg_by_app": samples.peak_pg,
            "reference_seconds": scenario.reference_seconds,
            "completions": completions,
            "arrivals": [round(t - batch.created_at.timestamp(), 3) for t in sorted(stats.get("arrivals", []))],
            "rss_timeline_mb": _downsample(
                [(round(t, 2), round(max(rss.values(), default=0) / 2**20, 1)) for t, rss, _ in samples.timeline]
            ),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "first_completion": completions[0] if completions else None,
            "started_after": (batch.started_at - batch.created_at).total_seconds() if batch.started_at else None,
        }
        row["targets"] = [t.__dict__ for t in targets_for(scenario, row)]
        return row

    # Web ------------------------------------------------------------------------------------

    def web(
        self, *, seconds: float, posts: int, tool: str, gunicorn_args: str = "", rounds: int
    ) -> tuple[list[dict], str | None]:
        from bench.web import run_web_benchmark

        return run_web_benchmark(
            self, seconds=seconds, posts=posts, tool=tool, gunicorn_args=gunicorn_args, rounds=rounds
        )

    def machine(self) -> dict:
        from bench.report import machine_info

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = "PostgreSQL " + cursor.fetchone()[0].split()[0]
        return machine_info(database_version=pg, redis_version=self.redis.info("server")["redis_version"])


def _downsample(points: list, limit: int = 300) -> list:
    step = max(1, len(points) // limit)
    return points[::step]


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _summary(row: dict) -> str:
    from bench.report import targets_text

    seconds = f"{row['seconds']:.1f} s" if row["seconds"] is not None else "no end"
    ideal = f", ideal {row['ideal_seconds']:.1f} s, ratio {row['ratio']:.2f}" if row["ratio"] else ""
    return (
        f"   {row['posts']} posts, {row['status']}, {seconds}{ideal}, {row['posts_per_second']:.1f} posts/s, "
        f"{row['failed']} failed, {row['http_429']} × 429, {_ms(row['cpu_ms_per_post'])} ms CPU/post, "
        f"peak RSS {row['peak_rss_mb']:.0f} MB (+{row['rss_growth_mb']:.1f}), peak PG {row['peak_pg_connections']}"
        f"\n   {targets_text(row)}"
    )
