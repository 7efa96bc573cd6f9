import json
from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from campaigns.management.arguments import batch_argument
from campaigns.management.progress import batch_summary
from campaigns.models import BatchJob
from campaigns.selectors import batch_failure_reasons
from generation import dispatch
from shared.operator_command import OperatorCommand


def batch_report(batch: BatchJob) -> dict:
    """generate_posts' JSON summary of a batch, and what an operator needs to look into it."""
    return {
        **batch_summary(batch),
        "campaign_id": batch.campaign_id,
        "done": batch.done_count,
        "progress_percent": batch.progress_percent,
        "created_at": batch.created_at.isoformat(),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "elapsed_seconds": round(batch.seconds_elapsed, 2) if batch.seconds_elapsed is not None else None,
        "eta_seconds": round(batch.eta_seconds) if batch.eta_seconds is not None else None,
        "platforms": batch.platforms,
        "provider": batch.provider,
        "text_model": batch.text_model,
        "image_model": batch.image_model,
        "prompt_tokens": batch.prompt_tokens,
        "completion_tokens": batch.completion_tokens,
        "image_count": batch.image_count,
        "cost_cap_usd": float(batch.cost_cap_usd) if batch.cost_cap_usd is not None else None,
        "error_summary": batch.error_summary,
        "failures": [
            {"reason": group.code or "internal", "label": group.label, "count": group.count}
            for group in batch_failure_reasons(batch)
        ],
        "rq_jobs": dispatch.job_statuses(batch.rq_job_ids or []),
    }


class Command(OperatorCommand):
    help = (
        "Show a batch: status, progress, rate and ETA, cost and tokens, failures grouped by\n"
        "reason, and its chunk jobs on RQ (with the worker that ran each).\n\n"
        "With --json stdout is one JSON object: generate_posts --json's fields (batch_id, status,\n"
        "requested, succeeded, failed, seconds, posts_per_minute, cost_usd, ...) plus done,\n"
        "progress_percent, eta_seconds, tokens, failures [{reason, label, count}] (reason: a reason\n"
        "code such as timeout or content_policy) and rq_jobs\n"
        "[{id, status, worker}] (null when Redis does not answer).\n"
        "Exit status: 0 when the batch exists, whatever its status; 1 otherwise.\n\n"
        "Examples:\n"
        "  manage.py batch_status 1\n"
        "  manage.py batch_status 1 --json | jq .status\n"
        "  watch -n 2 manage.py batch_status 1"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("batch", metavar="BATCH", help="batch id (as in 'Batch #42')")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = batch_argument(options["batch"])
        report = batch_report(batch)
        if options["as_json"]:
            self.stdout.write(json.dumps(report))
            return
        for label, value in self._lines(batch, report):
            self.stdout.write(f"{label:<10} {value}")

    def _lines(self, batch: BatchJob, report: dict[str, Any]) -> Iterator[tuple[str, str]]:
        yield "batch", f"#{batch.pk} for {batch.campaign.name!r} (campaign {batch.campaign_id})"
        when = timezone.localtime(batch.created_at).strftime("%Y-%m-%d %H:%M:%S")
        yield "status", f"{batch.get_status_display().lower()} (created {when})"
        yield (
            "progress",
            (
                f"{batch.done_count}/{batch.requested_count} ({batch.progress_percent}%): {batch.succeeded_count} "
                f"succeeded, {batch.failed_count} failed, {batch.canceled_count} canceled"
            ),
        )
        rate = batch.posts_per_minute
        if rate:
            eta = f", ETA {report['eta_seconds']} s" if report["eta_seconds"] is not None else ""
            yield "rate", f"{rate:.1f} posts/min over {report['elapsed_seconds']:.0f} s{eta}"
        cap = f" (cap ${batch.cost_cap_usd})" if batch.cost_cap_usd is not None else ""
        yield (
            "cost",
            (
                f"${batch.cost_usd:.4f}{cap}: {batch.prompt_tokens:,} prompt + {batch.completion_tokens:,} "
                f"completion tokens, {batch.image_count} images"
            ),
        )
        yield "provider", f"{batch.provider} ({batch.text_model}, {batch.image_model})"
        for failure in report["failures"]:
            yield "failed", f"{failure['count']} × {failure['reason']} ({failure['label']})"
        if batch.error_summary and not report["failures"]:
            yield "note", batch.error_summary
        jobs = report["rq_jobs"]
        if jobs is None:
            yield "rq jobs", "unknown: Redis does not answer"
        for job in jobs or []:
            worker = f" on {job['worker']}" if job["worker"] else ""
            yield "rq job", f"{job['id']}: {job['status']}{worker}"
