import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import CommandParser
from django.db.models import Q
from django.utils import timezone

from generation.domain_port import Post
from shared.operator_command import OperatorCommand

IMAGE_FOLDER = "posts"


def stored_images(folder: str = IMAGE_FOLDER) -> Iterator[str]:
    """Every file name under the posts folder of the storage (posts/<campaign>/<file>)."""
    if not default_storage.exists(folder):
        return
    campaigns, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for campaign in campaigns:
        for name in default_storage.listdir(f"{folder}/{campaign}")[1]:
            yield f"{folder}/{campaign}/{name}"


def orphan_images(*, older_than: timedelta) -> list[str]:
    """Stored images no post refers to and that were written before `older_than` ago.

    A worker killed between storing an image and writing its post leaves one behind (the post
    is generated again, under a new name). Recent files are spared: they may belong to a post
    whose result is about to be written.
    """
    cutoff = timezone.now() - older_than
    orphans = []
    names = list(stored_images())
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        used = set(Post.objects.filter(Q(image__in=chunk) | Q(thumbnail__in=chunk)).values_list("image", "thumbnail"))
        referenced = {name for pair in used for name in pair}
        for name in chunk:
            if name not in referenced and default_storage.get_modified_time(name) < cutoff:
                orphans.append(name)
    return orphans


class Command(OperatorCommand):
    help = (
        "Delete stored post images that no post refers to (left behind by a worker killed at the\n"
        "wrong moment). Files younger than --min-age-minutes are kept.\n\n"
        "Examples:\n"
        "  manage.py sweep_images --dry-run\n"
        "  manage.py sweep_images --min-age-minutes 120 --json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
        parser.add_argument("--min-age-minutes", type=int, default=60, help="keep files younger than this (60)")
        parser.add_argument("--json", action="store_true", dest="as_json", help='print {"deleted": [...]} last')

    def handle(self, *args: Any, dry_run: bool, min_age_minutes: int, as_json: bool, **options: Any) -> None:
        orphans = orphan_images(older_than=timedelta(minutes=max(min_age_minutes, 0)))
        if not dry_run:
            for name in orphans:
                default_storage.delete(name)
        if as_json:
            self.stdout.write(json.dumps({"deleted" if not dry_run else "would_delete": orphans}))
            return
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {len(orphans)} orphan image file(s).")
        for name in orphans:
            self.stdout.write(f"  {name}")
