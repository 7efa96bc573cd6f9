"""Benchmark the generation engine against its provider's limits, and the pages under load.

    python -m bench.generation                      # every scenario of issue 6, then the web benchmark
    python -m bench.generation --scenario ratelimit # one scenario (repeatable); --list names them
    python -m bench.generation --smoke              # a few seconds: one small scenario of each kind (CI)

Each scenario runs the production path: the fake OpenAI-compatible server (tests/fake_openai/)
in its own process with the scenario's latency and rate limit, K real `manage.py rqworker
clock generation default` processes and their clock, and a batch started with
campaigns.services.batch_start. Seconds
run from the batch's creation to its end (BatchJob.created_at -> finished_at). The benchmark
creates and drops its own database (cp_benchmark) and uses its own Redis database (13 unless
--redis-url says otherwise; never 0), which it empties between scenarios.

Results go to bench/results/ (results.json, results.md and scenario1.png), or to --output;
those of a smoke run or of a part (--scenario, --web-only, --no-web) go to its scratch folder
unless --output says otherwise.
"""

import argparse
import contextlib
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cp_benchmark"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.generation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the few-second version (CI): small scenarios")
    parser.add_argument("--scenario", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--no-web", action="store_true", help="skip the web benchmark")
    parser.add_argument("--web-only", action="store_true", help="run only the web benchmark")
    parser.add_argument("--web-seconds", type=float, default=None, help="load s per page, in 3 rounds (default 15)")
    parser.add_argument("--web-posts", type=int, default=None, help="posts in the web campaign (default 10000)")
    parser.add_argument(
        "--load-tool",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="web load generator: wrk when installed (auto), or the built-in Python client",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL database to create, use and drop (its name must contain 'bench')",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis database of the benchmark's own (emptied between scenarios; never 0)",
    )
    parser.add_argument(
        "--gunicorn-args", default="", help='extra gunicorn options for the web part, e.g. "--workers 2 --threads 2"'
    )
    parser.add_argument("--output", type=Path, default=None, help="where results go (default bench/results)")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place afterwards")
    parser.add_argument(
        "--publish", action="store_true", help="also write this run's results into BENCHMARKS.md (full runs only)"
    )
    return parser.parse_args(argv)


def check_targets(url: str, redis_url: str) -> tuple[str, str]:
    """The database name and the Redis database number, refusing ones that are not the benchmark's own."""
    database = urlsplit(url).path.lstrip("/")
    if "bench" not in database:
        raise SystemExit(
            f"refusing to drop and recreate {database!r}: the benchmark's database name must contain 'bench'"
        )
    redis_db = urlsplit(redis_url).path.lstrip("/") or "0"
    if redis_db == "0":
        raise SystemExit("refusing Redis database 0: give the benchmark a database of its own (--redis-url .../13)")
    return database, redis_db


def recreate_database(url: str, database: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')


def drop_database(url: str, database: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def base_environment(*, database_url: str, redis_url: str, scratch: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off) pointed at the benchmark's own database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "MEDIA_ROOT": str(scratch / "media"),
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "info",
        "OPENAI_API_KEY": "sk-bench-fake-key-0123456789abcdefghij",
        "PYTHONUNBUFFERED": "1",
    }


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--database-url and --redis-url, as every benchmark takes them."""
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))


@contextlib.contextmanager
def scratch_run(args: argparse.Namespace, *, name: str) -> Iterator[Any]:
    """A BenchmarkRun on a fresh benchmark database and a scratch folder, both gone afterwards:
    the setup of the one-question benchmarks (bench.economy, bench.takeover)."""
    database, _ = check_targets(args.database_url, args.redis_url)
    scratch = Path(tempfile.mkdtemp(prefix=f"cp-bench-{name}-"))
    env = base_environment(database_url=args.database_url, redis_url=args.redis_url, scratch=scratch)
    os.environ.update({**env, "PGAPPNAME": "cp-bench-driver", "LOG_LEVEL": "warning"})
    recreate_database(args.database_url, database)
    try:
        from bench.suite import BenchmarkRun

        yield BenchmarkRun(env=env, database_url=args.database_url, database=database, scratch=scratch)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url, database)
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from bench.scenarios import full_suite, smoke_suite

    suite = smoke_suite() if args.smoke else full_suite()
    if args.list:
        for scenario in suite:
            print(f"{scenario.name:22} {scenario.description}")
        print(f"{'web':22} the campaign page and the batch progress partial under gunicorn (--no-web skips it)")
        return 0
    if args.scenario:
        known = {s.name for s in suite}
        unknown = [name for name in args.scenario if name not in known and name != "web"]
        if unknown:
            raise SystemExit(f"unknown scenario {', '.join(unknown)}; --list shows them")
        run_web = "web" in args.scenario and not args.no_web
        suite = [s for s in suite if s.name in args.scenario]
    else:
        run_web = not args.no_web
    if args.web_only:
        suite, run_web = [], True
    # Only a full run's figures replace the published ones: a smoke run's mean nothing, and a
    # part of the suite would leave the rest of bench/results describing another build.
    complete = not (args.smoke or args.scenario or args.web_only or args.no_web)
    if args.publish and (not complete or args.output):
        raise SystemExit(
            "--publish writes BENCHMARKS.md from a full run into bench/results: not with --output or a part"
        )
    database, _ = check_targets(args.database_url, args.redis_url)
    scratch = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    output = args.output or (BASE_DIR / "bench" / "results" if complete else scratch / "results")
    env = base_environment(database_url=args.database_url, redis_url=args.redis_url, scratch=scratch)
    os.environ.update({**env, "PGAPPNAME": "cp-bench-driver", "LOG_LEVEL": "warning"})
    recreate_database(args.database_url, database)
    succeeded = False
    try:
        from bench.suite import BenchmarkRun

        run = BenchmarkRun(
            env=env,
            database_url=args.database_url,
            database=database,
            scratch=scratch,
        )
        started = time.monotonic()
        load_before = os.getloadavg()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = run.generation(suite)
        web_rows, web_skipped = [], None
        if run_web:
            web_rows, web_skipped = run.web(
                seconds=args.web_seconds or (1.0 if args.smoke else 15.0),
                posts=args.web_posts or (300 if args.smoke else 10_000),
                tool=args.load_tool,
                gunicorn_args=args.gunicorn_args,
                rounds=1 if args.smoke else 3,
            )
        record = {
            "command": "python -m bench.generation " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "started_at": started_at,
            "total_seconds": time.monotonic() - started,
            "machine": run.machine(),
            "load": {"before": load_before, "after": os.getloadavg()},
            "rows": rows,
            "web": web_rows,
            "web_skipped": web_skipped,
        }
        report(record, output)
        if args.publish:
            from bench.report import publish

            publish(record, BASE_DIR / "BENCHMARKS.md")
            print(f"updated {BASE_DIR / 'BENCHMARKS.md'}")
        failed = sum(row["failed"] for row in rows) + sum(row["errors"] for row in web_rows)
        succeeded = not failed
        return 0 if succeeded else 1
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url, database)
        if not succeeded:
            print(f"logs of the workers, the fake server and gunicorn: {scratch / 'logs'}", file=sys.stderr)
        elif output.is_relative_to(scratch):
            shutil.rmtree(scratch / "logs", ignore_errors=True)
            shutil.rmtree(scratch / "media", ignore_errors=True)
            shutil.rmtree(scratch / "static", ignore_errors=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def report(record: dict, output: Path) -> None:
    from bench.report import WEB_COLUMNS, fmt_load, plot_reference, text_table, write_results
    from bench.scenarios import IDEAL_FORMULA

    print()
    print(f"Ideal time: {IDEAL_FORMULA}")
    print(f"Load averages before {fmt_load(record['load']['before'])}, after {fmt_load(record['load']['after'])}")
    if record["rows"]:
        print()
        print(text_table(record["rows"]))
    if record["web"]:
        print()
        print(text_table(record["web"], WEB_COLUMNS))
    if record["web_skipped"]:
        print(f"\nweb benchmark skipped: {record['web_skipped']}")
    json_path, md_path = write_results(output, record)
    plot = plot_reference(record["rows"], output / "scenario1.png")
    print(f"\nwrote {json_path}, {md_path}" + (f" and {plot}" if plot else ""))


if __name__ == "__main__":
    sys.exit(main())
