"""Economy against standard: the same 100 posts through the live path and through the Batch API.

    python -m bench.economy               # 100 posts each way, 2 workers
    python -m bench.economy --posts 500

Real rqworker processes, the fake OpenAI server in its own process (its Batch API's stages take
--stage-seconds each on its clock: validating, in progress, finalizing), production settings
otherwise but for GENERATION_ECONOMY_POLL_SECONDS (1 s, so the run does not wait out the
30 s default). Prints one line per mode: posts, succeeded, cost, provider batches, live requests,
seconds. The seconds say little of OpenAI, whose Batch API takes minutes to hours; the cost and
the provider batches are the point. Uses the benchmark's own database and Redis database, like
bench.generation.
"""

import argparse
import time

from bench.generation import add_target_arguments, scratch_run

WORKERS = 2
MODES = ("standard", "economy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.economy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--stage-seconds", type=float, default=2.0)
    add_target_arguments(parser)
    args = parser.parse_args(argv)
    with scratch_run(args, name="economy") as run:
        rows = [one_run(run, mode, posts=args.posts, stage_seconds=args.stage_seconds) for mode in MODES]
        standard, economy = rows
        print(f"economy costs {economy['cost_usd'] / standard['cost_usd']:.2f}× standard", flush=True)
    return 0


def one_run(run, mode: str, *, posts: int, stage_seconds: float) -> dict:
    from django.test.utils import override_settings

    from bench.harness import WORKER_APP, FakeProvider, Workers, wait_until
    from campaigns.models import BatchJob
    from campaigns.services import batch_start
    from generation.models import ProviderBatch

    run.redis.flushdb()
    provider = FakeProvider(text_latency=0.2, image_latency=1.0, rpm=0, log_path=run.log_dir / f"{mode}-fake.log")
    provider.args += ["--batch-stage-seconds", str(stage_seconds)]
    provider.start()
    env = {
        **run.env,
        "PGAPPNAME": WORKER_APP,
        "GENERATION_PROVIDER": "openai",
        "OPENAI_BASE_URL": provider.base_url,
        "GENERATION_ECONOMY_POLL_SECONDS": "1",
    }
    workers = Workers(env, run.log_dir)
    try:
        workers.start(WORKERS, prefix=f"economy-{mode}")
        started = time.monotonic()
        with override_settings(GENERATION_PROVIDER="openai", OPENAI_BASE_URL=provider.base_url):
            batch = batch_start(campaign=run.campaign, count=posts, mode=mode, actor=None)
        wait_until(
            lambda: not BatchJob.objects.get(pk=batch.pk).is_active, timeout=600, what=f"the {mode} batch to end"
        )
        seconds = time.monotonic() - started
        batch.refresh_from_db()
        counts = provider.stats()["counts"]
        row = {
            "mode": mode,
            "posts": posts,
            "succeeded": batch.succeeded_count,
            "cost_usd": float(batch.cost_usd),
            "provider_batches": ProviderBatch.objects.filter(batch=batch).exclude(provider_batch_id="").count(),
            "live_requests": sum(n for key, n in counts.items() if key.split(":")[0] in ("chat", "images")),
            "seconds": round(seconds, 1),
        }
        print(
            f"{mode}: {row['succeeded']}/{posts} posts, ${row['cost_usd']:.4f}, "
            f"{row['provider_batches']} provider batches, {row['live_requests']} live requests, {seconds:.1f} s",
            flush=True,
        )
        return row
    finally:
        workers.stop()
        provider.stop()


if __name__ == "__main__":
    raise SystemExit(main())
