"""How long a dead worker's posts wait: SIGKILL one of two workers mid-batch, time until another holds its posts.

    python -m bench.takeover              # 5 rounds at the default leases (15 s, renewed every 5 s)
    python -m bench.takeover --rounds 2

Production settings otherwise (GENERATION_LEASE_SECONDS, GENERATION_LEASE_RENEWAL_SECONDS and
GENERATION_RECOVERY_INTERVAL at their defaults), real rqworker processes and their clock, the fake OpenAI server
in its own process (0.5 s per caption, 4 s per image, so that posts are in flight when the
worker dies). "Takeover" runs from the SIGKILL to the moment no post is leased to the dead
work horse any more: every one of them claimed by the live worker. The kill comes at a random
moment of the renewal cycle, so the rounds spread over the lease's last third. Uses the
benchmark's own database and Redis database, like bench.generation.
"""

import argparse
import os
import random
import signal
import statistics
import time

import psutil

from bench.generation import add_target_arguments, scratch_run

POSTS = 16
CONCURRENCY = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.takeover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    add_target_arguments(parser)
    args = parser.parse_args(argv)
    with scratch_run(args, name="takeover") as run:
        times = [one_round(run, index) for index in range(1, args.rounds + 1)]
        print(
            f"SIGKILL to takeover over {len(times)} rounds: median {statistics.median(times):.1f} s, "
            f"min {min(times):.1f} s, max {max(times):.1f} s"
        )
    return 0


def one_round(run, index: int) -> float:
    from django.conf import settings
    from django.test.utils import override_settings

    from bench.harness import WORKER_APP, FakeProvider, Workers, wait_until
    from campaigns.models import GenerationStatus, Post
    from campaigns.services import batch_start

    run.redis.flushdb()
    provider = FakeProvider(
        text_latency=0.5, image_latency=4.0, rpm=0, log_path=run.log_dir / f"takeover-{index}-fake.log"
    ).start()
    env = {
        **run.env,
        "PGAPPNAME": WORKER_APP,
        "GENERATION_PROVIDER": "openai",
        "OPENAI_BASE_URL": provider.base_url,
        "GENERATION_CONCURRENCY": str(CONCURRENCY),
    }
    workers = Workers(env, run.log_dir)
    try:
        pids = workers.start(2, prefix=f"takeover{index}")
        with override_settings(GENERATION_PROVIDER="openai", OPENAI_BASE_URL=provider.base_url):
            batch = batch_start(campaign=run.campaign, count=POSTS, actor=None)
        doomed_name, doomed_pid = next(iter(pids.items()))

        def doomed_horse() -> int | None:
            children = psutil.Process(doomed_pid).children()
            if not children:
                return None
            held = Post.objects.filter(
                batch=batch, status=GenerationStatus.GENERATING, lease_owner__contains=f":{children[0].pid}:"
            )
            return children[0].pid if held.exists() else None

        horse = wait_until(doomed_horse, timeout=60, what="the first worker to hold leases")
        time.sleep(random.uniform(0, settings.GENERATION_LEASE_RENEWAL_SECONDS))  # anywhere in the renewal cycle
        held = list(
            Post.objects.filter(
                batch=batch, status=GenerationStatus.GENERATING, lease_owner__contains=f":{horse}:"
            ).values_list("id", flat=True)
        )
        for pid in (horse, doomed_pid):
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        workers.processes.pop(doomed_name).wait(timeout=30)
        wait_until(
            lambda: not Post.objects.filter(id__in=held, lease_owner__contains=f":{horse}:").exists(),
            timeout=120,
            what="the dead worker's posts to be taken over",
        )
        takeover = time.monotonic() - killed_at
        print(f"round {index}: {len(held)} posts taken over {takeover:.1f} s after SIGKILL", flush=True)
        return takeover
    finally:
        workers.stop()
        provider.stop()


if __name__ == "__main__":
    raise SystemExit(main())
