import argparse
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from campaigns.models import BatchJob, BatchStatus, Campaign
from campaigns.services import batch_start
from generation import dispatch
from generation.platforms import Platform
from generation.progress import InlineProgress, batch_summary, summary_table, watch_batches


def find_campaign(reference: str) -> Campaign:
    """A campaign by id, or by exact name when that name is unique across owners."""
    if reference.isdigit():
        campaign = Campaign.objects.filter(pk=int(reference)).first()
        if campaign:
            return campaign
    matches = list(Campaign.objects.filter(name=reference)[:2])
    if not matches:
        raise CommandError(f"no campaign with id or name {reference!r}")
    if len(matches) > 1:
        raise CommandError(f"several campaigns are named {reference!r}; use the id instead")
    return matches[0]


def dollars(value: str) -> Decimal:
    """--cost-cap's type: a number, or argparse's one-line error instead of a traceback."""
    try:
        return Decimal(value)
    except ArithmeticError:  # decimal.InvalidOperation is not a ValueError, so argparse would not catch it
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in dollars, such as 25 or 7.50") from None


class Command(BaseCommand):
    help = (
        "Start a batch of posts for one or more campaigns.\n\n"
        "Without --sync the batch goes to the RQ workers (python manage.py rqworker generation default); "
        "--wait shows a live progress bar until it ends. --sync generates in this process with no Redis "
        "or worker. With --json the last line of stdout is one JSON object per batch (a list when there "
        "are several). Exit status: 0 when every batch succeeded (or was queued, without --wait), else 1.\n\n"
        "Examples:\n"
        "  manage.py generate_posts 12 --count 100 --wait\n"
        '  manage.py generate_posts "Summer Cold Brew Launch" --count 20 --platform instagram --sync --json\n'
        "  manage.py generate_posts --all-active --count 10 --wait"
    )

    def add_arguments(self, parser) -> None:
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
        parser.add_argument("--cost-cap", type=dollars, help="stop a batch once it has cost this many USD")
        parser.add_argument("--wait", action="store_true", help="show progress and wait until the batches end")
        parser.add_argument("--sync", action="store_true", help="generate in this process, without Redis")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print a JSON summary last")

    def handle(self, *args, **options) -> None:
        campaigns = self._campaigns(options["campaigns"], options["all_active"])
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
                    platforms=platforms,
                    cost_cap_usd=cap,
                    enqueue=not options["sync"],
                )
            except ValidationError as exc:
                raise CommandError(f"{campaign.name}: {' '.join(exc.messages)}") from None
            batches.append(batch)
            console.print(f"Batch #{batch.pk}: {batch.requested_count} posts for {campaign.name!r}")

        if options["sync"]:
            for batch in batches:
                with InlineProgress(batch, console) as bar:
                    dispatch.generate_batch_now(batch.pk, on_flush=bar.on_flush)
        elif options["wait"]:
            watch_batches([b.pk for b in batches], console=console)

        final = list(BatchJob.objects.filter(pk__in=[b.pk for b in batches]).select_related("campaign"))
        final.sort(key=lambda b: b.pk)
        if len(final) > 1:
            console.print(summary_table(final))
        summaries = [batch_summary(batch) for batch in final]
        if options["as_json"]:
            self.stdout.write(json.dumps(summaries[0] if len(summaries) == 1 else summaries))
        waited = options["sync"] or options["wait"]
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
        return [find_campaign(reference) for reference in references]
