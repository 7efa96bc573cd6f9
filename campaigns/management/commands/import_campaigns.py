import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.importing import (
    ACCEPTED_LANGUAGES,
    COLUMNS,
    REQUIRED_COLUMNS,
    ImportFileError,
    read_rows,
    validate_rows,
)
from campaigns.services import campaigns_import
from workspaces.access import NotMember, require
from workspaces.models import Workspace
from workspaces.roles import Action
from workspaces.services.workspaces import personal_workspace


class Command(BaseCommand):
    help = (
        "Create campaigns in bulk from a CSV or JSON file, all or nothing.\n\n"
        f"Columns: {', '.join(COLUMNS)} (required: {', '.join(REQUIRED_COLUMNS)}); platforms and keywords "
        "are comma-separated. language is a code, an English name or the language's own name, in any case: "
        f"{ACCEPTED_LANGUAGES}. Every row is checked with the web form's rules; if any row is invalid, "
        "nothing is created and each bad row is listed.\n\n"
        "Examples:\n"
        "  manage.py import_campaigns spring.csv --owner alice\n"
        "  manage.py import_campaigns spring.json --owner alice --json\n"
        "  manage.py import_campaigns spring.csv --owner alice --workspace acme-marketing"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv or .json file")
        parser.add_argument("--owner", required=True, help="username of the marketer who creates the campaigns")
        parser.add_argument(
            "--workspace",
            metavar="SLUG",
            help="the workspace to create them in (the owner must be its owner or an editor); "
            "default: the owner's personal workspace",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help='print [{"id": …, "name": …}, …] as the last line'
        )

    def handle(self, *args: Any, file: Path, owner: str, workspace: str | None, as_json: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"no user named {owner!r}")
        if workspace is None:
            target = personal_workspace(user)
        else:
            found = Workspace.objects.filter(slug=workspace).first()
            if found is None:
                raise CommandError(f"no workspace with slug {workspace!r}")
            target = found
        try:
            require(user, target, Action.EDIT_CAMPAIGN)
        except (NotMember, PermissionDenied):
            raise CommandError(f"{owner} can't create campaigns in workspace {target.slug!r}") from None
        try:
            rows = read_rows(file)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        cleaned, errors = validate_rows(rows, workspace=target)
        if errors:
            for error in errors:
                self.stderr.write(f"row {error.row}: {error.message}")
            bad_rows = len({error.row for error in errors})
            raise CommandError(f"{bad_rows} of {len(rows)} rows are invalid; nothing was imported")
        created = campaigns_import(workspace=target, owner=user, actor=user, campaigns=cleaned)
        if as_json:
            self.stdout.write(json.dumps([{"id": c.pk, "name": c.name} for c in created]))
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {len(created)} campaigns for {owner}."))
