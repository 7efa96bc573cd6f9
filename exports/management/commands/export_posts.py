import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import QuerySet
from django.utils.translation import ngettext

from campaigns.management.arguments import campaign_argument
from campaigns.models import GenerationStatus, Post, ReviewStatus
from campaigns.selectors import campaign_posts
from exports.writers import write_csv, write_zip
from shared.operator_command import OperatorCommand

# --status takes either kind of status; the values do not overlap, so each says which field it filters.
GENERATION_VALUES = {**{value: value for value in GenerationStatus.values}, "ready": GenerationStatus.SUCCEEDED}
REVIEW_VALUES = {value: value for value in ReviewStatus.values}


def posts_word(count: int) -> str:
    return ngettext("post", "posts", count)


def status_filters(values: list[str]) -> dict[str, list[str]]:
    """{"status": [...], "review_status": [...]} from --status values (alternatives within a kind)."""
    filters: dict[str, list[str]] = {}
    for value in values:
        field, status = (
            ("review_status", REVIEW_VALUES[value]) if value in REVIEW_VALUES else ("status", GENERATION_VALUES[value])
        )
        if status not in filters.setdefault(field, []):
            filters[field].append(str(status))
    return filters


class Command(OperatorCommand):
    help = (
        "Export a campaign's posts: a CSV a scheduling tool can import, or a ZIP with that CSV\n"
        "(posts.csv) and the images (images/<platform>-<post id>.jpg). The same files as the\n"
        "campaign page's export; cells that a spreadsheet would run as formulas are neutralised.\n\n"
        "--status filters on either of a post's two statuses, and the value says which:\n"
        "  review status:      draft, approved, rejected\n"
        "  generation status:  pending, generating, ready (same as succeeded), failed, canceled\n"
        "Repeat it to combine: values of one kind are alternatives, and both kinds must hold\n"
        "(--status ready --status draft: finished posts nobody has reviewed). Default: every post\n"
        "but the canceled ones (a canceled batch's posts that were never written).\n\n"
        "The file is written beside PATH under a temporary name and renamed when complete, so\n"
        "PATH is never left half written (an existing PATH is replaced). --out - writes the CSV to\n"
        "stdout. A summary goes to stderr, or with --json to stdout as one JSON object:\n"
        "campaign_id, campaign, format, path, posts, bytes, filters.\n"
        "Exit status: 0 when the file was written (even with no matching posts), else 1.\n\n"
        "Examples:\n"
        "  manage.py export_posts 1 --format csv --out approved.csv --status approved\n"
        '  manage.py export_posts "Summer Cold Brew Launch" --format zip --out summer.zip\n'
        "  manage.py export_posts 1 --out failed.csv --status failed --json\n"
        "  manage.py export_posts 1 --out - --status ready | head"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", metavar="CAMPAIGN", help="campaign id or exact name")
        parser.add_argument(
            "--format", choices=["csv", "zip"], help="csv or zip; default: from the suffix of --out, else csv"
        )
        parser.add_argument("--out", required=True, metavar="PATH", help="file to write, or - for stdout (CSV only)")
        parser.add_argument(
            "--status",
            action="append",
            default=[],
            choices=sorted({*GENERATION_VALUES, *REVIEW_VALUES}),
            metavar="STATUS",
            help="only posts with this review or generation status (repeatable; see above)",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print a JSON summary on stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        out: str = options["out"]
        to_stdout = out == "-"
        file_format = options["format"] or ("zip" if out.lower().endswith(".zip") else "csv")
        if to_stdout and file_format == "zip":
            raise CommandError("a ZIP needs a file: give --out PATH")
        if to_stdout and options["as_json"]:
            raise CommandError("--out - writes the CSV to stdout, so it cannot carry --json too")
        campaign = campaign_argument(options["campaign"])
        filters = status_filters(options["status"])
        posts = campaign_posts(campaign, include_canceled="status" in filters)
        for field, values in filters.items():
            posts = posts.filter(**{f"{field}__in": values})

        if to_stdout:
            count = write_csv(posts, self.stdout)
            self.stderr.write(f"Exported {count} {posts_word(count)} of {campaign.name!r} as CSV.")
            return
        path = Path(out).expanduser().resolve()
        if not path.parent.is_dir():
            raise CommandError(f"cannot write {out}: the folder {path.parent} does not exist")
        if path.is_dir():
            raise CommandError(f"cannot write {out}: it is a folder; give a file name")
        count = self._write(posts, path, file_format)
        summary = {
            "campaign_id": campaign.pk,
            "campaign": campaign.name,
            "format": file_format,
            "path": str(path),
            "posts": count,
            "bytes": path.stat().st_size,
            "filters": filters,
        }
        if options["as_json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stderr.write(
                f"Exported {count} {posts_word(count)} of {campaign.name!r} to {path} ({summary['bytes']:,} bytes)."
            )

    def _write(self, posts: QuerySet[Post], path: Path, file_format: str) -> int:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            if file_format == "zip":
                with os.fdopen(handle, "wb") as stream:
                    count = write_zip(posts, stream)
            else:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                    count = write_csv(posts, stream)
            os.replace(temporary, path)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        # mkstemp makes the file private (0600); an export is an ordinary file to hand on.
        path.chmod(0o644)
        return count
