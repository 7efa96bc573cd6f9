import json
from typing import Any

import redis
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from generation import recovery
from generation.config import engine_config
from generation.domain_port import BatchJob
from shared.operator_command import OperatorCommand, redis_unavailable


class Command(OperatorCommand):
    help = (
        "Find batches whose work was lost and put it back on the queue: posts still pending, or\n"
        "held under a lease that expired (their worker died), while no job waits on the\n"
        "generation queue to take them (after a Redis restart without persistence, or a\n"
        "crash of every worker). Their state in PostgreSQL is the truth; nothing is lost or\n"
        "generated twice, and an extra job that finds nothing ends at once.\n\n"
        "You rarely need it: the clock (manage.py clock) has a worker run the same recovery every\n"
        "GENERATION_RECOVERY_INTERVAL seconds (3 by default). Use it to look (--dry-run), or to\n"
        "queue work before any worker runs.\n\n"
        "With --json stdout is one JSON object: dry_run, queued_jobs, enqueued, note, and\n"
        "batches [{batch_id, pending, expired_leases, posts, job_ids}] (batch_id null: single-post\n"
        "regenerations). Exit status: 0 when recovery ran (whether or not anything was lost), 1 when\n"
        "Redis or the database does not answer.\n\n"
        "Examples:\n"
        "  manage.py recover_batches --dry-run\n"
        "  manage.py recover_batches\n"
        "  manage.py recover_batches --force --json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report what would be enqueued; change nothing")
        parser.add_argument(
            "--force", action="store_true", help="enqueue even when jobs are already waiting on the queue"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = recovery.recover(
                config=engine_config(), reason="command", force=options["force"], dry_run=options["dry_run"]
            )
        except redis.RedisError as exc:
            raise CommandError(redis_unavailable(exc)) from None
        except DatabaseError as exc:
            raise CommandError(f"the database does not answer ({type(exc).__name__}); check DATABASE_URL") from None
        if options["as_json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        names = dict(
            BatchJob.objects.filter(pk__in=[w.batch_id for w in report.lost if w.batch_id]).values_list(
                "pk", "campaign__name"
            )
        )
        for work in report.lost:
            label = f"batch #{work.batch_id} ({names.get(work.batch_id, '?')})" if work.batch_id else "single posts"
            jobs = f": enqueued {len(work.job_ids)} chunk jobs" if work.job_ids else ""
            self.stdout.write(f"{label}: {work.pending} pending, {work.expired_leases} expired leases{jobs}")
        self.stdout.write(report.note)
