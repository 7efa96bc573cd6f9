"""Live progress bars on a terminal for batches (generate_posts --wait / --sync)."""

import time
from collections.abc import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from campaigns.models import BatchJob
from generation.dispatch import PostOutcome

POLL_SECONDS = 0.5


def batch_summary(batch: BatchJob) -> dict:
    """The JSON a script reads after a batch: seconds run from creation to the end."""
    end = batch.finished_at
    seconds = (end - batch.created_at).total_seconds() if end else None
    finished = batch.succeeded_count + batch.failed_count
    return {
        "batch_id": batch.pk,
        "campaign": batch.campaign.name,
        "status": batch.status,
        "requested": batch.requested_count,
        "succeeded": batch.succeeded_count,
        "failed": batch.failed_count,
        "canceled": batch.canceled_count,
        "seconds": round(seconds, 2) if seconds is not None else None,
        "posts_per_minute": round(finished * 60 / seconds, 1) if seconds else None,
        "cost_usd": float(batch.cost_usd),
    }


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _fields(batch: BatchJob) -> dict:
    rate = batch.posts_per_minute
    eta = batch.eta_seconds
    fields = {
        "failed": batch.failed_count,
        "rate": f"{rate:.0f}/min" if rate else "–/min",
        "eta": f"{eta:.0f}s" if eta is not None else "–",
    }
    if batch.is_economy and batch.is_active:
        # The provider says nothing of its pace: show where its batch is instead.
        fields["rate"] = provider_line(batch.provider_progress) or "submitting"
        fields["eta"] = "≤ 24h"
    return fields


def provider_line(progress: dict) -> str:
    """'captions: in_progress 40/100' from BatchJob.provider_progress."""
    if not progress:
        return ""
    done = progress.get("completed", 0) + progress.get("failed", 0)
    return f"{progress.get('phase')}: {progress.get('status')} {done}/{progress.get('total', 0)}"


def watch_batches(batch_ids: Iterable[int], *, console: Console) -> list[BatchJob]:
    """Show one bar per batch until every batch has ended; return the final rows."""
    ids = list(batch_ids)
    with _progress(console) as progress:
        tasks = {}
        while True:
            batches = {b.pk: b for b in BatchJob.objects.filter(pk__in=ids).select_related("campaign")}
            for batch_id in ids:
                batch = batches[batch_id]
                if batch_id not in tasks:
                    tasks[batch_id] = progress.add_task(
                        f"#{batch_id} {batch.campaign.name[:30]}", total=batch.requested_count, **_fields(batch)
                    )
                progress.update(tasks[batch_id], completed=batch.done_count, **_fields(batch))
            if all(not batch.is_active for batch in batches.values()):
                return [batches[batch_id] for batch_id in ids]
            time.sleep(POLL_SECONDS)


class InlineProgress:
    """A bar fed by the runner's flushes, for --sync runs (no polling needed)."""

    def __init__(self, batch: BatchJob, console: Console) -> None:
        self.batch = batch
        self.progress = _progress(console)
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.task = self.progress.add_task(
            f"#{batch.pk} {batch.campaign.name[:30]}", total=batch.requested_count, failed=0, rate="–/min", eta="–"
        )

    def __enter__(self) -> "InlineProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_flush(self, outcomes: list[PostOutcome]) -> None:
        self.done += len(outcomes)
        self.failed += sum(1 for outcome in outcomes if not outcome.succeeded)
        elapsed = time.monotonic() - self.started
        rate = self.done * 60 / elapsed if elapsed else 0
        eta = (self.batch.requested_count - self.done) * 60 / rate if rate else None
        self.progress.update(
            self.task,
            completed=self.done,
            failed=self.failed,
            rate=f"{rate:.0f}/min",
            eta=f"{eta:.0f}s" if eta is not None else "–",
        )


def summary_table(batches: list[BatchJob]) -> Table:
    table = Table(title="Batches")
    for column in ("batch", "campaign", "status", "succeeded", "failed", "seconds", "posts/min", "cost $"):
        table.add_column(column, justify="right" if column not in ("campaign", "status") else "left")
    for batch in batches:
        row = batch_summary(batch)
        table.add_row(
            str(row["batch_id"]),
            row["campaign"],
            row["status"],
            f"{row['succeeded']}/{row['requested']}",
            str(row["failed"]),
            f"{row['seconds']:.1f}" if row["seconds"] is not None else "–",
            f"{row['posts_per_minute']:.1f}" if row["posts_per_minute"] else "–",
            f"{row['cost_usd']:.4f}",
        )
    return table
