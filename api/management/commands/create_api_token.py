from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from api import tokens
from api.models import TokenAccess
from shared.operator_command import OperatorCommand
from workspaces.access import NotMember
from workspaces.models import Workspace
from workspaces.services.workspaces import personal_workspace


class Command(OperatorCommand):
    help = (
        "Make an API token for a user in one of their workspaces and print it on the last line (it\n"
        "is shown only this once; only its hash is stored). The token acts in that workspace only,\n"
        "with the user's role there, and never more. --workspace takes the workspace's slug or id;\n"
        "without it, the user's personal workspace.\n\n"
        "Examples:\n"
        "  python manage.py create_api_token alice --workspace acme-agency --access write\n"
        '  TOKEN=$(python manage.py create_api_token alice --access read --name "n8n" | tail -n1)'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", help="slug or id; default: the user's personal workspace")
        # --scope: its name before 2026-12 (scripts that still pass it keep working).
        parser.add_argument("--access", "--scope", dest="access", choices=TokenAccess.values, default=TokenAccess.READ)
        parser.add_argument("--name", default="Made with create_api_token", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {options['username']!r}")
        reference = options["workspace"]
        if reference:
            lookup = {"pk": int(reference)} if reference.isdigit() else {"slug": reference}
            workspace = Workspace.objects.filter(**lookup).first()
            if workspace is None:
                raise CommandError(f"no workspace with slug or id {reference!r}")
        else:
            workspace = personal_workspace(user)
        try:
            made = tokens.token_create(user=user, workspace=workspace, name=options["name"], access=options["access"])
        except NotMember:
            raise CommandError(f"{user} is not a member of the workspace {workspace.slug!r}") from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stderr.write(
            f"Token {made.token.prefix}… ({made.token.get_access_display().lower()}) for {user} in {workspace.slug}:"
        )
        self.stdout.write(made.secret)
