from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from api import tokens
from api.models import TokenScope
from campaigns.management.base import OperatorCommand


class Command(OperatorCommand):
    help = (
        "Make an API token for a user and print it on the last line (it is shown only this once;\n"
        "only its hash is stored). The token acts with the user's role, and never more.\n\n"
        "Examples:\n"
        "  python manage.py create_api_token alice --scope write\n"
        '  TOKEN=$(python manage.py create_api_token alice --scope read --name "n8n" | tail -n1)'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        parser.add_argument("--name", default="Made with create_api_token", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {options['username']!r}")
        try:
            made = tokens.token_create(user=user, name=options["name"], scope=options["scope"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stderr.write(f"Token {made.token.prefix}… ({made.token.get_scope_display().lower()}) for {user}:")
        self.stdout.write(made.secret)
