import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import ngettext
from rich.console import Console

from campaigns.management.arguments import campaign_argument
from campaigns.management.progress import InlineProgress, batch_summary, summary_table, watch_batches
from campaigns.models import BatchJob, BatchMode, BatchStatus, Campaign
from campaigns.services import batch_start
from generation import dispatch
from shared.operator_command import OperatorCommand
from shared.platforms import Platform


@contextmanager
def engine_logs_at_least(level: int) -> Iterator[None]:
    engine = logging.getLogger("generation")
    previous = engine.level
    engine.setLevel(max(level, engine.getEffectiveLevel()))
    try:
        yield
    finally:
        engine.setLevel(previous)


def dollars(value: str) -> Decimal:
    """--cost-cap's type: a number, or argparse's one-line error instead of a traceback."""
    try:
        return Decimal(value)
    except ArithmeticError:  # decimal.InvalidOperation is not a ValueError, so argparse would not catch it
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in dollars, such as 25 or 7.50") from None


class Command(OperatorCommand):
    help = (
        "Start a batch of posts for one or more campaigns (one batch each).\n\n"
        "Without --sync the batches go to the RQ workers (manage.py rqworker generation default);\n"
        "--wait shows one live progress bar per batch until they end, then a summary table.\n"
        "--sync generates in this process, one batch after the other, with no Redis or worker.\n"
        "--economy sends the batches through the provider's Batch API: about half the cost, done\n"
        "within 24 hours, by the same workers (GENERATION_PROVIDER=openai; not with --sync).\n"
        "Progress and the table go to stderr. With --json the last line of stdout is one JSON\n"
        "object (a list of them for several batches): batch_id, status, requested, succeeded,\n"
        "failed, seconds, posts_per_minute, cost_usd.\n"
        "Exit status: 0 when every batch succeeded (or was queued, without --wait), else 1.\n\n"
        "Examples:\n"
        '  manage.py generate_posts "Accounting Software Webinar" --count 100 --wait\n'
        '  manage.py generate_posts "Summer Cold Brew Launch" --count 20 --platform instagram --sync --json\n'
        "  manage.py generate_posts 1 2 3 --count 50 --wait\n"
        "  manage.py generate_posts 1 --count 500 --economy --json\n"
        "  manage.py generate_posts --all-active --count 10 --wait"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaigns", nargs="*", metavar="CAMPAIGN", help="campaign id or exact name")
        parser.add_argument("--all-active", action="store_true", help="every campaign running today")
        parser.add_argument("--count", type=int, required=True, help="posts per batch, 1 to 1000")
        parser.add_argument(
            "--platform",
            action="append",
            dest="platforms",
            choices=Platform.values,
            help="limit to this platform (repeat for several); default: the campaign's platforms",
        )
        parser.add_argument(
            "--cost-cap",
            type=dollars,
            help="stop a batch once it has cost this many USD (default: GENERATION_DEFAULT_COST_CAP_USD)",
        )
        parser.add_argument("--wait", action="store_true", help="show progress and wait until the batches end")
        parser.add_argument("--sync", action="store_true", help="generate in this process, without Redis")
        parser.add_argument(
            "--economy", action="store_true", help="through the provider's Batch API: half the cost, within 24 hours"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print a JSON summary last")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["economy"] and options["sync"]:
            raise CommandError("--economy runs on the workers (the provider's Batch API); drop --sync")
        campaigns = self._campaigns(options["campaigns"], options["all_active"])
        mode = BatchMode.ECONOMY if options["economy"] else BatchMode.STANDARD
        if not options["sync"]:
            dispatch.ping_queue()  # before any batch is written: no Redis, no half-started run
        console = Console(stderr=True)
        batches = []
        cap = options["cost_cap"]
        for campaign in campaigns:
            platforms = options["platforms"]
            if platforms:
                platforms = [p for p in platforms if p in campaign.platforms] or platforms
            try:
                batch = batch_start(
                    campaign=campaign,
                    count=options["count"],
                    actor=None,  # an operator's command: it acts for no one member
                    platforms=platforms,
                    cost_cap_usd=cap,
                    mode=mode,
                    enqueue=not options["sync"],
                )
            except ValidationError as exc:
                raise CommandError(f"{campaign.name}: {' '.join(exc.messages)}") from None
            batches.append(batch)
            posts = ngettext("post", "posts", batch.requested_count)
            console.print(
                f"Batch #{batch.pk}: {batch.requested_count} {posts} for {campaign.name!r}"
                + (" (economy: within 24 hours)" if batch.is_economy else "")
            )

        if options["sync"]:
            # The engine logs every request at INFO; below -v 2 that would scroll the bars away.
            with engine_logs_at_least(logging.INFO if options["verbosity"] >= 2 else logging.WARNING):
                for batch in batches:
                    with InlineProgress(batch, console) as bar:
                        dispatch.generate_batch_now(batch.pk, on_flush=bar.on_flush)
        elif options["wait"]:
            watch_batches([b.pk for b in batches], console=console)

        final = list(BatchJob.objects.filter(pk__in=[b.pk for b in batches]).select_related("campaign"))
        final.sort(key=lambda b: b.pk)
        waited = options["sync"] or options["wait"]
        if waited or len(final) > 1:
            console.print(summary_table(final))
        summaries = [batch_summary(batch) for batch in final]
        if options["as_json"]:
            self.stdout.write(json.dumps(summaries[0] if len(summaries) == 1 else summaries))
        if waited and any(batch.status != BatchStatus.SUCCEEDED for batch in final):
            raise CommandError("not every batch succeeded: " + ", ".join(f"#{b.pk} {b.status}" for b in final))

    def _campaigns(self, references: list[str], all_active: bool) -> list[Campaign]:
        if all_active and references:
            raise CommandError("give campaigns or --all-active, not both")
        if all_active:
            campaigns = list(Campaign.objects.active().order_by("pk"))
            if not campaigns:
                raise CommandError("no active campaigns")
            return campaigns
        if not references:
            raise CommandError("name at least one campaign (id or exact name), or use --all-active")
        return [campaign_argument(reference) for reference in references]
