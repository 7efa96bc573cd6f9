from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from clock.scheduler import Clock


class Command(BaseCommand):
    help = (
        "Run the clock: enqueue each periodic task (recovery of lost work, economy polls, webhook\n"
        "sweeps) on the `clock` queue every GENERATION_RECOVERY_INTERVAL seconds, until SIGTERM or\n"
        "Ctrl-C. The workers run the tasks (manage.py rqworker clock generation default). Run one\n"
        "clock per deployment; a second one is safe, and only costs a few jobs that end at once.\n"
        "It waits for Redis when Redis is away. See docs/workers.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="", help="the clock's name in Redis (default: host:pid:random)")

    def handle(self, *args: Any, **options: Any) -> None:
        clock = Clock(name=options["name"])
        for job in clock.get_jobs():
            self.stdout.write(f"{job.name}: every {job.interval:g} s on the {job.queue_name} queue")
        self.stdout.flush()
        clock.start()
