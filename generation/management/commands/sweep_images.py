import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import CommandParser
from django.db.models import Q
from django.utils import timezone

from generation.domain_port import GenerationStatus, Post
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


# A post's image is stored as posts/<campaign>/<post id>-<random>.jpg (and -thumb.jpg): generation.images.
POST_ID = re.compile(r"^posts/\d+/(\d+)-[^/]*$")


def _post_id(name: str) -> int | None:
    match = POST_ID.match(name)
    return int(match.group(1)) if match else None


def orphan_images(*, older_than: timedelta) -> list[str]:
    """Stored images no post refers to and no lease can still claim.

    A worker killed between storing an image and writing its post leaves one behind (the post
    is generated again, under a new name). An image file belongs to one post: its name starts
    with the post's id (generation.images), and only a worker holding that post writes it in. While the post is being
    generated, a worker holding it (even one whose lease ran out and that nobody has taken the
    post from yet) may be about to write the file into it, so the file is spared. Once the post is
    no longer being generated (done, failed, pending again) or is gone, no lease can own the file
    (invariant 2 (docs/architecture.md): a result is written only under its lease): unless it is
    the post's image or thumbnail, it is an orphan, whatever its age.

    A file whose name names no post, or one whose post is still being generated, is an orphan
    once it is older than `older_than` and no post refers to it.
    """
    cutoff = timezone.now() - older_than
    orphans = []
    names = list(stored_images())
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        # The owners' states first, then what refers to the files: a post no longer being generated
        # here had its result written before, so the second query sees it referring to its file.
        owners = {pk for pk in map(_post_id, chunk) if pk is not None}
        generating = set(
            Post.objects.filter(pk__in=owners, status=GenerationStatus.GENERATING).values_list("pk", flat=True)
        )
        used = set(Post.objects.filter(Q(image__in=chunk) | Q(thumbnail__in=chunk)).values_list("image", "thumbnail"))
        referenced = {name for pair in used for name in pair}
        for name in chunk:
            if name in referenced:
                continue
            owner = _post_id(name)
            if (owner is not None and owner not in generating) or default_storage.get_modified_time(name) < cutoff:
                orphans.append(name)
    return orphans


class Command(OperatorCommand):
    help = (
        "Delete stored post images that no post refers to (left behind by a worker killed at the\n"
        "wrong moment) once no lease can own them: a post's file goes once the post is no longer\n"
        "being generated; one whose post is, or whose name names no post, once it is\n"
        "--min-age-minutes old.\n\n"
        "Examples:\n"
        "  manage.py sweep_images --dry-run\n"
        "  manage.py sweep_images --min-age-minutes 120 --json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
        parser.add_argument(
            "--min-age-minutes",
            type=int,
            default=60,
            help="spare files of posts being generated, or naming none, this long (60)",
        )
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
