"""What every operator command shares: help shown as written, and errors on one line, exit 1."""

import argparse
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter


class ExamplesHelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of a command's help, so its examples stay one per line."""


class OperatorCommand(BaseCommand):
    """A command for operators and scripts.

    Exit status 0 on success and 1 on any error, including a bad option (argparse alone would
    exit 2 and print the whole usage): every error is one line, "CommandError: ...".
    Like dumpdata, it skips the system checks, whose warnings would come before that line
    (settings errors still stop it at start-up). A Redis that does not answer is one of those
    errors too, not a traceback.
    """

    requires_system_checks = []

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise CommandError(redis_unavailable(exc)) from None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = ExamplesHelpFormatter
        raise_or_exit = parser.error

        def error(message: str) -> None:
            if parser.called_from_command_line:
                parser.exit(1, f"CommandError: {message} (see --help)\n")
            raise_or_exit(message)

        # This parser's own error: BaseCommand.create_parser builds a CommandParser and offers no
        # hook for a subclass, so the instance is given the method instead.
        parser.error = error  # type: ignore[method-assign]
        return parser


def redis_unavailable(exc: Exception) -> str:
    """'Redis does not answer at redis://127.0.0.1:6379/0 (ConnectionError): …', the URL without its password."""
    url = urlsplit(settings.REDIS_URL)
    host = f"{url.hostname}:{url.port}" if url.port else url.hostname or ""
    where = url._replace(netloc=host).geturl() if url.password else settings.REDIS_URL
    return (
        f"Redis does not answer at {where} ({type(exc).__name__}): start it, keep `make run` running in another "
        "terminal, or set REDIS_URL"
    )
